"""Auditor pages (专项抽查): campaign list, campaign page (schedule, sampling, sample, progress,
reports), audit case page (checklist form, findings, rectification tracker, evidence).

Every form carries the session's CSRF token (checked by ``@page``); evidence is served only as a
download; data is reached only through the region-scoped audit repository.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bargaining.errors import DomainError, Forbidden, TransitionRefused, ValidationError
from bargaining.rules.sampling import ALLOCATION_LABELS
from workflows import audit_engine
from workflows.spec import WorkflowDefinition

from ..audits import campaigns as camp
from ..audits import cases as ac
from ..audits.checklists import list_templates
from ..audits.evidence import MAX_BYTES, TooLarge, open_evidence, store_evidence
from ..audits.queries import audit_case_detail, campaign_detail, list_campaigns, my_audit_cases
from ..audits.repository import AUDIT_ROLES
from ..uow import unit_of_work
from .context import RequestContext
from .page_route import SubmittedForm, page
from .pages import region_choices, sector_choices, user_choices
from .render import render

router = APIRouter(include_in_schema=False)
UPLOAD_OVERHEAD = 64 * 1024  # multipart framing and the other form fields


def _require(ctx: RequestContext) -> None:
    if not ctx.roles & AUDIT_ROLES:
        raise Forbidden("专项抽查页面仅限督查员和工会管理员。")


def _version(values: dict[str, str]) -> int | None:
    raw = values.pop("expected_version", "")
    return int(raw) if raw.isdigit() else None


def _error(exc: DomainError, form: str, values: dict[str, str] | None = None) -> dict[str, Any]:
    reasons = exc.details.get("reasons") if isinstance(exc, TransitionRefused) else None
    return {
        "form": form,
        "message": exc.message,
        "reasons": reasons or exc.details.get("problems") or [],
        "values": values or {},
    }


# ---- campaigns ------------------------------------------------------------------------------------


@router.get("/audits", response_class=HTMLResponse)
@page
def campaigns_page(request: Request, ctx: RequestContext) -> Response:
    _require(ctx)
    return render(
        request,
        "audits/list.html",
        {"campaigns": list_campaigns(ctx.db, ctx.actor), "mine": my_audit_cases(ctx.db, ctx.actor)},
    )


def _new_form(
    request: Request, ctx: RequestContext, error: str | None, form: dict[str, Any], status: int = 200
) -> Response:
    with unit_of_work(ctx.db, write=False) as uow:
        s = uow.session
        orgs = region_choices(s, ctx.actor)
        sectors = sector_choices(s)
        auditors = user_choices(s, ctx.actor, "auditor")
    return render(
        request,
        "audits/new.html",
        {
            "orgs": orgs,
            "sectors": sectors,
            "auditors": auditors,
            "methods": list(ALLOCATION_LABELS.items()),
            "templates": list_templates(ctx.db),
            "error": error,
            "form": form,
        },
        status_code=status,
    )


@router.get("/audits/new", response_class=HTMLResponse)
@page
def new_campaign_form(request: Request, ctx: RequestContext) -> Response:
    _require(ctx)
    return _new_form(request, ctx, None, {})


def _int(raw: str | None, default: int = 0) -> int:
    try:
        return int(str(raw).strip()) if raw not in (None, "") else default
    except ValueError:
        raise ValidationError(f"应为整数：{raw}") from None


@router.post("/audits/new", response_class=HTMLResponse)
@page
def new_campaign(request: Request, ctx: RequestContext, form: SubmittedForm) -> Response:
    _require(ctx)
    values = form.values
    lists = {k: form.getlist(k) for k in ("sectors", "kinds", "dimensions", "inspectors")}
    try:
        created = camp.create_campaign(
            ctx.db,
            ctx.actor,
            title=values.get("title", ""),
            legal_basis=values.get("legal_basis", ""),
            org=values.get("org") or None,
            sectors=lists["sectors"],
            kinds=lists["kinds"] or None,
            min_months_in_force=_int(values.get("min_months"), 6),
            dimensions=lists["dimensions"],
            size_bands=[
                _int(b) for b in values.get("size_bands", "").replace("，", ",").split(",") if b.strip()
            ],
            method=values.get("method", "proportional"),
            sample_size=_int(values.get("sample_size")),
            per_stratum=_int(values.get("per_stratum")),
            minimum_per_stratum=_int(values.get("minimum_per_stratum")),
            checklist=values.get("checklist", "wage-agreement@1").partition("@")[0],
            checklist_version=_int(values.get("checklist", "").partition("@")[2]) or None,
            inspectors=lists["inspectors"],
            start_on=values.get("start_on", ""),
            reminder_days=_int(values.get("reminder_days"), 3),
            fieldwork_start=values.get("fieldwork_start", ""),
            fieldwork_end=values.get("fieldwork_end", ""),
            report_due=values.get("report_due", ""),
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _new_form(request, ctx, exc.message, {**values, **lists}, status=exc.http_status)
    return RedirectResponse(f"/audits/campaigns/{created['id']}?done=create", status_code=303)


def _campaign_page(
    request: Request,
    ctx: RequestContext,
    ref: str,
    *,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    detail = campaign_detail(ctx.db, ctx.actor, ref, now=ctx.now)
    return render(
        request,
        "audits/campaign.html",
        {
            "c": detail,
            "errors": errors or {},
            "done": request.query_params.get("done"),
            "can_edit": ctx.has(*AUDIT_ROLES),
        },
        status_code=status,
    )


@router.get("/audits/campaigns/{ref}", response_class=HTMLResponse)
@page
def campaign_page(request: Request, ref: str, ctx: RequestContext) -> Response:
    _require(ctx)
    return _campaign_page(request, ctx, ref[:40])


STEPS = {"freeze": "freeze_frame", "seed": "fix_seed", "draw": "draw_sample", "approve": "approve_sampling"}


@router.post("/audits/campaigns/{ref}/{step}", response_class=HTMLResponse)
@page
def campaign_step(
    request: Request, ref: str, step: str, ctx: RequestContext, form: SubmittedForm
) -> Response:
    _require(ctx)
    values = form.values
    expected = _version(values)
    ref = ref[:40]
    try:
        if step in STEPS:
            kwargs: dict[str, Any] = {
                "expected_version": expected,
                "now": ctx.now,
                "request_id": ctx.request_id,
            }
            if step == "seed":
                kwargs.update(
                    source=values.get("source", ""),
                    entropy=values.get("entropy") or None,
                    provenance=values.get("provenance", ""),
                )
            getattr(camp, STEPS[step])(ctx.db, ctx.actor, ref, **kwargs)
        elif step == "replace":
            camp.replace_unit(
                ctx.db,
                ctx.actor,
                ref,
                unit_id=values.get("unit_id", ""),
                reason=values.get("reason", ""),
                now=ctx.now,
                request_id=ctx.request_id,
            )
        else:
            raise ValidationError(f"未知的操作：{step[:40]}")
    except DomainError as exc:
        return _campaign_page(
            request, ctx, ref, errors=_error(exc, step[:40], values), status=exc.http_status
        )
    return RedirectResponse(f"/audits/campaigns/{quote(ref)}?done={quote(step[:40])}", status_code=303)


def _attachment(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/audits/campaigns/{ref}/report.{fmt}")
@page
def campaign_report(request: Request, ref: str, fmt: str, ctx: RequestContext) -> Response:
    _require(ctx)
    from ..audits.reports import render_pdf, render_xlsx, report_data

    if fmt not in ("pdf", "xlsx"):
        raise ValidationError("报告格式应为 pdf 或 xlsx。")
    data = report_data(ctx.db, ctx.actor, ref[:40], now=ctx.now)
    number = data["campaign"]["number"]
    if fmt == "pdf":
        return _attachment(render_pdf(data), f"{number}-专项抽查报告.pdf", "application/pdf")
    return _attachment(
        render_xlsx(data),
        f"{number}-专项抽查报告.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get("/audits/campaigns/{ref}/record.json")
@page
def campaign_record(request: Request, ref: str, ctx: RequestContext) -> Response:
    _require(ctx)
    from ..audits.replay import export_record

    doc = export_record(ctx.db, ctx.actor, ref[:40])
    body = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    return _attachment(body, f"{doc['campaign']['number']}-抽样记录.json", "application/json")


# ---- audit cases ----------------------------------------------------------------------------------

MAIN = ("planned", "notified", "inspected", "findings", "rectification", "rechecked", "closed")
SIDE = {"withdrawn": 0, "escalated": 4}
BOX_W, BOX_H, GAP, ROWS = 118, 34, 16, (10, 74)


def diagram(definition: WorkflowDefinition, current: str, passed: set[str]) -> str:
    """The audit workflow as inline SVG (presentation attributes only; the page CSS colours it)."""
    pos = {name: (i * (BOX_W + GAP) + 6, ROWS[0]) for i, name in enumerate(MAIN)}
    pos.update({name: (col * (BOX_W + GAP) + 6, ROWS[1]) for name, col in SIDE.items()})
    width = len(MAIN) * (BOX_W + GAP)
    parts = [
        f'<svg class="diagram" viewBox="0 0 {width} {ROWS[1] + BOX_H + 8}" role="img" '
        f'aria-label="检查流程，当前阶段：{escape(definition.state_label(current))}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(len(MAIN) - 1):
        x = pos[MAIN[i]][0] + BOX_W
        y = ROWS[0] + BOX_H / 2
        parts.append(f'<line class="edge" x1="{x}" y1="{y}" x2="{x + GAP}" y2="{y}"/>')
    for col in SIDE.values():
        cx = col * (BOX_W + GAP) + 6 + BOX_W / 2
        parts.append(f'<line class="edge" x1="{cx}" y1="{ROWS[0] + BOX_H}" x2="{cx}" y2="{ROWS[1]}"/>')
    for state in definition.states:
        if state.name not in pos:
            continue
        x, y = pos[state.name]
        cls = "cur" if state.name == current else "done" if state.name in passed else "st"
        parts.append(
            f'<g class="{cls}"><title>{escape(state.label)}：{escape(state.description)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 5}" text-anchor="middle">{escape(state.label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _case_page(
    request: Request,
    ctx: RequestContext,
    ref: str,
    *,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    detail = audit_case_detail(ctx.db, ctx.actor, ref, now=ctx.now)
    name, version = detail["definition"].split("@")
    definition = audit_engine.definition(name, int(version))
    passed = {e["from"] for e in detail["timeline"] if e["from"] and e["from"] != detail["state"]}
    return render(
        request,
        "audits/case.html",
        {
            "c": detail,
            "diagram": diagram(definition, detail["state"], passed),
            "errors": errors or {},
            "done": request.query_params.get("done"),
            "max_mb": MAX_BYTES // (1024 * 1024),
        },
        status_code=status,
    )


@router.get("/audits/cases/{ref}", response_class=HTMLResponse)
@page
def case_page(request: Request, ref: str, ctx: RequestContext) -> Response:
    _require(ctx)
    return _case_page(request, ctx, ref[:40])


def _back(ref: str, done: str) -> Response:
    return RedirectResponse(f"/audits/cases/{quote(ref)}?done={quote(done)}", status_code=303)


@router.post("/audits/cases/{ref}/actions/{trigger}", response_class=HTMLResponse)
@page
def case_action(
    request: Request, ref: str, trigger: str, ctx: RequestContext, form: SubmittedForm
) -> Response:
    _require(ctx)
    values = form.values
    expected = _version(values)
    reason = values.pop("reason", None) or None
    ref, trigger = ref[:40], trigger[:40]
    try:
        ac.fire_action(
            ctx.db,
            ctx.actor,
            ref,
            trigger,
            values=values,
            reason=reason,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(request, ctx, ref, errors=_error(exc, trigger, values), status=exc.http_status)
    return _back(ref, trigger)


@router.post("/audits/cases/{ref}/answers", response_class=HTMLResponse)
@page
def case_answers(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    _require(ctx)
    values = form.values
    expected = _version(values)
    ref = ref[:40]
    answers = {
        key[len("answer_") :]: (value, values.get("note_" + key[len("answer_") :]) or None)
        for key, value in values.items()
        if key.startswith("answer_")
    }
    try:
        ac.save_answers(
            ctx.db, ctx.actor, ref, answers, expected_version=expected, now=ctx.now, request_id=ctx.request_id
        )
    except DomainError as exc:
        return _case_page(request, ctx, ref, errors=_error(exc, "answers", values), status=exc.http_status)
    return _back(ref, "answers")


def _rows(values: dict[str, str]) -> list[dict[str, str]]:
    """Wage-data rows from fields named ``row1_workers``, ``row2_paid`` …"""
    rows: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        if key.startswith("row") and "_" in key and value.strip():
            index, _, field = key[3:].partition("_")
            if index.isdigit():
                rows.setdefault(int(index), {})[field] = value.strip()
    return [rows[i] for i in sorted(rows)]


@router.post("/audits/cases/{ref}/findings", response_class=HTMLResponse)
@page
def case_finding(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    _require(ctx)
    values = form.values
    expected = _version(values)
    ref = ref[:40]
    try:
        workers = values.get("workers", "").strip()
        ac.add_finding(
            ctx.db,
            ctx.actor,
            ref,
            item_code=values.get("item_code", ""),
            severity=values.get("severity") or None,
            description=values.get("description", ""),
            rows=_rows(values),
            affected_workers=_int(workers) if workers else None,
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request,
            ctx,
            ref,
            errors=_error(exc, "finding-" + values.get("item_code", ""), values),
            status=exc.http_status,
        )
    return _back(ref, "finding")


@router.post("/audits/cases/{ref}/findings/{finding_id}/recovery", response_class=HTMLResponse)
@page
def case_recovery(
    request: Request, ref: str, finding_id: int, ctx: RequestContext, form: SubmittedForm
) -> Response:
    _require(ctx)
    values = form.values
    ref = ref[:40]
    try:
        ac.record_recovery(
            ctx.db,
            ctx.actor,
            ref,
            finding_id=finding_id,
            amount=values.get("amount", ""),
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request, ctx, ref, errors=_error(exc, f"recovery-{finding_id}", values), status=exc.http_status
        )
    return _back(ref, "recovery")


@router.post("/audits/cases/{ref}/rectifications", response_class=HTMLResponse)
@page
def case_rectification(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    _require(ctx)
    values = form.values
    expected = _version(values)
    ref = ref[:40]
    try:
        ac.add_rectification(
            ctx.db,
            ctx.actor,
            ref,
            finding_id=_int(values.get("finding_id")),
            action=values.get("action", ""),
            owner=values.get("owner", ""),
            due=values.get("due", ""),
            required_evidence=values.get("required_evidence", ""),
            expected_version=expected,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(
            request,
            ctx,
            ref,
            errors=_error(exc, f"rectify-{values.get('finding_id', '')}", values),
            status=exc.http_status,
        )
    return _back(ref, "rectification")


# The steps of a rectification item: the use case, and what it takes from the form.
_RECTIFICATION_STEPS: dict[str, tuple[Callable[..., Any], Callable[[dict[str, str]], dict[str, Any]]]] = {
    "submit": (ac.submit_rectification, lambda v: {"note": v.get("note", "")}),
    "verify": (
        ac.verify_rectification,
        lambda v: {"passed": v.get("passed") == "1", "note": v.get("note", "")},
    ),
    "answer": (
        ac.record_employer_answer,
        lambda v: {"answered_on": v.get("answered_on", ""), "summary": v.get("summary", "")},
    ),
}


@router.post("/audits/cases/{ref}/rectifications/{item_id}/{step}", response_class=HTMLResponse)
@page
def case_rectification_step(
    request: Request, ref: str, item_id: int, step: str, ctx: RequestContext, form: SubmittedForm
) -> Response:
    _require(ctx)
    values = form.values
    ref = ref[:40]
    try:
        if step not in _RECTIFICATION_STEPS:
            raise ValidationError(f"未知的操作：{step[:40]}")
        use_case, fields = _RECTIFICATION_STEPS[step]
        use_case(
            ctx.db,
            ctx.actor,
            ref,
            rectification_id=item_id,
            now=ctx.now,
            request_id=ctx.request_id,
            **fields(values),
        )
    except DomainError as exc:
        return _case_page(
            request, ctx, ref, errors=_error(exc, f"{step[:20]}-{item_id}", values), status=exc.http_status
        )
    return _back(ref, step[:20])


@router.post("/audits/cases/{ref}/evidence", response_class=HTMLResponse)
@page(form_limit=MAX_BYTES + UPLOAD_OVERHEAD)
def case_evidence(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm | None) -> Response:
    _require(ctx)
    ref = ref[:40]
    if form is None:
        # Refused by its declared length, before the body is read or spooled anywhere.
        return _case_page(
            request,
            ctx,
            ref,
            errors={
                "form": "evidence",
                "message": f"文件过大，每个文件不超过{MAX_BYTES // (1024 * 1024)}MB。",
                "reasons": [],
                "values": {},
            },
            status=413,
        )
    values = form.values
    upload = form.file("file")
    try:
        if upload is None:
            raise ValidationError("请选择要上传的文件。")
        content = upload.file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise TooLarge(f"文件过大，每个文件不超过{MAX_BYTES // (1024 * 1024)}MB。")
        store_evidence(
            ctx.db,
            ctx.actor,
            ref,
            filename=upload.filename or "file",
            content=content,
            finding_id=_int(values.get("finding_id")) or None,
            rectification_id=_int(values.get("rectification_id")) or None,
            note=values.get("note") or None,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return _case_page(request, ctx, ref, errors=_error(exc, "evidence", values), status=exc.http_status)
    return _back(ref, "evidence")


@router.get("/audits/documents/{document_id}.pdf")
@page
def document_pdf(request: Request, document_id: int, ctx: RequestContext) -> Response:
    _require(ctx)
    from ..audits.documents import document_for, render_document_pdf

    context = document_for(ctx.db, ctx.actor, document_id)
    return _attachment(
        render_document_pdf(context),
        f"{context['doc']['number']}-{context['doc']['title']}.pdf",
        "application/pdf",
    )


@router.get("/audits/evidence/{evidence_id}")
@page
def evidence_download(request: Request, evidence_id: int, ctx: RequestContext) -> Response:
    _require(ctx)
    path, evidence = open_evidence(ctx.db, ctx.actor, evidence_id)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=evidence.original_name,
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
