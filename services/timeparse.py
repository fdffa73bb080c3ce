"""Parsing times given on the command line (China time unless a zone is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bargaining.errors import ValidationError

CHINA = ZoneInfo("Asia/Shanghai")


def parse_instant(text: str) -> datetime:
    """ISO date or datetime; a date means 00:00 that day and a naive time is China time."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time(0, 0))
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"时间格式不正确：{text}（例如 2026-11-26 或 2026-11-26T09:30:00+08:00）"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)
    return value.astimezone(UTC)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"日期格式不正确：{text}（应为 YYYY-MM-DD，例如 2026-11-26）") from None
