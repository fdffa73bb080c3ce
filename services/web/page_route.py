"""``@page``: a page handler written as plain code, run for its user in the thread pool, never on the loop.

A page's work blocks: sign-in and the use case read and write the database, argon2 and WeasyPrint
spend CPU for seconds at a time. On the event loop that would stall every other request of the
worker (and uvicorn's health check); as a sync dependency before a sync handler it cost two
hand-offs per request. ``@page`` does what every page needs, once:

- a page (GET): in one worker thread, the user is signed in (``page_context``) and the handler runs;
- a submitted form (any other method): the sender is signed in in a worker thread, the form is read
  on the event loop (that is I/O), then in a worker thread its CSRF token is checked against the
  session's and the handler runs with ``ctx`` and, if it asks for it, ``form``.

FastAPI sees the handler's other parameters (path and query values, ``request``) unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints, overload

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from . import security
from .context import SAFE_METHODS, CsrfRefused, RequestContext, page_context

R = TypeVar("R")
_INJECTED = ("ctx", "form")


@dataclass
class SubmittedForm:
    """A submitted form whose CSRF token matched: its text fields (the token removed), and the
    multi-dict behind them for repeated fields and files."""

    values: dict[str, str]
    data: FormData

    def getlist(self, key: str) -> list[str]:
        """The non-blank text values of a repeated field (checkboxes, multiple selects)."""
        return [v for v in self.data.getlist(key) if isinstance(v, str) and v.strip()]

    def file(self, key: str) -> UploadFile | None:
        """The uploaded file of ``key``; None when none was chosen."""
        value = self.data.get(key)
        return value if isinstance(value, UploadFile) and value.filename else None


@overload
def page(handler: Callable[..., R]) -> Callable[..., Awaitable[R]]: ...


@overload
def page(*, form_limit: int | None = None) -> Callable[[Callable[..., R]], Callable[..., Awaitable[R]]]: ...


def page(handler: Callable[..., R] | None = None, *, form_limit: int | None = None) -> Any:
    """Turn ``handler(…, ctx, [form])`` into the async route described in the module's docstring.

    ``form_limit``: a form whose declared Content-Length exceeds this many bytes is not read (nor
    spooled anywhere); the handler gets ``form=None`` and answers with its own refusal.
    """
    if handler is None:
        return functools.partial(page, form_limit=form_limit)
    return _wrap(handler, form_limit)


def _wrap(handler: Callable[..., R], form_limit: int | None) -> Callable[..., Awaitable[R]]:
    signature = inspect.signature(handler)
    names = frozenset(signature.parameters)
    if "ctx" not in names:
        raise TypeError(f"{handler.__qualname__}: a @page handler takes ctx")
    wants_form, wants_request = "form" in names, "request" in names
    hints = get_type_hints(handler, include_extras=True)  # FastAPI reads types, not the module's strings
    if wants_form and SubmittedForm not in (hints.get("form"), *getattr(hints.get("form"), "__args__", ())):
        raise TypeError(
            f"{handler.__qualname__}: ``form`` is the submitted form (SubmittedForm), not a parameter"
        )
    outer = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name not in _INJECTED
    ]
    if not wants_request:
        outer.insert(
            0, inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
        )

    async def endpoint(**kwargs: Any) -> R:
        request: Request = kwargs["request"] if wants_request else kwargs.pop("request")
        if request.method in SAFE_METHODS:
            return await run_in_threadpool(lambda: handler(ctx=page_context(request), **kwargs))
        # A submitted form: the sender is signed in before its body is read, so nobody unknown
        # makes the worker read or spool an upload; then the form, then the work.
        ctx = await run_in_threadpool(page_context, request)
        form = None if _too_large(request, form_limit) else await request.form()
        try:
            return await run_in_threadpool(_submit, handler, ctx, form, wants_form, kwargs)
        finally:
            if form is not None:
                await form.close()  # uploads spooled to disk are removed now, not at collection

    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=outer, return_annotation=hints.get("return", signature.return_annotation)
    )
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(endpoint, attribute, getattr(handler, attribute))
    return endpoint


def _submit(
    handler: Callable[..., R],
    ctx: RequestContext,
    form: FormData | None,
    wants_form: bool,
    kwargs: dict[str, Any],
) -> R:
    """The form's CSRF token checked against the session's, then the handler."""
    submitted = None
    if form is not None:
        values = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
        if not security.csrf_matches(ctx.csrf_token, values.pop("csrf_token", None)):
            raise CsrfRefused("表单已失效（CSRF 校验失败），请刷新页面后重试。")
        submitted = SubmittedForm(values, form)
    if wants_form:
        kwargs["form"] = submitted
    return handler(ctx=ctx, **kwargs)


def _too_large(request: Request, limit: int | None) -> bool:
    length = request.headers.get("content-length", "")
    return limit is not None and length.isdigit() and int(length) > limit
