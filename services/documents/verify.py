"""Verifying a PDF: every signature, who signed and when, whether the file changed afterwards,
and whether the agreement text it carries is the one the worker congress approved.

Decision on pyHanko's ``bottom_line``: a signature counts as valid only when ``bottom_line`` is
True. It is the conjunction of ``intact`` (the signed bytes are unchanged), ``valid`` (the
cryptographic signature checks), ``trusted`` (the certificate chains to a root we trust, with
revocation information), a valid and trusted signature timestamp, seed-value compliance, and
``docmdp_ok`` (what was added after the signature is allowed: later signatures into the
pre-created fields and validation data, nothing else). ``valid`` alone is not enough: flipping
one byte of the signed content leaves ``valid`` True but makes ``intact`` — and so
``bottom_line`` — False; an incremental edit of a page after signing keeps ``intact`` True but
makes ``docmdp_ok`` False. Both are tested. The report still shows each ingredient, so "not
trusted" (e.g. a test certificate checked on a machine without the test CA) is told apart from
"changed".
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bargaining.agreement_text import content_hash
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import Agreement, Case, Document, DocumentRendering
from services.uow import unit_of_work

from . import keys

ATTACHMENT = "bargaining-document.json"
ACCEPTED_LATER = ("NONE", "LTA_UPDATES", "FORM_FILLING")
MODIFICATION_LABELS = {
    "NONE": "签名后未改动",
    "LTA_UPDATES": "签名后仅追加了验证信息或时间戳",
    "FORM_FILLING": "签名后仅在预留签名栏中追加了签名",
    "ANNOTATIONS": "签名后被添加了批注",
    "OTHER": "签名后文件内容被修改",
}


@dataclass
class SignatureCheck:
    field: str
    signer: str
    subject: str
    issuer: str
    serial: str
    signed_at: str | None
    timestamp: str | None
    timestamp_ok: bool | None
    intact: bool
    valid: bool
    trusted: bool
    docmdp_ok: bool | None
    bottom_line: bool
    coverage: str
    modification: str
    changed_after: bool
    test_certificate: bool
    summary: str


@dataclass
class VerificationReport:
    sha256: str
    size_bytes: int
    signatures: list[SignatureCheck] = field(default_factory=list)
    all_valid: bool = False
    changed_after_signing: bool = False
    case_number: str | None = None
    kind: str | None = None
    template: str | None = None
    content_hash: str | None = None
    content_hash_consistent: bool | None = None
    approved_text_hash: str | None = None
    matches_approved_text: bool | None = None
    matches_record: bool | None = None
    messages: list[str] = field(default_factory=list)
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cn(value: Any) -> str:
    try:
        return str(value.native["common_name"])
    except (KeyError, AttributeError, TypeError):
        return str(value.human_friendly) if hasattr(value, "human_friendly") else str(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _embedded_files(reader: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return found

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if "/Names" in node:
            entries = node["/Names"]
            for index in range(0, len(entries) - 1, 2):
                name = str(entries[index])
                spec = entries[index + 1].get_object()
                try:
                    found[name] = spec["/EF"]["/F"].get_object().data
                except KeyError:
                    continue
        for kid in node.get("/Kids", []):
            walk(kid)

    walk(names)
    return found


def _check_signatures(reader: Any, report: VerificationReport) -> None:
    from pyhanko.sign.validation import validate_pdf_signature

    from .signing import validation_context

    test_ca = keys.test_ca_fingerprint()
    for embedded in reader.embedded_regular_signatures:
        context = validation_context(for_signing=False)
        status = validate_pdf_signature(embedded, signer_validation_context=context)
        cert = status.signing_cert
        issuer_cn = _cn(cert.issuer)
        unit = cert.subject.native.get("organizational_unit_name") or ""
        units = unit if isinstance(unit, list) else [unit]
        chain = status.validation_path
        chain_fingerprints = {hashlib.sha256(c.dump()).hexdigest() for c in chain} if chain else set()
        is_test = keys.TEST_UNIT in units or (test_ca is not None and test_ca in chain_fingerprints)
        modification = status.modification_level.name if status.modification_level is not None else "NONE"
        changed = (not status.intact) or modification not in ACCEPTED_LATER
        ts = status.timestamp_validity
        timestamp_ok = (ts.valid and ts.intact and ts.trusted) if ts is not None else None
        problems = []
        if not status.intact:
            problems.append("签名所覆盖的内容已被改动")
        if not status.valid:
            problems.append("签名值无法通过校验")
        if not status.trusted:
            problems.append("证书不受信任（未能链接到受信任的根证书）")
        if ts is None:
            problems.append("没有签名时间戳")
        elif not timestamp_ok:
            problems.append("签名时间戳无效或不受信任")
        if status.docmdp_ok is False or modification not in ACCEPTED_LATER:
            problems.append(MODIFICATION_LABELS.get(modification, modification))
        name = _cn(cert.subject)
        if status.bottom_line:
            summary = f"有效：{name}签署，{MODIFICATION_LABELS.get(modification, modification)}"
        else:
            summary = "无效：" + "；".join(problems or ["未通过校验"])
        if is_test:
            summary += "（测试证书，仅供测试，不具法律效力）"
        report.signatures.append(
            SignatureCheck(
                field=embedded.field_name,
                signer=name,
                subject=cert.subject.human_friendly,
                issuer=issuer_cn,
                serial=format(cert.serial_number, "x"),
                signed_at=_iso(status.signer_reported_dt),
                timestamp=_iso(ts.timestamp) if ts is not None else None,
                timestamp_ok=timestamp_ok,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                docmdp_ok=status.docmdp_ok,
                bottom_line=bool(status.bottom_line),
                coverage=status.coverage.name if status.coverage is not None else "",
                modification=modification,
                changed_after=changed,
                test_certificate=is_test,
                summary=summary,
            )
        )


def inspect_pdf(data: bytes) -> VerificationReport:
    """Signatures and embedded data of ``data``, without looking anything up."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    report = VerificationReport(sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    if not data.startswith(b"%PDF-"):
        raise ValidationError("上传的文件不是PDF文件。")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        _check_signatures(reader, report)
        attachment = _embedded_files(reader).get(ATTACHMENT)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ValidationError(f"无法解析该PDF文件：{exc}") from None
    report.changed_after_signing = any(s.changed_after for s in report.signatures)
    report.all_valid = bool(report.signatures) and all(s.bottom_line for s in report.signatures)
    if attachment is not None:
        try:
            payload = json.loads(attachment.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = {}
        report.case_number = payload.get("case_number")
        report.kind = payload.get("kind")
        template = payload.get("template") or {}
        report.template = f"{template.get('name')} {template.get('version')}" if template else None
        content = payload.get("content")
        report.content_hash = payload.get("content_hash")
        if content is not None and report.content_hash:
            report.content_hash_consistent = content_hash(content) == report.content_hash
    return report


def verify_pdf(db: Database, pdf_bytes: bytes) -> VerificationReport:
    """Inspect ``pdf_bytes`` and compare what it carries with the records."""
    report = inspect_pdf(pdf_bytes)
    if report.case_number:
        with unit_of_work(db, write=False) as uow:
            s = uow.session
            case = s.scalar(select(Case).where(Case.number == report.case_number))
            if case is not None:
                agreement = s.scalar(select(Agreement).where(Agreement.case_id == case.id))
                report.approved_text_hash = agreement.approved_text_hash if agreement else None
                if report.content_hash:
                    report.matches_approved_text = (
                        report.approved_text_hash is not None
                        and report.content_hash == report.approved_text_hash
                        and report.content_hash_consistent is True
                    )
                on_record = s.scalar(
                    select(Document.id).where(
                        Document.case_id == case.id, Document.pdf_sha256 == report.sha256
                    )
                ) or s.scalar(
                    select(DocumentRendering.id).where(
                        DocumentRendering.case_id == case.id, DocumentRendering.pdf_sha256 == report.sha256
                    )
                )
                report.matches_record = on_record is not None
    _summarise(report)
    return report


def _summarise(report: VerificationReport) -> None:
    lines = []
    if not report.signatures:
        lines.append("该文件没有电子签名。")
    for s in report.signatures:
        when = s.timestamp or s.signed_at or "时间不详"
        lines.append(f"签名栏 {s.field}：{s.signer}，{when}；{s.summary}")
    if report.changed_after_signing:
        lines.append("警告：文件在签名后被修改。")
    if report.content_hash:
        if report.content_hash_consistent is False:
            lines.append("文件所附协议数据与其声明的校验码不符。")
        if report.matches_approved_text is True:
            lines.append(f"协议文本校验码与协商 {report.case_number} 职代会审议通过的文本一致。")
        elif report.matches_approved_text is False:
            lines.append(f"协议文本校验码与协商 {report.case_number} 职代会审议通过的文本不一致。")
        elif report.case_number:
            lines.append(f"系统中找不到协商 {report.case_number}，无法比对职代会通过的文本。")
    if report.matches_record is True:
        lines.append("与系统存档的文件完全一致。")
    report.messages = lines
    ok = report.all_valid and not report.changed_after_signing and report.matches_approved_text is not False
    if not report.signatures:
        report.verdict = "未签名"
    elif ok and report.matches_approved_text:
        report.verdict = "签名有效，文本与职代会通过的文本一致"
    elif ok:
        report.verdict = "签名有效"
    else:
        report.verdict = "验证未通过"
