"""Jinja2 rendering with the request's language, user and CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

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


@lru_cache(maxsize=64)
def _options(choices: tuple[tuple[str, str], ...], show_value: bool) -> str:
    option = Markup(
        '<option value="{0}">{1}（{0}）</option>' if show_value else '<option value="{0}">{1}</option>'
    )
    return str(Markup("").join(option.format(value, label) for value, label in choices))


def options_html(
    choices: list[tuple[str, str]], selected: str | None = None, show_value: bool = False
) -> Markup:
    """``<option>``s for a long select (a city's streets, its 1,500 instructors), escaped once and
    kept: rendered item by item in the template they were most of an inbox page's time."""
    html = _options(tuple(choices), show_value)
    if selected:
        opening = str(Markup('<option value="{0}">').format(selected))
        html = html.replace(opening, opening[:-1] + " selected>", 1)
    return Markup(html)


templates.env.globals["options_html"] = options_html

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
