"""Who is asking: the signed-in user (session cookie) or a program (API token), resolved once per request."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from bargaining.actors import Actor
from bargaining.config import Settings
from bargaining.db import Database
from bargaining.errors import DomainError

from .. import runtime
from ..identity import ROLE_LABELS
from ..uow import unit_of_work
from . import security

SESSION_COOKIE = "bargaining_session"
LANG_COOKIE = "bargaining_lang"
log = logging.getLogger("bargaining.web")
# Methods that change nothing: no CSRF proof asked of them (pages and the cookie-authenticated API).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NeedsSignIn(DomainError):
    code = "not_signed_in"
    http_status = 401


class CsrfRefused(DomainError):
    code = "csrf"
    http_status = 403


@dataclass
class RequestContext:
    db: Database
    settings: Settings
    actor: Actor
    username: str
    display_name: str
    org_name: str
    roles: frozenset[str]
    csrf_token: str | None
    via_token: bool
    lang: str
    request_id: str
    now: datetime
    role_labels: list[str] = field(default_factory=list)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    if lang in ("zh", "en"):
        return lang
    return "zh"


def resolve(request: Request, *, allow_token: bool) -> RequestContext:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    now = runtime.utcnow()
    token = request.cookies.get(SESSION_COOKIE)
    bearer = request.headers.get("authorization", "")
    via_token = allow_token and bearer.lower().startswith("bearer ")
    holder = None
    if via_token or token:
        with db.single_read() as conn:
            if via_token:
                holder = security.token_user(conn, settings, bearer[7:].strip())
            elif token:
                holder = security.session_user(conn, settings, token, now)
    if holder is None:
        raise NeedsSignIn("请先登录。" if not via_token else "API 令牌无效或已撤销。")
    ctx = RequestContext(
        db=db,
        settings=settings,
        actor=Actor(
            user_id=holder.user_id, name=holder.display_name, roles=holder.roles, org_path=holder.org_path
        ),
        username=holder.username,
        display_name=holder.display_name,
        org_name=holder.org_name,
        roles=holder.roles,
        csrf_token=holder.csrf_token,
        via_token=via_token,
        lang=language(request),
        request_id=request_id(request),
        now=now,
        role_labels=[ROLE_LABELS.get(r, r) for r in sorted(holder.roles)],
    )
    if holder.activity_due(now):
        with unit_of_work(db) as uow:
            if via_token:
                security.touch_token(uow.session, holder, now)
            else:
                security.touch_session(uow.session, holder, now)
    request.state.ctx = ctx
    return ctx


def page_context(request: Request) -> RequestContext:
    return resolve(request, allow_token=False)


def api_context(request: Request) -> RequestContext:
    ctx = resolve(request, allow_token=True)
    # A browser calling the API with its cookie must prove it is our page (header), like a form.
    unsafe = request.method not in SAFE_METHODS
    if (
        not ctx.via_token
        and unsafe
        and not security.csrf_matches(ctx.csrf_token, request.headers.get("x-csrf-token"))
    ):
        raise CsrfRefused("缺少或错误的 CSRF 令牌。")
    return ctx


T = TypeVar("T")


async def as_api_caller(request: Request, work: Callable[[RequestContext], T]) -> T:
    """Sign the API's caller in (``api_context``) and run ``work`` for them, in one worker thread.

    As a sync dependency before a sync handler, signing in cost a trip to the thread pool of its
    own: two hand-offs and wake-ups per request instead of one.
    """
    return await run_in_threadpool(lambda: work(api_context(request)))
