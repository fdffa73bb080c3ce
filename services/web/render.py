"""Jinja2 rendering with the request's language, user and CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .context import language
from .i18n import translate

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CHINA = ZoneInfo("Asia/Shanghai")


def china_time(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Stored instants are UTC; people read China Standard Time."""
    if not value:
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA).strftime(fmt)


templates.env.filters["cn_time"] = china_time

URGENCY_LABELS = {"overdue": "已逾期", "soon": "5日内到期", "ok": "", "none": ""}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    lang = language(request)
    ctx = getattr(request.state, "ctx", None)
    data = {
        "request": request,
        "ctx": ctx,
        "lang": lang,
        "t": lambda text: translate(lang, text),
        "csrf": ctx.csrf_token if ctx else request.cookies.get("bargaining_pre_csrf", ""),
        "urgency_labels": URGENCY_LABELS,
        **context,
    }
    return templates.TemplateResponse(request, name, data, status_code=status_code)
