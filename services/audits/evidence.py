"""Evidence files (工资台账、工资条、考勤记录、整改证明 …).

Stored outside the web root under ``$BARGAINING_STORAGE_DIR/evidence`` (default
``var/documents/evidence``) with generated names, never the uploader's; the SHA-256 is recorded;
they are served only as downloads (``Content-Disposition: attachment``, ``nosniff``). Uploads are
limited in size and to a few types whose content must match the extension (ASVS 5.2.1–5.2.2,
5.3.2, 5.4.1).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import DomainError, NotFound, ValidationError
from bargaining.models.audit import Evidence, Finding, Rectification
from workflows.audit_engine import record

from .. import runtime
from ..uow import unit_of_work
from .repository import changing_audit_case, get_audit_case, require_auditor

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 200


class TooLarge(DomainError):
    code = "too_large"
    http_status = 413


@dataclass(frozen=True)
class FileType:
    extensions: tuple[str, ...]
    content_type: str
    label: str


TYPES = (
    FileType(("pdf",), "application/pdf", "PDF"),
    FileType(("jpg", "jpeg"), "image/jpeg", "JPEG 图片"),
    FileType(("png",), "image/png", "PNG 图片"),
    FileType(("xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 工作簿"),
    FileType(
        ("docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档"
    ),
    FileType(("csv",), "text/csv", "CSV 表格"),
    FileType(("txt",), "text/plain", "文本"),
)
ALLOWED = "、".join(f".{'/.'.join(t.extensions)}" for t in TYPES)


def storage_dir() -> Path:
    return Path(os.environ.get("BARGAINING_STORAGE_DIR") or Path("var") / "documents") / "evidence"


def _file_type(filename: str) -> FileType:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    for file_type in TYPES:
        if ext in file_type.extensions:
            return file_type
    raise ValidationError(f"不支持的文件类型“.{ext}”。可上传：{ALLOWED}，每个文件不超过10MB。")


def _zip_has(content: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith(member) for n in names)


def content_matches(file_type: FileType, content: bytes) -> bool:
    """Whether the bytes are what the extension says (magic numbers; OOXML parts; text is UTF-8)."""
    ext = file_type.extensions[0]
    if ext == "pdf":
        return content.startswith(b"%PDF-")
    if ext == "jpg":
        return content.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if ext == "xlsx":
        return content.startswith(b"PK\x03\x04") and _zip_has(content, "xl/")
    if ext == "docx":
        return content.startswith(b"PK\x03\x04") and _zip_has(content, "word/")
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean_name(filename: str) -> str:
    """The uploader's file name as shown and offered on download: no paths, no control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        raise ValidationError("文件名无效。")
    return name[-MAX_NAME:]


def check_upload(filename: str, content: bytes) -> tuple[str, FileType]:
    name = clean_name(filename)
    file_type = _file_type(name)
    if not content:
        raise ValidationError("文件是空的。")
    if len(content) > MAX_BYTES:
        raise TooLarge(f"文件过大（{len(content) / 1024 / 1024:.1f}MB），每个文件不超过10MB。")
    if not content_matches(file_type, content):
        raise ValidationError(f"文件内容与扩展名不符：“{name}”不是有效的{file_type.label}文件。")
    return name, file_type


def store_evidence(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    filename: str,
    content: bytes,
    finding_id: int | None = None,
    rectification_id: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Check and store an evidence file for an audit case (optionally a finding or rectification)."""
    require_auditor(actor, "上传证据")
    now = now or runtime.utcnow()
    name, file_type = check_upload(filename, content)
    digest = hashlib.sha256(content).hexdigest()
    stored_name = secrets.token_hex(16)
    directory = storage_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / stored_name
    temp = directory / f".{stored_name}.part"
    with open(temp, "xb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    try:
        with changing_audit_case(db, actor, ref) as (s, case):
            if case.state in ("closed", "withdrawn"):
                raise ValidationError("检查已结案，不能再上传证据。")
            if finding_id is not None:
                finding = s.get(Finding, finding_id)
                if finding is None or finding.audit_case_id != case.id:
                    raise NotFound("找不到该检查发现。")
            if rectification_id is not None:
                item = s.get(Rectification, rectification_id)
                if item is None or item.audit_case_id != case.id:
                    raise NotFound("找不到该整改事项。")
            evidence = Evidence(
                audit_case_id=case.id,
                finding_id=finding_id,
                rectification_id=rectification_id,
                original_name=name,
                stored_name=stored_name,
                content_type=file_type.content_type,
                size=len(content),
                sha256=digest,
                note=(note or "").strip() or None,
                uploaded_by_id=actor.user_id,
                uploaded_at=now,
            )
            s.add(evidence)
            s.flush()
            record(
                s,
                case,
                "upload_evidence",
                actor,
                now=now,
                payload={
                    "evidence_id": evidence.id,
                    "name": name,
                    "sha256": digest,
                    "size": len(content),
                    "finding_id": finding_id,
                    "rectification_id": rectification_id,
                },
                request_id=request_id,
            )
            return evidence_summary(evidence)
    except BaseException:
        path.unlink(missing_ok=True)  # nothing refers to it: the transaction rolled back
        raise


def open_evidence(db: Database, actor: Actor, evidence_id: int) -> tuple[Path, Evidence]:
    """The stored file and its row, if the actor may see the audit case; its hash is re-checked."""
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        evidence = s.get(Evidence, evidence_id)
        try:
            if evidence is not None:
                get_audit_case(s, actor, evidence.audit_case_id)  # region scope: NotFound if not visible
        except NotFound:
            evidence = None  # out of scope answers as a missing file does (the case id is not shown)
        if evidence is None:
            raise NotFound("找不到该证据文件。")
    path = storage_dir() / evidence.stored_name
    if not path.is_file():
        raise NotFound("证据文件已不在存储目录中，请联系管理员。")
    if hashlib.sha256(path.read_bytes()).hexdigest() != evidence.sha256:
        raise ValidationError("证据文件的SHA-256与登记时不一致，文件可能已被改动，请联系管理员。")
    return path, evidence


def evidence_summary(evidence: Evidence) -> dict[str, Any]:
    return {
        "id": evidence.id,
        "name": evidence.original_name,
        "size": evidence.size,
        "content_type": evidence.content_type,
        "sha256": evidence.sha256,
        "finding_id": evidence.finding_id,
        "rectification_id": evidence.rectification_id,
        "note": evidence.note,
        "uploaded_at": evidence.uploaded_at.isoformat(),
    }
