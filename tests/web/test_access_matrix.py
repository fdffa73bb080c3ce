"""The access matrix: every route × role × inside/outside the case's region.

Inside users belong to the street federation of the cases (or the city above it); outside users to the
neighbouring street. For each route the expected status per role and side is written down here; the
test walks ``app`` routes, so a route added without a row here fails. On top of the status:

- no response to an outside user contains the street's case numbers, enterprise or federation names
  (and no response to a street user contains the neighbouring street's);
- inside users do see the case where a list or page should show it (so the leak check is not vacuous);
- the audit pages (专项抽查) are for auditors and federation admins only: instructors and reviewers are
  refused by role (403) wherever the campaign is; an auditor or admin outside the campaign's
  federation subtree does not find it, its audit cases, documents or evidence (404); inside they may
  read and change them (the street's campaign, led by aud, approved by the city's admin). Outside
  users see none of the street's campaign or audit case numbers, sampled enterprises or amounts, and
  street users none of the neighbouring street's campaign;
- every refusal (403/404) of a signed-in user writes one ``access_denied`` event (case_id NULL) naming
  the user, method and path; a request that is not refused writes none.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bargaining.rules.periods import legal_date
from services import runtime

from .harness import (
    AUDIT_INSIDE,
    RATE_TABLE,
    ROLE_USERS,
    AuditPages,
    WebWorld,
    add_audit_world,
    app_routes,
    csrf_of,
)

STAFF = ("instructor", "federation_admin")
AUDIT = ("auditor", "federation_admin")  # services/audits/repository.py AUDIT_ROLES
ROLES = ("instructor", "federation_admin", "reviewer", "auditor")
SIGN_IN = "SIGN_IN"  # anonymous page request: 303 to /login?next=…
UNAUTHORIZED = 401  # anonymous API request


@dataclass
class Who:
    username: str | None  # None: anonymous
    role: str | None
    inside: bool
    csrf: str = ""
    bearer: dict[str, str] | None = None
    client: Any = None


Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments
Expect = Callable[[str, bool], int]


@dataclass(frozen=True)
class Row:
    kind: str  # "public" | "page" | "api"
    request: Callable[[WebWorld, Who], Request]
    expect: Expect  # (role, inside) -> status for signed-in users
    shows_case: bool = False  # an inside user with 200 sees the street's enterprise case in the body
    last: bool = False  # run after every other row (logout)
    shows: Callable[[WebWorld], list[str]] | None = None  # what an inside user with 200 sees (audit)


def everyone(status: int) -> Expect:
    return lambda role, inside: status


def inside(status: int) -> Expect:
    """Any role inside the region; outside the case does not exist (404)."""
    return lambda role, inside_: status if inside_ else 404


def staff_change(ok: int) -> Expect:
    """A change only staff may make: others are refused by role whatever the region (403), staff
    outside the region do not find the case (404)."""
    return lambda role, inside_: (ok if inside_ else 404) if role in STAFF else 403


def inside_change(ok: int) -> Expect:
    """A change only staff may make, on a page that shows the case again with the refusal: outside
    the case does not exist for anyone (404), inside others are refused by role (403)."""
    return lambda role, inside_: (ok if role in STAFF else 403) if inside_ else 404


def roles(allowed: tuple[str, ...], ok: int) -> Expect:
    return lambda role, inside_: ok if role in allowed else 403


def audit_scoped(ok: int) -> Expect:
    """An audit page on the street's campaign (or one of its cases, documents, evidence): only
    auditors and admins may use the audit pages (others 403 wherever the campaign is); outside the
    campaign's federation subtree it does not exist (404)."""
    return lambda role, inside_: (ok if inside_ else 404) if role in AUDIT else 403


def _case_page_post(
    path: str, data: Callable[[WebWorld], dict[str, str]]
) -> Callable[[WebWorld, Who], Request]:
    return lambda w, who: ("POST", path.format(w=w), {"data": {**data(w), "csrf_token": who.csrf}})


def _api(method: str, path: str, body: Callable[[WebWorld], dict[str, Any]] | None = None):
    def build(w: WebWorld, who: Who) -> Request:
        kwargs: dict[str, Any] = {"headers": who.bearer or {}}
        if body is not None:
            kwargs["json"] = body(w)
        return (method, path.format(w=w), kwargs)

    return build


def _get(path: str) -> Callable[[WebWorld, Who], Request]:
    return lambda w, who: ("GET", path.format(w=w), {})


def _login_attempt(w: WebWorld, who: Who) -> Request:
    # a wrong password for a user of its own, so the matrix never trips the throttle
    token = csrf_of(who.client.get("/login").text)
    data = {"username": f"nobody-{who.username}", "password": "wrong-password", "csrf_token": token}
    return ("POST", "/login", {"data": data})


def _rates_upload(w: WebWorld, who: Who) -> Request:
    from services.rate_tables import export_xlsx

    table = {**RATE_TABLE, "name": "导入的单价表", "currency": "CNY", "notes": None}
    xlsx = export_xlsx(table)
    return (
        "POST",
        f"/cases/{w.case_id}/rates/import",
        {
            "data": {"csrf_token": who.csrf},
            "files": {"file": ("rates.xlsx", xlsx, "application/octet-stream")},
        },
    )


def _pdf_bytes() -> bytes:
    from .harness import sample_pdf

    return sample_pdf()


def _scan_upload(w: WebWorld, who: Who) -> Request:
    return (
        "POST",
        f"/cases/{w.case_id}/scans",
        {
            "data": {"csrf_token": who.csrf, "kind": "offer_letter"},
            "files": {"file": ("scan.pdf", _pdf_bytes(), "application/pdf")},
        },
    )


def _verify_upload(w: WebWorld, who: Who) -> Request:
    return (
        "POST",
        "/verify",
        {"data": {"csrf_token": who.csrf}, "files": {"file": ("x.pdf", _pdf_bytes(), "application/pdf")}},
    )


def _api_verify(w: WebWorld, who: Who) -> Request:
    return (
        "POST",
        "/api/verify",
        {"headers": who.bearer or {}, "files": {"file": ("x.pdf", _pdf_bytes(), "application/pdf")}},
    )


RATE_GRID = {
    "name": "茶叶采摘计件单价表",
    "unit": "斤",
    "row_code__0": "BUD",
    "row_name__0": "单芽",
    "quota__0": "3.5",
    "period_code__0": "P01",
    "period_name__0": "明前一期",
    "period_start__0": "2026-03-10",
    "period_end__0": "2026-03-16",
    "cell__0__0": "43",
}


def _a(w: WebWorld) -> AuditPages:
    assert w.audit is not None, "the audit rows need add_audit_world"
    return w.audit


def _audit_get(path: Callable[[AuditPages], str]) -> Callable[[WebWorld, Who], Request]:
    return lambda w, who: ("GET", path(_a(w)), {})


def _audit_post(
    path: Callable[[AuditPages, str], str], data: Callable[[AuditPages, str], dict[str, str]]
) -> Callable[[WebWorld, Who], Request]:
    """A form post on the audit pages; ``path`` and ``data`` get the user, so each inside user can
    act on a target of its own where an action can be taken once only (everyone else gets aud's)."""

    def build(w: WebWorld, who: Who) -> Request:
        me = who.username if who.username in AUDIT_INSIDE else AUDIT_INSIDE[0]
        return ("POST", path(_a(w), me), {"data": {**data(_a(w), me), "csrf_token": who.csrf}})

    return build


def _new_campaign_form(a: AuditPages, me: str) -> dict[str, Any]:
    start = legal_date(runtime.utcnow()) + timedelta(days=30)  # the pages run on the real clock
    return {
        "title": f"页面新建的专项抽查（{me}）",
        "legal_basis": "《浙江省工会劳动法律监督条例》第九条",
        "org": "street",  # outside: not in their jurisdiction
        "kinds": "enterprise",
        "min_months": "6",
        "dimensions": "region",
        "method": "proportional",
        "sample_size": "1",
        "inspectors": ["aud", "aud2"],
        "start_on": start.isoformat(),
        "reminder_days": "3",
        "fieldwork_start": start.isoformat(),
        "fieldwork_end": (start + timedelta(days=30)).isoformat(),
        "report_due": (start + timedelta(days=45)).isoformat(),
    }


def _evidence_upload(w: WebWorld, who: Who) -> Request:
    return (
        "POST",
        f"/audits/cases/{_a(w).rectifying_id}/evidence",
        {
            "data": {"csrf_token": who.csrf, "note": "工资条"},
            "files": {"file": ("工资条.pdf", PDF, "application/pdf")},
        },
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
E = "{w.case_id}"
MATRIX: dict[tuple[str, str], Row] = {
    # ---- public ----
    ("GET", "/healthz"): Row("public", _get("/healthz"), everyone(200)),
    ("GET", "/openapi.json"): Row("public", _get("/openapi.json"), everyone(200)),
    ("MOUNT", "/static"): Row("public", _get("/static/app.css"), everyone(200)),
    ("GET", "/login"): Row("public", _get("/login"), everyone(200)),
    ("POST", "/login"): Row("public", _login_attempt, everyone(401)),
    ("GET", "/lang/{code}"): Row("public", _get("/lang/zh?next=/dashboard"), everyone(303)),
    # ---- pages ----
    ("GET", "/"): Row("page", _get("/"), everyone(303)),
    ("GET", "/inbox"): Row("page", _get("/inbox?mine=0"), everyone(200), shows_case=True),
    ("GET", "/dashboard"): Row("page", _get("/dashboard"), everyone(200)),
    ("GET", "/review"): Row("page", _get("/review"), roles(("reviewer", "federation_admin"), 200)),
    ("GET", "/cases/new"): Row("page", _get("/cases/new"), roles(STAFF, 200)),
    ("POST", "/cases/new"): Row(
        "page",
        # the street's enterprise: inside it already has an open case (422), outside it is not found (404)
        _case_page_post(
            "/cases/new", lambda w: {"kind": "enterprise", "enterprise": w.world.enterprise_code}
        ),
        lambda role, inside_: (422 if inside_ else 404) if role in STAFF else 403,
    ),
    ("GET", "/cases/{ref}"): Row("page", _get(f"/cases/{E}"), inside(200), shows_case=True),
    ("POST", "/cases/{ref}/actions/{trigger}"): Row(
        "page",
        _case_page_post(
            f"/cases/{E}/actions/record_round", lambda w: {"chair_side": "worker", "minutes": "纪要"}
        ),
        # reviewers and auditors inside see the case, but their role may not take the action (403)
        lambda role, inside_: (303 if role in STAFF else 403) if inside_ else 404,
    ),
    ("POST", "/cases/{ref}/representatives"): Row(
        "page",
        _case_page_post(f"/cases/{E}/representatives", lambda w: {"side": "worker", "name": "孙八"}),
        inside_change(303),
    ),
    ("POST", "/cases/{ref}/terms"): Row(
        "page", _case_page_post(f"/cases/{E}/terms", lambda w: {"payment_day": "25"}), inside_change(303)
    ),
    ("POST", "/cases/{ref}/coverage"): Row(
        "page",
        _case_page_post("/cases/{w.sector_case_id}/coverage", lambda w: {"codes": w.world.tea_codes[0]}),
        inside_change(303),
    ),
    ("POST", "/cases/{ref}/adoptions"): Row(
        "page",
        # the sector case is not in force yet: staff inside get the business refusal (422)
        _case_page_post("/cases/{w.sector_case_id}/adoptions", lambda w: {}),
        inside_change(422),
    ),
    ("POST", "/inbox/reassign"): Row(
        "page",
        _case_page_post("/inbox/reassign", lambda w: {"case": str(w.case_id), "instructor": "zhang"}),
        lambda role, inside_: (303 if inside_ else 404) if role == "federation_admin" else 403,
    ),
    ("GET", "/cases/{ref}/rates"): Row("page", _get(f"/cases/{E}/rates"), inside(200), shows_case=True),
    ("GET", "/cases/{ref}/rates/{index}.xlsx"): Row("page", _get(f"/cases/{E}/rates/0.xlsx"), inside(200)),
    ("POST", "/cases/{ref}/rates/import"): Row("page", _rates_upload, inside_change(303)),
    ("POST", "/cases/{ref}/rates/{index}"): Row(
        "page", _case_page_post(f"/cases/{E}/rates/0", lambda w: RATE_GRID), inside_change(303)
    ),
    # ---- documents ----
    ("GET", "/cases/{ref}/documents/{document_id}.pdf"): Row(
        "page", lambda w, who: ("GET", f"/cases/{w.case_id}/documents/{w.document_id()}.pdf", {}), inside(200)
    ),
    ("GET", "/cases/{ref}/agreement.pdf"): Row("page", _get(f"/cases/{E}/agreement.pdf"), inside(200)),
    # the case is negotiating: staff inside reach the business refusal (409, not awaiting signature)
    ("POST", "/cases/{ref}/sign-pdf"): Row(
        "page", _case_page_post(f"/cases/{E}/sign-pdf", lambda w: {}), inside_change(409)
    ),
    ("POST", "/cases/{ref}/scans"): Row("page", _scan_upload, inside_change(303)),
    ("GET", "/verify"): Row("page", _get("/verify"), everyone(200)),
    ("POST", "/verify"): Row("page", _verify_upload, everyone(200)),
    ("POST", "/api/verify"): Row("api", _api_verify, everyone(200)),
    # ---- annual report (region = the caller's own federation unless chosen) ----
    ("GET", "/reports/annual"): Row("page", _get("/reports/annual?year=2026"), everyone(200)),
    ("GET", "/reports/annual/cases"): Row(
        "page", _get("/reports/annual/cases?year=2026&figure=signed_enterprise"), everyone(200)
    ),
    ("GET", "/reports/annual.xlsx"): Row("page", _get("/reports/annual.xlsx?year=2026"), everyone(200)),
    ("GET", "/reports/annual.pdf"): Row("page", _get("/reports/annual.pdf?year=2026"), everyone(200)),
    ("POST", "/logout"): Row("page", _case_page_post("/logout", lambda w: {}), everyone(303), last=True),
    # ---- API (token) ----
    ("GET", "/api/me"): Row("api", _api("GET", "/api/me"), everyone(200)),
    ("GET", "/api/cases"): Row("api", _api("GET", "/api/cases"), everyone(200), shows_case=True),
    ("POST", "/api/cases"): Row(
        "api",
        _api("POST", "/api/cases", lambda w: {"kind": "enterprise", "enterprise": w.world.enterprise_code}),
        lambda role, inside_: (422 if inside_ else 404) if role in STAFF else 403,
    ),
    ("GET", "/api/cases/{ref}"): Row("api", _api("GET", f"/api/cases/{E}"), inside(200), shows_case=True),
    ("POST", "/api/cases/{ref}/actions/{trigger}"): Row(
        "api",
        _api(
            "POST",
            f"/api/cases/{E}/actions/record_round",
            lambda w: {
                "expected_version": w.version(),
                "values": {"chair_side": "worker", "minutes": "纪要"},
            },
        ),
        lambda role, inside_: (200 if role in STAFF else 403) if inside_ else 404,
    ),
    ("POST", "/api/cases/{ref}/representatives"): Row(
        "api",
        _api(
            "POST",
            f"/api/cases/{E}/representatives",
            lambda w: {"expected_version": w.version(), "side": "employer", "name": "周九"},
        ),
        staff_change(200),
    ),
    ("PUT", "/api/cases/{ref}/agreement"): Row(
        "api",
        _api(
            "PUT",
            f"/api/cases/{E}/agreement",
            lambda w: {"expected_version": w.version(), "terms": {"payment_day": 12}},
        ),
        staff_change(200),
    ),
    ("GET", "/api/cases/{ref}/deadlines"): Row("api", _api("GET", f"/api/cases/{E}/deadlines"), inside(200)),
    ("GET", "/api/cases/{ref}/timeline"): Row("api", _api("GET", f"/api/cases/{E}/timeline"), inside(200)),
    ("GET", "/api/cases/{ref}/diagram"): Row("api", _api("GET", f"/api/cases/{E}/diagram"), inside(200)),
    ("GET", "/api/deadlines"): Row("api", _api("GET", "/api/deadlines"), everyone(200)),
    # ---- audit pages (专项抽查) ----
    ("GET", "/audits"): Row(
        "page", _get("/audits"), roles(AUDIT, 200), shows=lambda w: [_a(w).campaign_number]
    ),
    ("GET", "/audits/new"): Row("page", _get("/audits/new"), roles(AUDIT, 200)),
    ("POST", "/audits/new"): Row(
        "page",
        _audit_post(lambda a, me: "/audits/new", _new_campaign_form),
        # outside: the street federation is not in their jurisdiction (refused, its name not shown)
        lambda role, inside_: (303 if inside_ else 403) if role in AUDIT else 403,
    ),
    ("GET", "/audits/campaigns/{ref}"): Row(
        "page",
        _audit_get(lambda a: f"/audits/campaigns/{a.campaign_id}"),
        audit_scoped(200),
        shows=lambda w: [_a(w).campaign_number, *_a(w).enterprises],
    ),
    ("POST", "/audits/campaigns/{ref}/{step}"): Row(
        "page",
        # (re-)freezing the draft campaign's frame may be done again and again before approval
        _audit_post(lambda a, me: f"/audits/campaigns/{a.draft_id}/freeze", lambda a, me: {}),
        audit_scoped(303),
    ),
    ("GET", "/audits/campaigns/{ref}/report.{fmt}"): Row(
        "page", _audit_get(lambda a: f"/audits/campaigns/{a.campaign_id}/report.xlsx"), audit_scoped(200)
    ),
    ("GET", "/audits/campaigns/{ref}/record.json"): Row(
        "page",
        _audit_get(lambda a: f"/audits/campaigns/{a.campaign_id}/record.json"),
        audit_scoped(200),
        shows=lambda w: [_a(w).campaign_number],
    ),
    ("GET", "/audits/cases/{ref}"): Row(
        "page",
        _audit_get(lambda a: f"/audits/cases/{a.inspected_id}"),
        audit_scoped(200),
        shows=lambda w: [_a(w).inspected_number, "2000.00"],  # and the amount owed on its finding
    ),
    ("POST", "/audits/cases/{ref}/actions/{trigger}"): Row(
        "page",
        _audit_post(
            lambda a, me: f"/audits/cases/{a.planned[me]}/actions/notify", lambda a, me: {"method": "written"}
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/answers"): Row(
        "page",
        _audit_post(
            lambda a, me: f"/audits/cases/{a.planned['aud']}/answers",
            lambda a, me: {"answer_pay_day": "compliant"},
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/findings"): Row(
        "page",
        _audit_post(
            lambda a, me: f"/audits/cases/{a.inspected_id}/findings",
            lambda a, me: {
                "item_code": "no_arrears",
                "description": f"又查出少发工资（{me}）",
                "row1_workers": "1",
                "row1_months": "1",
                "row1_due": "5000",
                "row1_paid": "4500",
            },
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/findings/{finding_id}/recovery"): Row(
        "page",
        _audit_post(
            lambda a, me: f"/audits/cases/{a.inspected_id}/findings/{a.finding_id}/recovery",
            lambda a, me: {"amount": "1500"},
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/rectifications"): Row(
        "page",
        _audit_post(
            lambda a, me: f"/audits/cases/{a.rectifying_id}/rectifications",
            lambda a, me: {
                "finding_id": str(a.rectifying_finding_id),
                "action": "建立工资支付台账",
                "owner": f"财务经理（{me}）",
                "due": "2099-12-31",
                "required_evidence": "工资支付台账",
            },
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/rectifications/{item_id}/{step}"): Row(
        "page",
        # each inside user submits an item of its own (submitted once, then it waits for the re-check)
        _audit_post(
            lambda a, me: f"/audits/cases/{a.rectifying_id}/rectifications/{a.rectification[me]}/submit",
            lambda a, me: {"note": "已按期支付"},
        ),
        audit_scoped(303),
    ),
    ("POST", "/audits/cases/{ref}/evidence"): Row("page", _evidence_upload, audit_scoped(303)),
    ("GET", "/audits/documents/{document_id}.pdf"): Row(
        "page", _audit_get(lambda a: f"/audits/documents/{a.document_id}.pdf"), audit_scoped(200)
    ),
    ("GET", "/audits/evidence/{evidence_id}"): Row(
        "page", _audit_get(lambda a: f"/audits/evidence/{a.evidence_id}"), audit_scoped(200)
    ),
}


def test_every_route_has_a_row_in_the_matrix(sqlite_web: WebWorld) -> None:
    missing = app_routes(sqlite_web.app) - set(MATRIX)
    assert not missing, f"routes without an access-matrix row: {sorted(missing)}"


def _forbidden_markers(w: WebWorld, who: Who) -> list[str]:
    street = [w.case_number, w.sector_case_number, "测试机械有限公司", "测试茶业", "测试街道总工会"]
    neighbour = [w.other_case_number, "邻街电子有限公司", "邻近街道总工会"]
    if w.audit is not None:
        a = w.audit
        street += [a.campaign_number, a.draft_number, a.planned_number, a.inspected_number, *a.enterprises]
        street += ["2000.00", "街道督查员二"]  # an amount owed; the second inspector
        neighbour += [a.other_campaign_number, a.other_case_number, a.other_enterprise, "邻街督查员二"]
    home = {"zhang": "street", "aud": "street", "li": "other"}.get(who.username or "")
    if who.username and who.username.startswith("other_"):
        home = "other"
    return street if home == "other" else neighbour if home == "street" else []


def _run(w: WebWorld, client: Any, row: Row, who: Who) -> list[str]:
    """One cell of the matrix; returns what is wrong with it (empty when it is right)."""
    method, url, kwargs = row.request(w, who)
    denied_before = len(w.events("access_denied"))
    response = client.request(method, url, **kwargs)
    side = "inside" if who.inside else "outside"
    where = f"{method} {url} as {who.username or 'anonymous'} ({who.role}, {side})"
    problems = []

    if who.username is None and row.kind == "page":
        if response.status_code != 303 or not response.headers["location"].startswith("/login?next="):
            problems.append(f"{where}: {response.status_code}, expected 303 to /login")
    elif who.username is None and row.kind == "api":
        if response.status_code != UNAUTHORIZED or response.json()["error"]["code"] != "not_signed_in":
            problems.append(f"{where}: {response.status_code}, expected 401 not_signed_in")
    else:
        expected = row.expect(who.role or "", who.inside)
        if response.status_code != expected:
            problems.append(f"{where}: {response.status_code}, expected {expected}: {response.text[:200]!r}")

    body = response.text + response.headers.get("location", "")
    problems += [f"{where} leaks {m!r}" for m in _forbidden_markers(w, who) if m in body]
    shown = row.shows_case and who.inside and who.username and response.status_code == 200
    if shown and w.case_number not in body:
        problems.append(f"{where} should show the case")
    if row.shows and who.inside and who.username and response.status_code == 200:
        problems += [f"{where} should show {m!r}" for m in row.shows(w) if m not in body]

    denied = w.events("access_denied")[denied_before:]
    if who.username is not None and row.kind != "public" and response.status_code in (403, 404):
        if len(denied) != 1:
            problems.append(
                f"{where}: refused ({response.status_code}) but {len(denied)} access_denied events"
            )
        else:
            event = denied[0]
            if event.case_id is not None or event.actor_id != w.users[who.username] or not event.reason:
                problems.append(f"{where}: access_denied event incomplete")
            if event.payload != {"method": method, "path": url.split("?")[0]}:
                problems.append(f"{where}: access_denied payload {event.payload}")
    elif response.status_code < 400 and denied:
        problems.append(f"{where}: logged as refused but was not")
    return problems


def _users(w: WebWorld) -> list[Who]:
    return [Who(None, None, True)] + [
        Who(username, role, inside_) for (role, inside_), username in sorted(ROLE_USERS.items())
    ]


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_access_matrix(web: WebWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BARGAINING_STORAGE_DIR", str(tmp_path / "storage"))
    add_audit_world(web)
    audit_before = _audit_changes(web)
    # No route may touch the database on the event loop: a blocking statement there (or the argon2
    # and PDF work around it) stalls every other request of the worker. What this sees: the SQL
    # of the routes and branches the matrix walks (not CPU work without SQL), run by the app on
    # TestClient's portal thread or its worker threads; the test's own thread is left out (its
    # reads may see another test's loop, Playwright's).
    on_loop: list[str] = []
    served = [0]  # statements of the app's threads: the listener did see the app's work
    test_thread = threading.get_ident()

    def statement_on_loop(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == test_thread:
            return
        served[0] += 1
        if _on_event_loop():
            on_loop.append(" ".join(statement.split())[:80])

    event.listen(Engine, "before_cursor_execute", statement_on_loop)
    try:
        _walk_matrix(web)
    finally:
        event.remove(Engine, "before_cursor_execute", statement_on_loop)
    assert served[0] > 1000, served  # the matrix runs thousands; none seen means nothing was checked
    assert not on_loop, f"{len(on_loop)} statements ran on the event loop, e.g. {on_loop[:3]}"
    # the audit side was changed by the inside auditor and admin only (refusals wrote nothing)
    changed_by = {web.users[u] for u in AUDIT_INSIDE}
    after = _audit_changes(web)
    for what, written in after.items():
        new_rows = written - audit_before[what]
        assert new_rows, f"no {what} written by the matrix: the audit rows changed nothing"
        assert {actor for _, actor in new_rows} <= changed_by, (what, new_rows)


def _walk_matrix(web: WebWorld) -> None:
    present = app_routes(web.app)
    rows = sorted(
        ((k, r) for k, r in MATRIX.items() if k in present), key=lambda kr: (kr[1].last, kr[0][1], kr[0][0])
    )
    assert len(rows) >= 30
    problems: list[str] = []
    for who in _users(web):
        client = who.client = web.client()
        if who.username is not None:
            client, who.csrf = web.signed_in(who.username)
            who.client = client
            who.bearer = web.bearer(who.username)
            assert who.role in ROLES
        for _key, row in rows:
            problems += _run(web, client, row, who)
    assert not problems, f"{len(problems)} cells wrong:\n" + "\n".join(problems)


def _audit_changes(w: WebWorld) -> dict[str, set[tuple[Any, ...]]]:
    """Who wrote each audit event, campaign and evidence file: (row id, user id)."""
    from sqlalchemy import select

    from bargaining.models.audit import AuditEvent, Campaign, Evidence
    from services.uow import unit_of_work

    with unit_of_work(w.db, write=False) as uow:
        s = uow.session
        return {
            "audit events": {tuple(r) for r in s.execute(select(AuditEvent.id, AuditEvent.actor_id))},
            "campaigns": {tuple(r) for r in s.execute(select(Campaign.id, Campaign.created_by_id))},
            "evidence": {tuple(r) for r in s.execute(select(Evidence.id, Evidence.uploaded_by_id))},
        }


def _without(text: str, path: str, ref: Any) -> str:
    return text.replace(path.format(ref), "P").replace(f"找不到协商 {ref}", "#")


def test_outside_a_case_is_indistinguishable_from_no_case(web: WebWorld) -> None:
    """An outside user gets the same answer for an existing case as for a number that does not exist."""
    client, _ = web.signed_in("li")
    token = web.bearer("li")
    missing_id = 999_999
    paths = ["/cases/{}", "/api/cases/{}", "/api/cases/{}/timeline"]
    if ("GET", "/cases/{ref}/rates") in app_routes(web.app):
        paths.append("/cases/{}/rates")
    for path in paths:
        real = client.get(path.format(web.case_id), headers=token if path.startswith("/api") else {})
        fake = client.get(path.format(missing_id), headers=token if path.startswith("/api") else {})
        assert real.status_code == fake.status_code == 404
        assert f"找不到协商 {web.case_id}" in real.text
        assert _without(real.text, path, web.case_id) == _without(fake.text, path, missing_id)
        # by number, too
        by_number = client.get(path.format(web.case_number), headers=token if path.startswith("/api") else {})
        assert by_number.status_code == 404


def test_outside_an_audit_is_indistinguishable_from_no_audit(
    sqlite_web: WebWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An auditor or admin of the neighbouring street gets the same answer for the street's campaign,
    audit case, document and evidence file as for ids that do not exist (and by number, too)."""
    monkeypatch.setenv("BARGAINING_STORAGE_DIR", str(tmp_path / "storage"))
    a = add_audit_world(sqlite_web)
    missing = 999_999
    refs = {
        "/audits/campaigns/{}": (a.campaign_id, a.campaign_number, "找不到专项抽查 {}"),
        "/audits/campaigns/{}/report.xlsx": (a.campaign_id, a.campaign_number, "找不到专项抽查 {}"),
        "/audits/campaigns/{}/record.json": (a.campaign_id, a.campaign_number, "找不到专项抽查 {}"),
        "/audits/cases/{}": (a.inspected_id, a.inspected_number, "找不到检查 {}"),
        "/audits/documents/{}.pdf": (a.document_id, None, "找不到该文书"),
        "/audits/evidence/{}": (a.evidence_id, None, "找不到该证据文件"),
    }
    for username in ("other_aud", "other_admin"):
        client, csrf = sqlite_web.signed_in(username)
        for path, (ref, number, message) in refs.items():
            real = client.get(path.format(ref))
            fake = client.get(path.format(missing))
            assert real.status_code == fake.status_code == 404, (username, path)
            assert message.format(ref) in real.text, (username, path)

            def without(text: str, r: Any, path: str = path, message: str = message) -> str:
                return text.replace(path.format(r), "P").replace(message.format(r), "#")

            assert without(real.text, ref) == without(fake.text, missing), (username, path)
            if number is not None:
                assert client.get(path.format(number)).status_code == 404
        # a change is refused the same way (and says nothing of the case)
        for ref in (a.rectifying_id, missing):
            refused = client.post(
                f"/audits/cases/{ref}/rectifications/1/submit", data={"csrf_token": csrf, "note": "x"}
            )
            assert refused.status_code == 404 and "找不到检查" in refused.text


def test_outside_lists_and_filters_show_nothing_of_the_street(web: WebWorld) -> None:
    for username in ("li", "other_admin"):
        _outside_lists(web, username)


def _outside_lists(web: WebWorld, username: str) -> None:
    client, _ = web.signed_in(username)
    token = web.bearer(username)
    street = [web.case_number, web.sector_case_number, "测试机械有限公司"]
    responses = [
        client.get("/inbox", params={"mine": "0", "q": "测试机械"}),
        client.get("/inbox", params={"mine": "0", "q": web.world.enterprise_code}),
        client.get("/inbox", params={"mine": "0", "region": "street"}),
        client.get("/api/cases", params={"q": web.case_number}, headers=token),
        client.get("/api/cases", params={"region": "street"}, headers=token),
        client.get("/api/cases", params={"limit": 200}, headers=token),
        client.get("/api/deadlines", params={"limit": 200}, headers=token),
        client.get("/dashboard"),
    ]
    for response in responses:
        assert response.status_code in (200, 422), response.request.url
        for marker in street:
            assert marker not in response.text, (response.request.url, marker)
    listed = client.get("/api/cases", params={"limit": 200}, headers=token).json()
    assert web.other_case_number in {c["number"] for c in listed["items"]}
    assert all(c["number"] != web.case_number for c in listed["items"])


def test_a_refusal_is_logged_for_a_user_with_many_roles(web: WebWorld) -> None:
    """events.role is VARCHAR(32): the roles of a user with three of them must not make the log fail."""
    from sqlalchemy import select

    from bargaining.models import OrgUnit
    from services.identity import add_user
    from services.uow import unit_of_work

    from .harness import password_hash

    with unit_of_work(web.db) as uow:
        other = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == "other"))
        user = add_user(
            uow.session,
            username="many",
            display_name="多角色",
            org_unit=other,
            roles=["instructor", "federation_admin", "auditor", "reviewer"],
        )
        user.password_hash = password_hash()
        user_id = user.id
    client, _ = web.signed_in("many")
    assert client.get(f"/cases/{web.case_id}").status_code == 404
    denied = web.events("access_denied")
    assert len(denied) == 1 and denied[0].actor_id == user_id
    assert denied[0].payload == {"method": "GET", "path": f"/cases/{web.case_id}"}


def test_csrf_and_sign_in_refusals_are_not_access_denied_events(sqlite_web: WebWorld) -> None:
    client, _ = sqlite_web.signed_in("zhang")
    assert client.post(f"/cases/{sqlite_web.case_id}/terms", data={"payment_day": "3"}).status_code == 403
    assert client.post("/api/cases", json={}).status_code == 403
    assert sqlite_web.events("access_denied") == []


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_workflow_action_refused_for_the_role_is_logged(sqlite_web: WebWorld, via: str) -> None:
    w = sqlite_web
    if via == "page":
        client, csrf = w.signed_in("aud")
        response = client.post(
            f"/cases/{w.case_id}/actions/record_round",
            data={"chair_side": "worker", "minutes": "x", "csrf_token": csrf},
        )
    else:
        response = w.client().post(
            f"/api/cases/{w.case_id}/actions/record_round",
            json={"expected_version": w.version(), "values": {"chair_side": "worker", "minutes": "x"}},
            headers=w.bearer("aud"),
        )
    assert response.status_code in (403, 409)
    assert "您的角色无权" in response.text
    assert len(w.events("access_denied")) == 1
