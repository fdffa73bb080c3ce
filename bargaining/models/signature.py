"""Rendered and signed documents: each rendering, each signature, each uploaded scan.

A ``Document`` (case.py) is what a stage recorded; a ``DocumentRendering`` is one PDF made from it
(template name, version and hash, the full context it was rendered from, the PDF's SHA-256), so
the same bytes can be produced again; a ``Signature`` is one PAdES signature applied to a
rendering, in signing order; a ``ScannedCopy`` is a wet-ink signed paper copy uploaded instead.
Files live in the document store (``BARGAINING_STORAGE_DIR``); rows hold their SHA-256 and path.
Private keys never appear here: certificates are described by subject, serial and fingerprint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, utcnow


class DocumentRendering(Base):
    """One PDF rendered from a template; ``document_id`` is None for a draft agreement preview."""

    __tablename__ = "document_renderings"
    __table_args__ = (Index("ix_document_renderings_case_kind", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    template_name: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[str] = mapped_column(String(32))
    template_hash: Mapped[str] = mapped_column(String(64))
    # The complete template context (JSON) and its SHA-256: rendering it again with the same
    # template version gives the same bytes.
    context: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    context_sha256: Mapped[str] = mapped_column(String(64))
    # For agreement texts: the canonical content hash the PDF carries (compare approved_text_hash).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    pages: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    rendered_by: Mapped[str] = mapped_column(String(100))
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Base):
    """A PAdES signature of a chief representative on a rendered agreement, in signing order."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("rendering_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    rendering_id: Mapped[int] = mapped_column(ForeignKey("document_renderings.id"))
    sequence: Mapped[int]  # 1 = signed first
    side: Mapped[str] = mapped_column(String(16))  # worker | employer
    role_label: Mapped[str] = mapped_column(String(50))  # 企业方首席代表 …
    signer_name: Mapped[str] = mapped_column(String(100))
    field_name: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(64))  # which Signer implementation signed
    test_certificate: Mapped[bool] = mapped_column(default=False)
    certificate_subject: Mapped[str] = mapped_column(Text)
    certificate_issuer: Mapped[str] = mapped_column(Text)
    certificate_serial: Mapped[str] = mapped_column(String(64))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str | None] = mapped_column(String(64))  # the congress-approved hash signed
    revision_sha256: Mapped[str] = mapped_column(String(64))  # the PDF bytes right after this signature
    signed_at: Mapped[datetime]


class ScannedCopy(Base):
    """A scanned, wet-ink signed copy (扫描件) uploaded instead of, or besides, an e-signed PDF."""

    __tablename__ = "scanned_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    text_hash: Mapped[str | None] = mapped_column(String(64))  # agreement kinds: approved hash at upload
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["DocumentRendering", "ScannedCopy", "Signature"]
