"""Documents: render (WeasyPrint) and sign (pyHanko) PDFs from contracts_templates/.

Importing this package is cheap: WeasyPrint and pyHanko are imported only when a document is
rendered, signed or verified. Entry points for the CLI and the web app:

- ``register(app)`` adds ``document …``, ``keys …`` and ``verify`` to the ``bargaining`` command;
- ``render_document``, ``sign_agreement``, ``verify_pdf``, ``store_scan``, ``list_documents``,
  ``render_pending``, ``render_all`` are plain functions (one use case each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "BulkReport",
    "RenderedDocument",
    "VerificationReport",
    "check_runtime",
    "get_scan",
    "list_documents",
    "register",
    "render_all",
    "render_document",
    "render_pending",
    "reproduce",
    "sign_agreement",
    "store_scan",
    "verify_pdf",
]

_WHERE = {
    "BulkReport": "bulk",
    "render_all": "bulk",
    "RenderedDocument": "api",
    "get_scan": "api",
    "list_documents": "api",
    "render_document": "api",
    "render_pending": "api",
    "reproduce": "api",
    "sign_agreement": "api",
    "store_scan": "api",
    "VerificationReport": "verify",
    "verify_pdf": "verify",
    "register": "cli",
}

if TYPE_CHECKING:
    from .api import (
        RenderedDocument,
        get_scan,
        list_documents,
        render_document,
        render_pending,
        reproduce,
        sign_agreement,
        store_scan,
    )
    from .bulk import BulkReport, render_all
    from .cli import register
    from .verify import VerificationReport, verify_pdf


def check_runtime() -> list[str]:
    """Problems that stop PDF rendering (missing hb-subset, missing fonts), in Chinese; call at start-up."""
    from .startup import problems

    return list(problems())


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
