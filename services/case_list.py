"""One page of a case list — the inbox and ``/api/cases`` — fast at a million cases.

Two choices make a page cost a few milliseconds whatever the federation's size:

- **A capped total.** Counting every case of a city (a million rows) on every page view costs
  more than the page itself. The total is counted up to ``TOTAL_CAP`` (or as far as the page
  asked for); beyond that the list says "more than N" and the filters narrow it down.
- **The right index for the scope.** A street's few thousand cases are best found by their org
  unit and sorted; a whole city's are best read in the list's order, checking the scope and filters
  on the way, until the page is full. PostgreSQL's planner makes that choice from its statistics;
  SQLite's cannot (it does not know how many org units the region subquery returns), so on SQLite
  the capped count, which is cheap, decides: when more than ``WIDE`` cases match, the page query
  is told to walk the order's index (``INDEXED BY``); otherwise SQLite picks the scope's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from bargaining.models import Case, Enterprise

from .cases import case_summary

TOTAL_CAP = 1_000
WIDE = 1_000

ORDERS: dict[str, tuple[Any, ...]] = {
    "next_due": (Case.next_due.is_(None), Case.next_due, Case.id),
    "-next_due": (Case.next_due.is_(None), Case.next_due.desc(), Case.id),
    "number": (Case.number,),
    "-number": (Case.number.desc(),),
    "updated": (Case.updated_at.desc(), Case.id),
    "id": (Case.id,),
}
# Orders an index (or the rowid) serves on SQLite, walked when the scope is wide.
_WALKABLE = {"next_due": "INDEXED BY ix_cases_due_order", "id": "NOT INDEXED"}


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    total: int  # exact when not capped, else the cap: "more than total"
    capped: bool

    def to_json(self, items: list[dict[str, Any]], *, limit: int, offset: int) -> dict[str, Any]:
        """The page as the inbox and ``/api/cases`` answer it, with ``items`` made from its rows."""
        return {
            "total": self.total,
            "total_capped": self.capped,
            "limit": limit,
            "offset": offset,
            "items": items,
        }


def listed_case(case: Case, today: date) -> dict[str, Any]:
    """A case as a list shows it: its summary, its next deadline and the days left to it."""
    item = case_summary(case)
    item["next_due"] = case.next_due.isoformat() if case.next_due else None
    item["days_left"] = (case.next_due - today).days if case.next_due else None
    return item


def page_of(
    session: Session,
    query: Select[Any],
    conditions: Sequence[ColumnElement[bool]],
    *,
    order: str,
    limit: int,
    offset: int,
) -> Page:
    """``query`` (already scoped to what the actor may see) filtered, ordered and paged."""
    filtered = query.where(*conditions)
    cap = max(TOTAL_CAP, offset + limit)
    counted = (
        session.scalar(
            select(func.count()).select_from(filtered.with_only_columns(Case.id).limit(cap + 1).subquery())
        )
        or 0
    )
    page = filtered.order_by(*ORDERS[order]).limit(limit).offset(offset)
    hint = _WALKABLE.get(order)
    if hint and counted > WIDE and session.get_bind().dialect.name == "sqlite":
        page = page.with_hint(Case, hint, "sqlite")
    return Page(rows=session.execute(page).all(), total=min(counted, cap), capped=counted > cap)


def search_condition(text: str) -> ColumnElement[bool]:
    """Cases whose enterprise name, credit code, number or title matches ``text``."""
    text = text.strip()
    like = f"%{text}%"
    enterprises = select(Enterprise.id).where(
        or_(Enterprise.name.like(like), Enterprise.credit_code == text.upper())
    )
    return or_(Case.enterprise_id.in_(enterprises), Case.number.like(like), Case.title.like(like))
