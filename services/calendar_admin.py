"""Loading a year's holiday notice and recomputing the deadlines it affects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bargaining.actors import SYSTEM, Actor
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import CalendarYear
from workflows.deadlines import recompute_provisional
from workflows.events import write_event

from . import runtime
from .uow import unit_of_work


def _dates(values: Any, year: int, label: str) -> list[date]:
    if not isinstance(values, list):
        raise ValidationError(f"“{label}”应为日期列表。")
    out = []
    for raw in values:
        try:
            d = date.fromisoformat(str(raw))
        except ValueError:
            raise ValidationError(f"“{label}”中的日期格式不正确：{raw}") from None
        # A notice's New Year block may reach back into the last days of the year before.
        if not (date(year - 1, 12, 25) <= d <= date(year, 12, 31)):
            raise ValidationError(f"“{label}”中的 {d.isoformat()} 不属于 {year} 年的节假日安排。")
        out.append(d)
    return sorted(set(out))


def load_year(
    db: Database, data: dict[str, Any], *, actor: Actor = SYSTEM, now: datetime | None = None
) -> dict[str, Any]:
    now = now or runtime.utcnow()
    try:
        year = int(data["year"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("请给出年度（year）。") from None
    days_off = _dates(data.get("days_off"), year, "放假日期")
    makeup = _dates(data.get("makeup_workdays", []), year, "调休上班日期")
    if not days_off:
        raise ValidationError("放假日期不能为空。")
    if set(days_off) & set(makeup):
        raise ValidationError("同一天不能既放假又调休上班。")
    source = str(data.get("source") or "").strip()
    if not source:
        raise ValidationError("请注明来源（如：国务院办公厅关于2027年部分节假日安排的通知）。")
    with unit_of_work(db) as uow:
        s = uow.session
        row = s.get(CalendarYear, year) or CalendarYear(year=year)
        row.days_off = [d.isoformat() for d in days_off]
        row.makeup_workdays = [d.isoformat() for d in makeup]
        row.source = source
        row.loaded_at = now
        s.add(row)
        s.flush()
        # Built from the uncommitted row and not cached: a rollback must not leave a phantom year.
        changed = recompute_provisional(s, runtime.calendar(s, cache=False), now)
        write_event(
            s,
            None,
            "calendar_loaded",
            actor=actor,
            role="system",
            now=now,
            payload={"year": year, "source": source, "recomputed": [d.id for d in changed]},
        )
        uow.after_commit(runtime.forget_calendar)
        return {"year": year, "recomputed": len(changed)}
