"""One rendering job: template + context → PDF bytes (and, for signing, the signed PDF).

Jobs are plain data so a process pool can run them; nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import startup, templating
from .context import canonical_json, context_sha256
from .verify import ATTACHMENT


@dataclass(frozen=True)
class RenderJob:
    key: str  # the caller's label (e.g. the case number)
    kind: str
    template: str
    context: dict[str, Any]
    anchor_ids: tuple[str, ...] = ()
    # Signing (optional): parties in order, the signer spec, and the text shown as the reason.
    parties: tuple[Any, ...] = ()
    signer_spec: str | None = None
    reason: str = ""
    location: str = ""
    context_sha256: str = ""  # computed once (when empty, from the context)

    def digest(self) -> str:
        return self.context_sha256 or context_sha256(self.context)


@dataclass
class RenderOutput:
    key: str
    template: str
    template_version: str
    template_hash: str
    context_sha256: str
    content_hash: str | None
    pdf: bytes  # unsigned, deterministic
    pdf_sha256: str
    pages: int
    anchors: dict[str, tuple[int, float, float, float, float]]
    signed_pdf: bytes | None = None
    signatures: list[Any] = field(default_factory=list)
    seconds_render: float = 0.0
    seconds_sign: float = 0.0


def attachment_payload(job: RenderJob, template_hash: str, template_version: str, digest: str) -> bytes:
    agreement = job.context.get("agreement") or {}
    return canonical_json(
        {
            "format": "bargaining-document",
            "schema": job.context.get("schema"),
            "case_number": job.context["case"]["number"],
            "kind": job.kind,
            "template": {"name": job.template, "version": template_version, "sha256": template_hash},
            "context_sha256": digest,
            "content_hash": agreement.get("content_hash")
            if job.kind in ("agreement", "signed_agreement")
            else None,
            "content": agreement.get("content") if job.kind in ("agreement", "signed_agreement") else None,
            "context": job.context,
        }
    )


_SIGNERS: dict[str, Any] = {}


def _signer(spec: str | None) -> Any:
    """One signer per process and spec (keys are decrypted once per worker)."""
    from .signing import load_signer

    key = spec or ""
    if key not in _SIGNERS:
        _SIGNERS[key] = load_signer(spec)
    return _SIGNERS[key]


def run(job: RenderJob, signer: Any = None) -> RenderOutput:
    """Render (and sign, when the job names parties) one document."""
    startup.require_rendering()
    from . import pdf as pdf_module

    started = time.perf_counter()
    digest = job.digest()
    info = templating.template(job.template)
    html = templating.render_html(job.template, job.context)
    as_of = job.context["meta"].get("as_of")
    rendered = pdf_module.render(
        html,
        templating.templates_dir(),
        attachments={ATTACHMENT: attachment_payload(job, info.sha256, info.version, digest)},
        attachment_time=datetime.fromisoformat(as_of) if as_of else None,
        anchor_ids=job.anchor_ids,
    )
    agreement = job.context.get("agreement") or {}
    output = RenderOutput(
        key=job.key,
        template=job.template,
        template_version=info.version,
        template_hash=info.sha256,
        context_sha256=digest,
        content_hash=agreement.get("content_hash") if job.kind in ("agreement", "signed_agreement") else None,
        pdf=rendered.pdf,
        pdf_sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        pages=rendered.pages,
        anchors=rendered.anchors,
        seconds_render=time.perf_counter() - started,
    )
    if job.parties:
        from .signing import sign_pdf

        started = time.perf_counter()
        signer = signer or _signer(job.signer_spec)
        output.signed_pdf, output.signatures = sign_pdf(
            rendered.pdf, rendered.anchors, job.parties, signer, reason=job.reason, location=job.location
        )
        output.seconds_sign = time.perf_counter() - started
    return output


def html_for(job: RenderJob) -> str:
    """The exact HTML a job renders (the benchmarks feed it to bare WeasyPrint)."""
    return templating.render_html(job.template, job.context)
