"""Documents on the web: each stage's PDF, signing, scanned copies, and verifying a PDF.

Rendering and signing happen in services/documents, outside any request transaction.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from bargaining.errors import DomainError, NotFound, ValidationError
from bargaining.models import Document

from ..repository import get_case
from ..uow import unit_of_work
from .context import RequestContext, as_api_caller
from .page_route import SubmittedForm, page
from .render import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])
MAX_PDF = 50 * 1024 * 1024


def _visible(ctx: RequestContext, ref: str) -> None:
    """Outside the caller's region a case does not exist (404), whatever the caller's role."""
    with unit_of_work(ctx.db, write=False) as uow:
        get_case(uow.session, ctx.actor, ref)


def _pdf(rendered: Any) -> Response:
    return Response(
        rendered.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(rendered.filename)}",
            "X-Content-SHA256": rendered.sha256,
        },
    )


@router.get("/cases/{ref}/documents/{document_id}.pdf")
@page
def document_pdf(ref: str, document_id: int, ctx: RequestContext) -> Response:
    from ..documents import render_document

    with unit_of_work(ctx.db, write=False) as uow:
        case = get_case(uow.session, ctx.actor, ref[:40])
        kind = uow.session.scalar(
            select(Document.kind).where(Document.id == document_id, Document.case_id == case.id)
        )
    if kind is None:
        raise NotFound("找不到该文件。")
    return _pdf(render_document(ctx.db, ctx.actor, ref[:40], kind, document_id=document_id, now=ctx.now))


@router.get("/cases/{ref}/agreement.pdf")
@page
def agreement_pdf(ref: str, ctx: RequestContext) -> Response:
    """The agreement text as it stands (a draft carries a watermark; a signed one its signatures)."""
    from ..documents import render_document

    return _pdf(render_document(ctx.db, ctx.actor, ref[:40], "agreement", now=ctx.now))


@router.post("/cases/{ref}/sign-pdf", response_class=HTMLResponse)
@page
def sign_pdf(request: Request, ref: str, ctx: RequestContext) -> Response:
    from ..documents import sign_agreement

    _visible(ctx, ref[:40])
    try:
        sign_agreement(ctx.db, ctx.actor, ref[:40], now=ctx.now, request_id=ctx.request_id)
    except DomainError as exc:
        return render(
            request,
            "error.html",
            {"message": exc.message, "status": exc.http_status, "back": f"/cases/{quote(ref[:40])}"},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=sign", status_code=303)


@router.post("/cases/{ref}/scans", response_class=HTMLResponse)
@page
def upload_scan(request: Request, ref: str, ctx: RequestContext, form: SubmittedForm) -> Response:
    from ..documents import store_scan

    values = form.values
    _visible(ctx, ref[:40])
    upload = form.file("file")
    try:
        if upload is None:
            raise ValidationError("请选择扫描件文件。")
        data = upload.file.read(MAX_PDF + 1)
        store_scan(
            ctx.db,
            ctx.actor,
            ref[:40],
            values.get("kind", "signed_agreement"),
            upload.filename or "scan",
            data,
            note=values.get("note") or None,
            now=ctx.now,
            request_id=ctx.request_id,
        )
    except DomainError as exc:
        return render(
            request,
            "error.html",
            {"message": exc.message, "status": exc.http_status, "back": f"/cases/{quote(ref[:40])}"},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/cases/{quote(ref[:40])}?done=scan", status_code=303)


@router.get("/verify", response_class=HTMLResponse)
@page
def verify_form(request: Request, ctx: RequestContext) -> Response:
    return render(request, "verify.html", {"report": None, "error": None})


@router.post("/verify", response_class=HTMLResponse)
@page
def verify_upload(request: Request, ctx: RequestContext, form: SubmittedForm) -> Response:
    from ..documents import verify_pdf

    upload = form.file("file")
    try:
        if upload is None:
            raise ValidationError("请选择要核验的 PDF 文件。")
        data = upload.file.read(MAX_PDF + 1)
        if len(data) > MAX_PDF:
            raise ValidationError("文件过大（上限50MB）。")
        report = verify_pdf(ctx.db, data).to_dict()
    except DomainError as exc:
        return render(
            request, "verify.html", {"report": None, "error": exc.message}, status_code=exc.http_status
        )
    return render(request, "verify.html", {"report": report, "error": None})


@api_router.post("/verify")
async def api_verify(request: Request, file: UploadFile) -> dict[str, Any]:
    """Check a PDF: each signature, signer, time, changes after signing, and the approved text's hash."""
    from ..documents import verify_pdf

    def work(ctx: RequestContext) -> dict[str, Any]:
        data = file.file.read(MAX_PDF + 1)  # after sign-in: nobody unknown fills the worker's memory
        if len(data) > MAX_PDF:
            raise ValidationError("文件过大（上限50MB）。")
        result: dict[str, Any] = verify_pdf(ctx.db, data).to_dict()
        return result

    return await as_api_caller(request, work)
