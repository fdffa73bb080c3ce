"""Server-rendered pages: sign-in, inbox, case page with action forms, dashboard, review queue."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bargaining.actors import Actor
from bargaining.errors import DomainError, Forbidden, NotFound, TransitionRefused, ValidationError
from bargaining.models import OrgUnit, Sector, User, UserRole
from workflows.registry import definition

from .. import cases as uc
from .. import runtime
from ..identity import ROLE_LABELS
from ..queries import case_detail
from ..repository import visible_org_units
from ..uow import unit_of_work
from ..workbench import PAGE_SIZES, InboxFilter, dashboard, inbox, reassign, review_queue
from . import security
from .context import LANG_COOKIE, SESSION_COOKIE, RequestContext
from .diagram_svg import svg
from .page_route import SubmittedForm, page
from .render import render

router = APIRouter(include_in_schema=False)
PRE_CSRF = "bargaining_pre_csrf"
STAFF = ("instructor", "federation_admin")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.app.state.settings.cookie_secure


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---- sign-in ----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = request.cookies.get(PRE_CSRF) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": _safe_next(next), "csrf": token, "error": None})
    response.set_cookie(
        PRE_CSRF, token, httponly=True, samesite="strict", secure=_secure(request), max_age=3600
    )
    return response


# Read before anyone is known: a sign-in form is a few hundred bytes.
@router.post("/login", response_class=HTMLResponse, max_body_size=64 * 1024)
async def login(request: Request) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    # argon2id is slow on purpose, and sign-in writes: off the event loop, like every page (@page).
    return await run_in_threadpool(_login, request, values)


def _login(request: Request, values: dict[str, str]) -> Response:
    next_url = _safe_next(values.get("next"))
    expected = request.cookies.get(PRE_CSRF)
    if not security.csrf_matches(expected, values.get("csrf_token")):
        return render(
            request,
            "login.html",
            {"next": next_url, "csrf": expected or "", "error": "表单已失效，请刷新页面后重新登录。"},
            status_code=403,
        )
    db = request.app.state.db
    settings = request.app.state.settings
    now = runtime.utcnow()
    failure: DomainError | None = None
    new = None
    with unit_of_work(db) as uow:
        try:
            user = security.authenticate(
                uow.session, values.get("username", ""), values.get("password", ""), _client_ip(request), now
            )
            new = security.open_session(
                uow.session, settings, user, now, _client_ip(request), request.headers.get("user-agent")
            )
        except DomainError as exc:
            failure = exc  # the attempt is still recorded (commit below) so throttling counts it
    if failure is not None or new is None:
        message = failure.message if failure else "登录失败。"
        return render(
            request,
            "login.html",
            {"next": next_url, "csrf": expected, "error": message, "username": values.get("username", "")},
            status_code=failure.http_status if failure else 401,
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=settings.session_hours * 3600,
        path="/",
    )
    response.delete_cookie(PRE_CSRF)
    return response


@router.post("/logout")
@page
def logout(request: Request, ctx: RequestContext) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    with unit_of_work(ctx.db) as uow:
        security.close_session(uow.session, ctx.settings, token, runtime.utcnow())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, code, samesite="lax", secure=_secure(request), max_age=365 * 86400)
    return response


@router.get("/")
@page
def home(ctx: RequestContext) -> Response:
    if ctx.has(*STAFF):
        return RedirectResponse("/inbox", status_code=303)
    if ctx.has("reviewer"):
        return RedirectResponse("/review", status_code=303)
    return RedirectResponse("/dashboard", status_code=303)


# ---- inbox ------------------------------------------------------------------------------------------


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value))) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


@router.get("/inbox", response_class=HTMLResponse)
@page
def inbox_page(request: Request, ctx: RequestContext) -> Response:
    p = request.query_params
    mine_default = "1" if ctx.has("instructor") and not ctx.has("federation_admin") else "0"
    mine = p.get("mine", mine_default) == "1"
    size = _int(p.get("size"), 50, 1, 100)
    size = size if size in PAGE_SIZES else 50
    page = _int(p.get("page"), 1, 1, 100_000)
    sort = p.get("sort", "next_due")
    f = InboxFilter(
        stage=p.get("stage") or None,
        kind=p.get("kind") or None,
        sector=p.get("sector") or None,
        region=p.get("region") or None,
        instructor="me" if mine else None,
        overdue=p.get("overdue") == "1",
        q=p.get("q") or None,
        sort=sort,
        limit=size,
        offset=(page - 1) * size,
    )
    error = None
    try:
        data = inbox(ctx.db, ctx.actor, f, now=ctx.now)
    except ValidationError as exc:
        error, data = exc.message, {"total": 0, "items": [], "limit": size, "offset": 0}
    return render(
        request,
        "inbox.html",
        {
            "data": data,
            "f": f,
            "mine": mine,
            "page": page,
            "size": size,
            "error": error,
            "pages": max(1, -(-data["total"] // size)),
            "options": _filter_options(ctx),
            "query": {k: v for k, v in p.items() if k != "page"},
        },
    )


def sector_choices(s: Session) -> list[tuple[str, str]]:
    """(code, name) of every sector, for a form's select."""
    return [(x.code, x.name) for x in s.scalars(select(Sector).order_by(Sector.code))]


def region_choices(s: Session, actor: Actor, *, levels: int | None = None) -> list[tuple[str, str]]:
    """(code, name) of the org units the actor may see, in tree order; with ``levels``, only
    those at most that many levels below the actor's own unit (a city has thousands of units)."""
    units = visible_org_units(actor).with_only_columns(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.path)
    if levels is not None:
        # The depth of a materialised path "/1/2/65/" is its number of slashes.
        slashes = func.length(OrgUnit.path) - func.length(func.replace(OrgUnit.path, "/", ""))
        units = units.where(slashes <= (actor.org_path or "/").count("/") + levels)
    return [(code, name) for code, name in s.execute(units)]


def user_choices(s: Session, actor: Actor, role: str) -> list[tuple[str, str]]:
    """(username, name) of the active users with ``role`` in the actor's subtree."""
    return [
        (u, n)
        for u, n in s.execute(
            select(User.username, User.display_name)
            .join(UserRole, UserRole.user_id == User.id)
            .join(OrgUnit, OrgUnit.id == User.org_unit_id)
            .where(
                UserRole.role == role,
                User.active.is_(True),
                OrgUnit.path.startswith(actor.org_path or "/"),
            )
            .order_by(User.username)
        )
    ]


# The sectors, regions and instructors of a scope, kept for CHOICES_SECONDS: reading them was a
# third of a city admin's inbox page (564 regions, 1,500 instructors) on every request. A new
# street or instructor appears in the forms within that time; reassignment re-checks the chosen
# instructor (active, responsible for the region) whatever the form offered.
CHOICES_SECONDS = 30.0
_CHOICES_KEPT = 512  # scopes per process, the oldest dropped first
_choices: dict[tuple[str, str, bool], tuple[float, tuple[Any, ...]]] = {}


def _scope_choices(ctx: RequestContext) -> tuple[Any, ...]:
    admin = ctx.has("federation_admin")
    key = (ctx.db.url, ctx.actor.org_path or "/", admin)
    now = time.monotonic()
    kept = _choices.get(key)
    if kept is not None and now - kept[0] < CHOICES_SECONDS:
        return kept[1]
    with unit_of_work(ctx.db, write=False) as uow:
        s = uow.session
        choices = (
            sector_choices(s),
            # Two levels down: a city's districts and streets, a street's villages (a street's
            # filter includes its villages' cases). Thousands of options would make every page slow.
            region_choices(s, ctx.actor, levels=2),
            user_choices(s, ctx.actor, "instructor") if admin else [],
        )
    _choices.pop(key, None)
    _choices[key] = (now, choices)
    while len(_choices) > _CHOICES_KEPT:
        del _choices[next(iter(_choices))]
    return choices


def _filter_options(ctx: RequestContext) -> dict[str, Any]:
    d = definition("enterprise", 1)
    sectors, regions, instructors = _scope_choices(ctx)
    return {
        "stages": [(s.name, s.label) for s in d.states],
        "kinds": [
            ("enterprise", "企业工资专项集体合同"),
            ("sector", "行业性工资集体协议"),
            ("adoption", "履约协议"),
        ],
        "sectors": sectors,
        "regions": regions,
        "instructors": instructors,
        "sorts": [
            ("next_due", "期限最近"),
            ("-next_due", "期限最远"),
            ("number", "编号"),
            ("updated", "最近更新"),
        ],
    }


@router.post("/inbox/reassign")
@page
def inbox_reassign(request: Request, ctx: RequestContext, form: SubmittedForm) -> Response:
    values = form.values
    refs = form.getlist("case")
    try:
        count = reassign(
            ctx.db, ctx.actor, refs, values.get("instructor", ""), now=ctx.now, request_id=ctx.request_id
        )
    except DomainError as exc:
        return render(
            request,
            "error.html",
            {"message": exc.message, "status": exc.http_status, "back": "/inbox"},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/inbox?mine=0&done=reassign&count={count}", status_code=303)


# ---- case page --------------------------------------------------------------------------------------


def _case_page(
    request: Request,
    ctx: RequestContext,
    ref: str,
    *,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    detail = case_detail(ctx.db, ctx.actor, ref, now=ctx.now)
    name_version = detail["definition"].split("@")
    d = definition(name_version[0], int(name_version[1]))
    passed = {e["from"] for e in detail["timeline"] if e["from"] and e["from"] != detail["state"]}
    return render(
        request,
        "case.html",
        {
            "c": detail,
            "diagram": svg(d, detail["state"], passed),
            "errors": errors or {},
            "can_edit": ctx.has(*STAFF),
            "done": request.query_params.get("done"),
            "kinds": d.documents,
        },
        status_code=status,
    )


@router.get("/cases/new", response_class=HTMLResponse)
@page
def new_case_form(request: Request, ctx: RequestContext) -> Response:
    if not ctx.has(*STAFF):
        raise Forbidden("您的角色无权新建协商。")
    form = {k: v for k, v in request.query_params.items() if k in ("kind", "parent", "enterprise", "sector")}
    return render(request, "case_new.html", {"options": _filter_options(ctx), "error": None, "form": form})


@router.post("/cases/new", response_class=HTMLResponse)
@page
def new_case(request: Request, ctx: RequestContext, form: SubmittedForm) -> Response:
    values = form.values
    try:
        created = uc.create_case(
            ctx.db,
            ctx.actor,
            kind=values.get("kind", "enterprise"),
            enterprise=values.get("enterprise") or None,
            sector=values.get("sector") or None,
            parent=values.get("parent") or None,
            title=values.get("title") or None,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return render(
            request,
            "case_new.html",
            {"options": _filter_options(ctx), "error": exc.message, "form": values},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/cases/{created['id']}?done=create", status_code=303)


@router.get("/cases/{ref}", response_class=HTMLResponse)
@page
def case_page(request: Request, ref: str, ctx: RequestContext) -> Response:
    return _case_page(request, ctx, ref[:40])


def _version(values: dict[str, str]) -> int | None:
    raw = values.pop("expected_version", "")
    return int(raw) if raw.isascii() and raw.isdigit() else None  # "¹".isdigit() is True too


@router.post("/cases/{ref}/actions/{trigger}", response_class=HTMLResponse)
@page
def case_action(
    request: Request, ref: str, trigger: str, ctx: RequestContext, form: SubmittedForm
) -> Response:
    values = form.values
    expected = _version(values)
    reason = values.pop("reason", None) or None
    try:
        uc.fire_action(
            ctx.db,
            ctx.actor,
            ref[:40],
            trigger[:40],
            values=values,
            reason=reason,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request, ctx, ref[:40], errors=_form_errors(exc, trigger, values, reason), status=exc.http_status
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done={quote(trigger[:40])}", status_code=303)


def _form_errors(exc: DomainError, form: str, values: dict[str, str], reason: str | None) -> dict[str, Any]:
    """What the form needs to show the error next to the field and keep what was typed."""
    reasons = exc.details.get("reasons") if isinstance(exc, TransitionRefused) else None
    return {
        "form": form,
        "message": exc.message,
        "field": exc.details.get("field"),
        "reasons": reasons or [],
        "values": {**values, "reason": reason or ""},
        "conflict": exc.http_status == 409 and "版本" in exc.message,
    }


@router.post("/cases/{ref}/representatives", response_class=HTMLResponse)
@page
def case_representative(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    values = form.values
    expected = _version(values)
    try:
        uc.add_representative(
            ctx.db,
            ctx.actor,
            ref[:40],
            side=values.get("side", ""),
            name=values.get("name", ""),
            person_key=values.get("person_key") or None,
            position=values.get("position") or None,
            chief=values.get("chief") == "1",
            outsider=values.get("outsider") == "1",
            front_line=values.get("front_line") == "1",
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request,
            ctx,
            ref[:40],
            errors=_form_errors(exc, "representatives", values, None),
            status=exc.http_status,
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=representative", status_code=303)


@router.post("/cases/{ref}/terms", response_class=HTMLResponse)
@page
def case_terms(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    values = form.values
    expected = _version(values)
    terms: dict[str, Any] = {
        k: v
        for k, v in values.items()
        if k
        in (
            "title",
            "term_start",
            "term_end",
            "avg_wage_before",
            "avg_wage_after",
            "minimum_wage_clause",
            "payment_day",
        )
    }
    clause_titles = [v for k, v in sorted(values.items()) if k.startswith("clause_title_")]
    clause_texts = [v for k, v in sorted(values.items()) if k.startswith("clause_text_")]
    clauses = [
        {"title": t, "text": x}
        for t, x in zip(clause_titles, clause_texts, strict=False)
        if t.strip() or x.strip()
    ]
    if clauses or any(k.startswith("clause_") for k in values):
        terms["clauses"] = clauses
    try:
        uc.set_agreement_terms(
            ctx.db,
            ctx.actor,
            ref[:40],
            terms,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request, ctx, ref[:40], errors=_form_errors(exc, "terms", values, None), status=exc.http_status
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=terms", status_code=303)


@router.post("/cases/{ref}/adoptions", response_class=HTMLResponse)
@page
def case_adoptions(request: Request, ref: str, ctx: RequestContext) -> Response:
    try:
        uc.open_adoptions(ctx.db, ctx.actor, ref[:40], now=ctx.now, request_id=ctx.request_id)
    except DomainError as exc:
        return _case_page(
            request, ctx, ref[:40], errors=_form_errors(exc, "adoptions", {}, None), status=exc.http_status
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=adoptions", status_code=303)


@router.post("/cases/{ref}/coverage", response_class=HTMLResponse)
@page
def case_coverage(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    values = form.values
    codes = [c for c in values.get("codes", "").replace("，", ",").replace("\n", ",").split(",") if c.strip()]
    try:
        uc.add_coverage(ctx.db, ctx.actor, ref[:40], codes, now=ctx.now, request_id=ctx.request_id)
    except DomainError as exc:
        return _case_page(
            request, ctx, ref[:40], errors=_form_errors(exc, "coverage", values, None), status=exc.http_status
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=coverage", status_code=303)


# ---- dashboard and review queue ---------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
@page
def dashboard_page(request: Request, ctx: RequestContext) -> Response:
    return render(request, "dashboard.html", {"d": dashboard(ctx.db, ctx.actor, now=ctx.now)})


@router.get("/review", response_class=HTMLResponse)
@page
def review_page(request: Request, ctx: RequestContext) -> Response:
    if not ctx.has("reviewer", "federation_admin"):
        raise Forbidden("审查队列仅限劳动行政部门审查员和工会管理员。")
    page = _int(request.query_params.get("page"), 1, 1, 100_000)
    data = review_queue(ctx.db, ctx.actor, now=ctx.now, limit=50, offset=(page - 1) * 50)
    return render(
        request,
        "review.html",
        {"data": data, "page": page, "pages": max(1, -(-data["total"] // 50)), "role_labels": ROLE_LABELS},
    )


# ---- piece-rate tables ------------------------------------------------------------------------------


def _rates_page(
    request: Request,
    ctx: RequestContext,
    ref: str,
    *,
    error: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    from ..rate_tables import rate_view

    view = rate_view(ctx.db, ctx.actor, ref)
    editable = ctx.has(*STAFF) and view["state"] in (
        "preparation",
        "offer_sent",
        "negotiating",
        "suspended",
        "awaiting_congress",
        "awaiting_signature",
    )
    return render(
        request,
        "rates.html",
        {
            "v": view,
            "error": error,
            "problems": problems or [],
            "editable": editable,
            "done": request.query_params.get("done"),
        },
        status_code=status,
    )


@router.get("/cases/{ref}/rates", response_class=HTMLResponse)
@page
def rates_page(request: Request, ref: str, ctx: RequestContext) -> Response:
    return _rates_page(request, ctx, ref[:40])


@router.get("/cases/{ref}/rates/{index}.xlsx")
@page
def rates_export(ref: str, index: int, ctx: RequestContext) -> Response:
    from ..rate_tables import export_xlsx, rate_view

    tables = rate_view(ctx.db, ctx.actor, ref[:40])["tables"]
    if not 0 <= index < len(tables):
        raise NotFound("没有这张计件单价表。")
    return Response(
        export_xlsx(tables[index]["table"]),
        media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": f"attachment; filename=rates-{index + 1}.xlsx"},
    )


@router.post("/cases/{ref}/rates/import", response_class=HTMLResponse)
@page
def rates_import(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    from ..rate_tables import MAX_BYTES, import_xlsx, save_table

    upload = form.file("file")
    if upload is None:
        return _rates_page(request, ctx, ref[:40], error="请选择要导入的 .xlsx 文件。", status=422)
    data = upload.file.read(MAX_BYTES + 1)
    try:
        table = import_xlsx(data)
        save_table(
            ctx.db,
            ctx.actor,
            ref[:40],
            table,
            expected_version=_version(form.values),
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _rates_page(
            request,
            ctx,
            ref[:40],
            error=exc.message,
            problems=exc.details.get("problems"),
            status=exc.http_status,
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}/rates?done=import", status_code=303)


@router.post("/cases/{ref}/rates/{index}", response_class=HTMLResponse)
@page
def rates_save(request: Request, ref: str, index: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    from ..rate_tables import rate_view, save_table, table_from_grid

    values = form.values
    expected = _version(values)
    position = int(index) if index.isascii() and index.isdigit() else None
    try:
        tables = rate_view(ctx.db, ctx.actor, ref[:40])["tables"]
        base = tables[position]["table"] if position is not None and position < len(tables) else None
        table = table_from_grid(values, base)
        save_table(
            ctx.db,
            ctx.actor,
            ref[:40],
            table,
            index=position,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _rates_page(request, ctx, ref[:40], error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/cases/{quote(ref[:40])}/rates?done=save", status_code=303)
