"""The web application: server-rendered Chinese pages and the JSON API, stateless between requests.

Every page and endpoint resolves the caller once (services/web/context.py) and reaches data only
through the region-scoped repository (services/repository.py). The deadline sweep runs in one
process: inside ``serve`` as the leader of an advisory lock (PostgreSQL) or file lock (SQLite).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError as SQLDataError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bargaining.config import Settings, check_production_ready, load_settings
from bargaining.db import Database
from bargaining.errors import DomainError, Forbidden, NotFound

from .. import runtime
from ..uow import unit_of_work
from . import api, audit_pages, document_pages, pages, report_pages
from .context import NeedsSignIn, RequestContext, request_id
from .render import render

log = logging.getLogger("bargaining.web")
STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)
NO_STORE = ("cache-control", "no-store")  # everything but /static
# As ASGI sends them, built once (every response carries them).
_RAW_HEADERS = tuple((k.encode(), v.encode()) for k, v in SECURITY_HEADERS)
_RAW_NO_STORE = (NO_STORE[0].encode(), NO_STORE[1].encode())


def _no_store(path: str) -> bool:
    return not path.startswith("/static")


def _set_security_headers(headers: MutableHeaders, path: str) -> None:
    for name, value in SECURITY_HEADERS:
        headers[name] = value
    if _no_store(path):
        headers[NO_STORE[0]] = NO_STORE[1]


def _security_headers(request: Request, response: Response) -> Response:
    _set_security_headers(response.headers, request.url.path)
    return response


class ResponseHeaders:
    """The request id and the security headers on every response; a 403 or 404 a page shows
    itself (e.g. inline next to its form) is logged as refused access here.

    Plain ASGI, wrapping ``send``: Starlette's ``@app.middleware("http")`` would run every request
    in a task of its own with a stream in between, which costs each API call time for nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # shares the scope's state with the handlers' requests
        added = [*_RAW_HEADERS, (b"x-request-id", request_id(request).encode("latin-1"))]
        if _no_store(scope["path"]):
            added.append(_RAW_NO_STORE)
        replaced = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] in (403, 404):
                    await _log_refusal(request, f"HTTP {message['status']}")
                # Ours replace any the response set itself under the same names.
                kept = [h for h in message.get("headers", ()) if h[0].lower() not in replaced]
                message["headers"] = kept + added
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error_json(code: str, message: str, status: int, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}}, status_code=status
    )


async def _log_refusal(request: Request, reason: str) -> None:
    ctx = getattr(request.state, "ctx", None)
    if ctx is None or getattr(request.state, "refusal_handled", False):
        return
    request.state.refusal_handled = True
    log.warning("refused %s %s for %s: %s", request.method, request.url.path, ctx.username, reason)
    # Its event is a write: in the thread pool, not on the event loop (see page_route).
    await run_in_threadpool(_record_refusal, ctx, request.method, request.url.path[:300], reason)


def _record_refusal(ctx: RequestContext, method: str, path: str, reason: str) -> None:
    from workflows.events import write_event

    try:
        with unit_of_work(ctx.db) as uow:
            write_event(
                uow.session,
                None,
                "access_denied",
                actor=ctx.actor,
                role=",".join(sorted(ctx.roles))[:32],  # events.role is VARCHAR(32)
                now=runtime.utcnow(),
                reason=reason,
                request_id=ctx.request_id,
                payload={"method": method, "path": path},
            )
    except Exception:  # logging a refusal must never turn it into a 500
        log.exception("could not record refused access")


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, scheduler: bool | None = None
) -> FastAPI:
    settings = settings or load_settings()
    check_production_ready(settings)
    database = db or runtime.database(settings.database_url)
    run_scheduler = scheduler if scheduler is not None else os.environ.get("BARGAINING_SCHEDULER", "1") != "0"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = None
        if run_scheduler:
            from ..scheduler import start_background

            background = start_background(database)
        yield
        if background is not None:
            background()

    app = FastAPI(
        title="工资集体协商流程引擎 API",
        version="1.0.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN, which the CSP (and a closed network) forbid;
        # the description is served as /openapi.json.
        docs_url=None,
        redoc_url=None,
        description="工资集体协商：协商案件、流程操作、期限、时间线。认证：`Authorization: Bearer <令牌>`"
        "（`bargaining token create`）。所有变更须提供 expected_version。",
    )
    app.state.settings = settings
    app.state.db = database
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(audit_pages.router)
    app.include_router(document_pages.router)
    app.include_router(document_pages.api_router)
    app.include_router(report_pages.router)

    app.add_middleware(ResponseHeaders)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, Forbidden | NotFound):
            await _log_refusal(request, exc.message)
        request.state.refusal_handled = True  # other refusals (CSRF, sign-in) are not access_denied
        if _is_api(request):
            return _error_json(exc.code, exc.message, exc.http_status, exc.details)
        if isinstance(exc, NeedsSignIn):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return render(
            request,
            "error.html",
            {"message": exc.message, "status": exc.http_status},
            status_code=exc.http_status,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        if _is_api(request):
            return _error_json("invalid_request", "请求格式不正确。", 422, {"problems": problems})
        return render(request, "error.html", {"message": "请求格式不正确。", "status": 422}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "页面不存在。", 405: "不支持的请求方法。", 413: "提交的内容过大。"}.get(
            exc.status_code, str(exc.detail)
        )
        if _is_api(request):
            response: Response = _error_json("http_error", message, exc.status_code)
        else:
            response = render(
                request,
                "error.html",
                {"message": message, "status": exc.status_code},
                status_code=exc.status_code,
            )
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(SQLDataError)
    @app.exception_handler(OverflowError)
    async def unusable_input(request: Request, exc: Exception) -> Response:
        # e.g. a NUL byte PostgreSQL cannot store, or an id beyond the database's integer range
        log.info("unusable input on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        message = "请求中含有无法处理的数据（如不可见的控制字符或超出范围的数字）。"
        if _is_api(request):
            return _error_json("invalid_request", message, 422)
        return render(request, "error.html", {"message": message, "status": 422}, status_code=422)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _is_api(request):
            return _security_headers(
                request,
                _error_json(
                    "internal_error", "服务器内部错误，已记录。", 500, {"request_id": request_id(request)}
                ),
            )
        return _security_headers(
            request, HTMLResponse("<h1>服务器内部错误</h1><p>已记录，请联系管理员。</p>", status_code=500)
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:  # on the loop: no wait behind busy thread-pool slots
        return {"status": "ok"}

    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn (``--factory``): each worker builds its own app."""
    return create_app()
