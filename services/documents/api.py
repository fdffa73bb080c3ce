"""Document use cases: render, sign, upload a scan, list, render what is pending.

Each follows the same shape: read what is needed in a read-only unit of work, render (and sign)
outside any transaction, then record the result in one short write transaction. A file written
to the store for a transaction that then fails is removed again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import Conflict, DomainError, NotFound, TransitionRefused, ValidationError
from bargaining.models import (
    Case,
    Document,
    DocumentRendering,
    Representative,
    ScannedCopy,
    Signature,
)
from bargaining.rules.periods import legal_date
from workflows import engine
from workflows.definitions.common import DOCUMENTS
from workflows.events import write_event
from workflows.registry import definition

from .. import runtime
from ..cases import STAFF, case_summary, require_role
from ..repository import get_case, visible_cases
from ..uow import unit_of_work
from . import storage
from .context import (
    AGREEMENT,
    SIGNATURE_FIELDS,
    agreement_view,
    build_context,
    context_sha256,
    find_document,
    normalise_kind,
    template_name,
)
from .rendering import RenderJob, RenderOutput
from .signing import SIGNING_ORDER, AppliedSignature, Signer, SigningParty

MAX_SCAN_BYTES = 50 * 1024 * 1024
SCAN_TYPES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"II*\x00", "image/tiff", ".tif"),
    (b"MM\x00*", "image/tiff", ".tif"),
)


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    filename: str
    sha256: str
    document_id: int | None
    rendering_id: int | None
    kind: str
    title: str
    template: str
    template_version: str
    pages: int
    signed: bool
    reused: bool  # True: the stored file was returned, nothing was rendered


def _title(kind: str, case: Case) -> str:
    if kind == AGREEMENT:
        return {"enterprise": "工资专项集体合同", "sector": "行业性工资集体协议", "adoption": "履约集体协议"}[
            case.kind
        ]
    return DOCUMENTS.get(kind, kind)


def _filename(case: Case, title: str, suffix: str = ".pdf") -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", f"{case.number}-{title}")
    return safe + suffix


def _state_label(case: Case) -> str:
    return definition(case.definition_name, case.definition_version).state_label(case.state)


# --- rendering ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What a read transaction decided: return stored bytes, or render this job."""

    case_id: int
    case_number: str
    kind: str
    title: str
    document_id: int | None
    stored: tuple[str, str, int | None, str, str, int, bool] | None = (
        None  # path, sha, rendering, tpl, ver, pages, signed
    )
    job: RenderJob | None = None


def _plan_render(
    session: Session,
    actor: Actor,
    case: Case,
    kind: str,
    document_id: int | None,
    *,
    refresh: bool,
    now: datetime,
) -> _Plan:
    document = find_document(session, case, kind, document_id) if kind != AGREEMENT else None
    title = _title(kind, case)
    plan = _Plan(case.id, case.number, kind, title, document.id if document else None)
    template = template_name(kind, case.kind)
    if document is not None:
        signed = session.scalar(
            select(func.count()).select_from(Signature).where(Signature.document_id == document.id)
        )
        latest = session.scalar(
            select(DocumentRendering)
            .where(DocumentRendering.document_id == document.id)
            .order_by(DocumentRendering.id.desc())
            .limit(1)
        )
        if signed and refresh:
            raise ValidationError(
                "已电子签署的文书不能重新生成；如需新文本，须重新提交职代会审议并重新签署。"
            )
        if document.storage_path and document.pdf_sha256 and (signed or not refresh):
            if storage.exists(document.storage_path):
                plan.stored = (
                    document.storage_path,
                    document.pdf_sha256,
                    latest.id if latest else None,
                    document.template_name or template,
                    document.template_version or "",
                    latest.pages if latest else 0,
                    bool(signed),
                )
                return plan
            if signed:
                raise NotFound(
                    f"已签署的文件不在文件库中（{document.storage_path}），请联系管理员从备份恢复。"
                )
        if latest is not None and not refresh:
            # The file is gone: render the recorded context again (same template version → same bytes).
            plan.job = RenderJob(case.number, kind, latest.template_name, dict(latest.context))
            return plan
    if kind == "signed_agreement":
        view = agreement_view(session, case)
        if view is None or not view["approved"]:
            raise ValidationError(_not_approved_message(view))
    context = build_context(session, case, kind, document, now=now, author=actor.name)
    digest = context_sha256(context)
    if kind == AGREEMENT:
        if context.get("agreement") is None:
            raise NotFound(f"协商 {case.number} 尚未起草协议文本。")
        previous = session.scalar(
            select(DocumentRendering)
            .where(
                DocumentRendering.case_id == case.id,
                DocumentRendering.kind == AGREEMENT,
                DocumentRendering.context_sha256 == digest,
            )
            .order_by(DocumentRendering.id.desc())
            .limit(1)
        )
        if previous is not None and not refresh and storage.exists(previous.storage_path):
            plan.stored = (
                previous.storage_path,
                previous.pdf_sha256,
                previous.id,
                previous.template_name,
                previous.template_version,
                previous.pages,
                False,
            )
            return plan
    anchors = (
        tuple(SIGNATURE_FIELDS[s] for s in SIGNING_ORDER) if kind in (AGREEMENT, "signed_agreement") else ()
    )
    plan.job = RenderJob(case.number, kind, template, context, anchor_ids=anchors, context_sha256=digest)
    return plan


def _not_approved_message(view: dict[str, Any] | None) -> str:
    if view is None:
        return "尚未起草协议文本，不能签字。"
    if not view["approved_text_hash"]:
        return "职代会尚未审议通过协议文本，不能签字。"
    return (
        f"协议文本与职代会审议通过的文本不一致（当前文本校验码 {view['content_hash'][:16]}…，"
        f"职代会通过时 {view['approved_text_hash'][:16]}…）：文本在表决后被修改，须重新提交职代会审议，不能签字。"
    )


def _record_rendering(
    session: Session,
    *,
    case_id: int,
    document_id: int | None,
    kind: str,
    job: RenderJob,
    output: RenderOutput,
    path: str,
    actor: Actor,
    now: datetime,
) -> DocumentRendering:
    rendering = DocumentRendering(
        case_id=case_id,
        document_id=document_id,
        kind=kind,
        template_name=output.template,
        template_version=output.template_version,
        template_hash=output.template_hash,
        context=job.context,
        context_sha256=output.context_sha256,
        content_hash=output.content_hash,
        pdf_sha256=output.pdf_sha256,
        storage_path=path,
        pages=output.pages,
        size_bytes=len(output.pdf),
        rendered_by=actor.name,
        rendered_at=now,
    )
    session.add(rendering)
    session.flush()
    return rendering


def render_document(
    db: Database,
    actor: Actor,
    case_ref: str | int,
    kind: str,
    *,
    document_id: int | None = None,
    refresh: bool = False,
    now: datetime | None = None,
) -> RenderedDocument:
    """The PDF of one document of a case (rendered now, or the stored one when it exists).

    ``kind``: a document kind (offer_letter … coordination_agreement, signed_agreement) or
    ``agreement`` for the agreement text as it stands (a draft carries a 草案 watermark).
    Rendering runs outside any transaction; the Document row is filled in afterwards.
    """
    from . import rendering

    kind = normalise_kind(kind)
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        case = get_case(uow.session, actor, case_ref)
        plan = _plan_render(uow.session, actor, case, kind, document_id, refresh=refresh, now=now)
        filename = _filename(case, plan.title)
    if plan.stored is not None:
        path, sha, rendering_id, template, version, pages, signed = plan.stored
        return RenderedDocument(
            storage.get(path, sha), filename, sha, plan.document_id, rendering_id, kind, plan.title,
            template, version, pages, signed, reused=True,
        )  # fmt: skip
    assert plan.job is not None
    output = rendering.run(plan.job)
    path = storage.put(output.pdf, ".pdf", now=now)
    try:
        with unit_of_work(db) as uow:
            s = uow.session
            record = _record_rendering(
                s, case_id=plan.case_id, document_id=plan.document_id, kind=kind, job=plan.job,
                output=output, path=path, actor=actor, now=now,
            )  # fmt: skip
            if plan.document_id is not None:
                document = s.get(Document, plan.document_id)
                assert document is not None
                if s.scalar(
                    select(func.count()).select_from(Signature).where(Signature.document_id == document.id)
                ):
                    raise Conflict("该文书已在此期间被电子签署，请重新打开。")
                document.template_name = output.template
                document.template_version = output.template_version
                document.template_hash = output.template_hash
                document.pdf_sha256 = output.pdf_sha256
                document.storage_path = path
            rendering_id = record.id
    except BaseException:
        storage.remove(path)
        raise
    return RenderedDocument(
        output.pdf, filename, output.pdf_sha256, plan.document_id, rendering_id, kind, plan.title,
        output.template, output.template_version, output.pages, False, reused=False,
    )  # fmt: skip


def reproduce(db: Database, actor: Actor, rendering_id: int) -> tuple[bytes, bool]:
    """Render a recorded rendering again from its stored context; True when the bytes match."""
    from . import rendering

    with unit_of_work(db, write=False) as uow:
        record = uow.session.get(DocumentRendering, rendering_id)
        if record is None:
            raise NotFound(f"找不到渲染记录 {rendering_id}。")
        get_case(uow.session, actor, record.case_id)
        job = RenderJob(str(record.case_id), record.kind, record.template_name, dict(record.context))
        expected, version = record.pdf_sha256, record.template_version
    output = rendering.run(job)
    if output.template_version != version:
        raise ValidationError(
            f"该文书用模板版本 {version} 生成，当前模板为 {output.template_version}，无法逐字节复现。"
        )
    return output.pdf, output.pdf_sha256 == expected


# --- signing ------------------------------------------------------------------------------------


def _chiefs(session: Session, case: Case) -> dict[str, Representative]:
    chiefs: dict[str, Representative] = {}
    for rep in session.scalars(
        select(Representative).where(Representative.case_id == case.id, Representative.chief.is_(True))
    ):
        chiefs.setdefault(rep.side, rep)
    return chiefs


def plan_signing(
    session: Session, actor: Actor, case: Case, *, signed_on: date, now: datetime, signer_spec: str | None
) -> RenderJob:
    """Check that the case may be signed now and build the job that renders and signs it."""
    statuses = engine.allowed_actions(
        session, case, actor, calendar=runtime.calendar_loader(session), now=now
    )
    status = next((st for st in statuses if st.trigger == "sign"), None)
    if status is None:
        raise TransitionRefused(f"当前阶段为“{_state_label(case)}”，不能签署协议。")
    view = agreement_view(session, case)
    if view is None or not view["approved"]:
        raise TransitionRefused(
            _not_approved_message(view), details={"reasons": [_not_approved_message(view)]}
        )
    if not status.allowed:
        raise TransitionRefused(
            "不能签署：" + "；".join(status.reasons), details={"reasons": list(status.reasons)}
        )
    if signed_on > legal_date(now):
        raise ValidationError(
            f"签字日期（{signed_on.isoformat()}）不能晚于今天（{legal_date(now).isoformat()}）。"
        )
    chiefs = _chiefs(session, case)
    context = build_context(
        session, case, "signed_agreement", None, now=now, author=actor.name,
        signing={"signed_on": signed_on.isoformat(), "order": list(SIGNING_ORDER)},
    )  # fmt: skip
    parties = []
    for side in SIGNING_ORDER:
        rep = chiefs.get(side)
        if rep is None:
            raise ValidationError(
                f"{'企业方' if side == 'employer' else '职工方'}尚未确定首席代表，不能签署。"
            )
        parties.append(
            SigningParty(
                side=side,
                name=rep.name,
                person_key=rep.person_key,
                organisation=context["parties"][side]["name"],
                field_name=SIGNATURE_FIELDS[side],
            )
        )
    return RenderJob(
        key=case.number,
        kind="signed_agreement",
        template=template_name("signed_agreement", case.kind),
        context=context,
        anchor_ids=tuple(SIGNATURE_FIELDS[s] for s in SIGNING_ORDER),
        parties=tuple(parties),
        signer_spec=signer_spec,
        reason=context["agreement"]["text"]["title"],
        location=context["federation"]["name"],
    )


def commit_signed(
    db: Database,
    actor: Actor,
    *,
    case_id: int,
    expected_version: int,
    job: RenderJob,
    output: RenderOutput,
    backend: str,
    now: datetime,
    request_id: str | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Store the signed PDF and, in one transaction, fire ``sign`` and record the signatures."""
    assert output.signed_pdf is not None
    # The unsigned rendering is the first revision of the signed file, byte for byte (PAdES
    # signatures are incremental updates), so only the signed file is stored.
    assert output.signed_pdf.startswith(output.pdf)
    signed_path = storage.put(output.signed_pdf, ".pdf", now=now)
    signed_sha = storage.sha256(output.signed_pdf)
    try:
        with unit_of_work(db) as uow:
            s = uow.session
            case = get_case(s, actor, case_id, for_update=True)
            if case.version != expected_version:
                raise Conflict(f"协商 {case.number} 在签署过程中已被他人修改，请重新签署。")
            view = agreement_view(s, case)
            if view is None or not view["approved"] or view["content_hash"] != output.content_hash:
                raise Conflict(_not_approved_message(view))
            signed_on = job.context["signing"]["signed_on"]
            chiefs = {p.side: p.name for p in job.parties}
            result = engine.fire(
                s, case, "sign", actor,
                values={
                    "signed_on": signed_on,
                    "worker_signatory": chiefs.get("worker"),
                    "employer_signatory": chiefs.get("employer"),
                },
                calendar=runtime.calendar_loader(s), now=now, request_id=request_id,
            )  # fmt: skip
            document = s.scalar(select(Document).where(Document.event_id == result.event.id))
            assert document is not None
            rendering = _record_rendering(
                s, case_id=case.id, document_id=document.id, kind="signed_agreement", job=job,
                output=output, path=signed_path, actor=actor, now=now,
            )  # fmt: skip
            document.template_name = output.template
            document.template_version = output.template_version
            document.template_hash = output.template_hash
            document.pdf_sha256 = signed_sha
            document.storage_path = signed_path
            applied: list[AppliedSignature] = output.signatures
            for sig in applied:
                s.add(
                    Signature(
                        case_id=case.id,
                        document_id=document.id,
                        rendering_id=rendering.id,
                        sequence=sig.sequence,
                        side=sig.party.side,
                        role_label=sig.party.role_label,
                        signer_name=sig.party.name,
                        field_name=sig.party.field_name,
                        backend=backend,
                        test_certificate=sig.test_certificate,
                        certificate_subject=sig.certificate_subject,
                        certificate_issuer=sig.certificate_issuer,
                        certificate_serial=sig.certificate_serial,
                        certificate_sha256=sig.certificate_sha256,
                        text_hash=output.content_hash,
                        revision_sha256=sig.revision_sha256,
                        signed_at=sig.signed_at,
                    )
                )
            summary = case_summary(case)
            summary.update(
                {
                    "document_id": document.id,
                    "rendering_id": rendering.id,
                    "pdf_sha256": signed_sha,
                    "text_hash": output.content_hash,
                    "signed_on": signed_on,
                    "signatures": [
                        {
                            "sequence": sig.sequence,
                            "role": sig.party.role_label,
                            "name": sig.party.name,
                            "certificate_serial": sig.certificate_serial,
                            "test_certificate": sig.test_certificate,
                            "signed_at": sig.signed_at.isoformat(),
                        }
                        for sig in applied
                    ],
                    "notes": list(notes),
                }
            )
    except BaseException:
        storage.remove(signed_path)
        raise
    return summary


def sign_agreement(
    db: Database,
    actor: Actor,
    case_ref: str | int,
    *,
    signed_on: date | None = None,
    signer: Signer | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Both chief representatives sign the congress-approved text (PAdES, in SIGNING_ORDER).

    Refused unless the ``sign`` action is allowed now — in particular when the agreement's text
    hash differs from the one the congress approved, or a piece rate is below the floor.
    """
    from . import rendering
    from .signing import load_signer

    require_role(actor, STAFF, "签署集体合同")
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        case = get_case(uow.session, actor, case_ref)  # scope first: an outside case is not found
        version, case_id = case.version, case.id
        job = plan_signing(
            uow.session, actor, case, signed_on=signed_on or legal_date(now), now=now, signer_spec=None
        )
    signer = signer or load_signer()
    notes = signer.prepare(job.parties)
    output = rendering.run(job, signer=signer)
    return commit_signed(
        db, actor, case_id=case_id, expected_version=version, job=job, output=output,
        backend=signer.backend, now=now, request_id=request_id, notes=notes,
    )  # fmt: skip


# --- scans --------------------------------------------------------------------------------------


def _scan_type(data: bytes) -> tuple[str, str]:
    for magic, content_type, suffix in SCAN_TYPES:
        if data.startswith(magic):
            return content_type, suffix
    raise ValidationError("扫描件应为PDF、PNG、JPEG或TIFF文件。")


def store_scan(
    db: Database,
    actor: Actor,
    case_ref: str | int,
    kind: str,
    filename: str,
    data: bytes,
    *,
    note: str | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Store a scanned, wet-ink signed copy of a case's document, with its SHA-256."""
    require_role(actor, STAFF, "上传扫描件")
    kind = normalise_kind(kind)
    if kind == AGREEMENT:
        kind = "signed_agreement"
    if not data:
        raise ValidationError("上传的文件是空的。")
    if len(data) > MAX_SCAN_BYTES:
        raise ValidationError(f"扫描件不能超过{MAX_SCAN_BYTES // (1024 * 1024)}MB。")
    content_type, suffix = _scan_type(data)
    clean_name = (
        re.sub(r"[\x00-\x1f]", "", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()[:255]
        or f"scan{suffix}"
    )
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        case = get_case(uow.session, actor, case_ref)
        find_document(uow.session, case, kind)  # the stage must have happened
    path = storage.put(data, suffix, now=now)
    digest = storage.sha256(data)
    try:
        with unit_of_work(db) as uow:
            s = uow.session
            case = get_case(s, actor, case_ref)
            document = find_document(s, case, kind)
            view = agreement_view(s, case) if kind == "signed_agreement" else None
            scan = ScannedCopy(
                case_id=case.id,
                document_id=document.id,
                kind=kind,
                filename=clean_name,
                content_type=content_type,
                size_bytes=len(data),
                sha256=digest,
                storage_path=path,
                text_hash=view["approved_text_hash"] if view else None,
                note=note,
                uploaded_by_id=actor.user_id,
                uploaded_by=actor.name,
                uploaded_at=now,
            )
            s.add(scan)
            s.flush()
            write_event(
                s, case, "upload_scan", actor=actor, role=actor.primary_role(STAFF), now=now,
                from_state=case.state, to_state=case.state,
                payload={"kind": kind, "scan_id": scan.id, "sha256": digest, "filename": clean_name},
                request_id=request_id,
            )  # fmt: skip
            result = {
                "id": scan.id,
                "case": case.number,
                "kind": kind,
                "title": DOCUMENTS.get(kind, kind),
                "document_id": document.id,
                "filename": clean_name,
                "content_type": content_type,
                "size_bytes": len(data),
                "sha256": digest,
                "text_hash": scan.text_hash,
                "uploaded_at": now.isoformat(),
            }
    except BaseException:
        storage.remove(path)
        raise
    return result


def get_scan(db: Database, actor: Actor, scan_id: int) -> tuple[bytes, dict[str, Any]]:
    with unit_of_work(db, write=False) as uow:
        scan = uow.session.get(ScannedCopy, scan_id)
        if scan is None:
            raise NotFound(f"找不到扫描件 {scan_id}。")
        get_case(uow.session, actor, scan.case_id)
        meta = {"filename": scan.filename, "content_type": scan.content_type, "sha256": scan.sha256}
        path = scan.storage_path
    return storage.get(path, meta["sha256"]), meta


# --- listings -----------------------------------------------------------------------------------


@dataclass
class PendingReport:
    rendered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def list_documents(db: Database, actor: Actor, case_ref: str | int) -> dict[str, Any]:
    """Every document of a case with its rendering, signatures and scans (for the case page)."""
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = get_case(s, actor, case_ref)
        documents = list(s.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id)))
        signatures = list(
            s.scalars(select(Signature).where(Signature.case_id == case.id).order_by(Signature.id))
        )
        scans = list(
            s.scalars(select(ScannedCopy).where(ScannedCopy.case_id == case.id).order_by(ScannedCopy.id))
        )
        view = agreement_view(s, case)
        items = []
        for d in documents:
            items.append(
                {
                    "id": d.id,
                    "kind": d.kind,
                    "title": d.title,
                    "created_at": d.created_at.isoformat(),
                    "rendered": d.pdf_sha256 is not None,
                    "template": d.template_name,
                    "template_version": d.template_version,
                    "pdf_sha256": d.pdf_sha256,
                    "signatures": [
                        {
                            "sequence": g.sequence,
                            "role": g.role_label,
                            "name": g.signer_name,
                            "signed_at": g.signed_at.isoformat(),
                            "test_certificate": g.test_certificate,
                            "certificate_serial": g.certificate_serial,
                        }
                        for g in signatures
                        if g.document_id == d.id
                    ],
                    "scans": [
                        {
                            "id": c.id,
                            "filename": c.filename,
                            "sha256": c.sha256,
                            "uploaded_at": c.uploaded_at.isoformat(),
                        }
                        for c in scans
                        if c.document_id == d.id
                    ],
                }
            )
        return {
            "case": case.number,
            "documents": items,
            "agreement": (
                {
                    "content_hash": view["content_hash"],
                    "approved_text_hash": view["approved_text_hash"] or None,
                    "approved": view["approved"],
                }
                if view
                else None
            ),
            "can_sign": case.state == "awaiting_signature",
        }


def render_pending(
    db: Database, actor: Actor, case_ref: str | int | None = None, *, limit: int = 500
) -> PendingReport:
    """Render every document that has no PDF yet (after their actions committed)."""
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        cases = visible_cases(actor).with_only_columns(Case.id)
        if case_ref is not None:
            cases = cases.where(Case.id == get_case(s, actor, case_ref).id)
        rows = s.execute(
            select(Document.id, Document.kind, Case.number)
            .join(Case, Case.id == Document.case_id)
            .where(Document.pdf_sha256.is_(None), Document.case_id.in_(cases.scalar_subquery()))
            .order_by(Document.id)
            .limit(limit)
        ).all()
    report = PendingReport()
    for doc_id, kind, number in rows:
        try:
            render_document(db, actor, number, kind, document_id=doc_id)
            report.rendered.append(f"{number} {DOCUMENTS.get(kind, kind)}")
        except DomainError as exc:
            report.failed.append(f"{number} {DOCUMENTS.get(kind, kind)}：{exc.message}")
    return report
