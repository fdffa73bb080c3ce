"""Exporting enterprises, representatives and existing agreements with the import's own columns.

What is exported is what the actor may see (their federation's subtree, or a region in it), so an
export of one federation imported into another system — or back into this one — round-trips:
``export → import → export`` gives the same rows (the case number column is informational).

Agreements exported are the enterprise wage agreements that came into force (in force or
expired); the stage dates come from the event log (the offer, response, congress-vote and
review-opinion dates the actions recorded) and the agreement row (signing, disclosure, filing,
entry into force).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import QueryableAttribute, Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import NotFound
from bargaining.models import Agreement, Case, Enterprise, Event, OrgUnit, Representative, Sector, User

from ..repository import visible_org_units
from ..uow import unit_of_work
from .columns import CASE_COLUMNS, ENTERPRISE_COLUMNS, REPRESENTATIVE_COLUMNS
from .tabular import file_format, write_table

Progress = Callable[[str, int, int | None], None]
BATCH = 2000
Ts = TypeVarTuple("Ts")

# Event trigger -> (payload date field, export column); only these come from events.
EVENT_DATES = {
    "send_offer": ("sent_on", "offer_on"),
    "record_response": ("responded_on", "response_on"),
    "record_congress_vote": ("held_on", "congress_on"),
    "record_review_opinion": ("opinion_on", "opinion_on"),
}


def _region_units(session: Session, actor: Actor, region: str | None) -> Select[int]:
    units = visible_org_units(actor)
    if region:
        unit = session.scalar(units.where(OrgUnit.code == region.strip()))
        if unit is None:
            raise NotFound(f"找不到工会组织 {region}，或不在您的管辖范围内。")
        units = units.where(OrgUnit.path.startswith(unit.path))
    return units.with_only_columns(OrgUnit.id)


def _batches(
    session: Session, query: Select[int, *Ts], key: QueryableAttribute[int]
) -> Iterator[Sequence[Row[int, *Ts]]]:
    """Keyset pagination over ``key`` (an integer id), so memory stays flat on any size."""
    last = 0
    while True:
        rows = session.execute(query.where(key > last).order_by(key).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _say(progress: Progress | None, done: int, total: int | None) -> None:
    if progress is not None:
        progress("导出", done, total)


def export_enterprises(
    db: Database, actor: Actor, path: Path, *, region: str | None = None, progress: Progress | None = None
) -> int:
    """The enterprises of the actor's subtree (or ``region``), ordered by registration."""
    file_format(path)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        units = _region_units(s, actor, region)
        sectors = {sid: code for sid, code in s.execute(select(Sector.id, Sector.code))}
        unit_codes = {uid: code for uid, code in s.execute(select(OrgUnit.id, OrgUnit.code))}
        query = select(
            Enterprise.id,
            Enterprise.credit_code,
            Enterprise.name,
            Enterprise.org_unit_id,
            Enterprise.sector_id,
            Enterprise.headcount,
            Enterprise.min_wage_tier,
            Enterprise.address,
            Enterprise.legal_representative,
            Enterprise.union_name,
            Enterprise.union_chair,
        ).where(Enterprise.org_unit_id.in_(units))

        def rows() -> Iterator[dict[str, Any]]:
            done = 0
            for batch in _batches(s, query, Enterprise.id):
                for r in batch:
                    yield {
                        "credit_code": r.credit_code,
                        "name": r.name,
                        "org_unit": unit_codes[r.org_unit_id],
                        "sector": sectors.get(r.sector_id) if r.sector_id else None,
                        "headcount": r.headcount,
                        "min_wage_tier": r.min_wage_tier,
                        "address": r.address,
                        "legal_representative": r.legal_representative,
                        "union_name": r.union_name,
                        "union_chair": r.union_chair,
                    }
                done += len(batch)
                _say(progress, done, None)

        return write_table(path, ENTERPRISE_COLUMNS, rows(), sheet_title="企业名录")


def export_representatives(
    db: Database, actor: Actor, path: Path, *, region: str | None = None, progress: Progress | None = None
) -> int:
    """The negotiation representatives of the cases in the actor's subtree (or ``region``)."""
    file_format(path)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        units = _region_units(s, actor, region)
        query = (
            select(
                Representative.id,
                Case.number,
                Enterprise.credit_code,
                Representative.side,
                Representative.name,
                Representative.person_key,
                Representative.position,
                Representative.chief,
                Representative.outsider,
                Representative.front_line,
            )
            .join(Case, Case.id == Representative.case_id)
            .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
            .where(Case.org_unit_id.in_(units))
        )

        def rows() -> Iterator[dict[str, Any]]:
            done = 0
            for batch in _batches(s, query, Representative.id):
                for r in batch:
                    yield {
                        "case": r.number,
                        "credit_code": r.credit_code,
                        "side": r.side,
                        "name": r.name,
                        "person_key": None if r.person_key == r.name else r.person_key,
                        "position": r.position,
                        "chief": r.chief,
                        "outsider": r.outsider,
                        "front_line": r.front_line,
                    }
                done += len(batch)
                _say(progress, done, None)

        return write_table(path, REPRESENTATIVE_COLUMNS, rows(), sheet_title="协商代表")


def _event_dates(session: Session, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per case, the latest date each stage event recorded (a passed congress vote only)."""
    found: dict[int, dict[str, Any]] = {}
    for case_id, trigger, to_state, payload in session.execute(
        select(Event.case_id, Event.trigger, Event.to_state, Event.payload)
        .where(Event.case_id.in_(case_ids), Event.trigger.in_(list(EVENT_DATES)))
        .order_by(Event.id)
    ):
        if trigger == "record_congress_vote" and to_state != "awaiting_signature":
            continue
        assert case_id is not None  # selected by Event.case_id IN (...)
        field_name, column = EVENT_DATES[trigger]
        value = (payload or {}).get(field_name)
        if value:
            try:
                found.setdefault(case_id, {})[column] = date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
    return found


def export_cases(
    db: Database, actor: Actor, path: Path, *, region: str | None = None, progress: Progress | None = None
) -> int:
    """The enterprise wage agreements in force or expired, as the existing-agreements import reads them."""
    file_format(path)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        units = _region_units(s, actor, region)
        instructors = {uid: name for uid, name in s.execute(select(User.id, User.username))}
        query = (
            select(
                Case.id,
                Case.number,
                Case.round,
                Case.instructor_id,
                Enterprise.credit_code,
                Agreement.title,
                Agreement.signed_on,
                Agreement.term_start,
                Agreement.term_end,
                Agreement.avg_wage_before,
                Agreement.avg_wage_after,
                Agreement.increase_pct,
                Agreement.payment_day,
                Agreement.disclosed_on,
                Agreement.filed_on,
                Agreement.in_force_on,
            )
            .join(Agreement, Agreement.case_id == Case.id)
            .join(Enterprise, Enterprise.id == Case.enterprise_id)
            .where(
                Case.org_unit_id.in_(units),
                Case.kind == "enterprise",
                Case.state.in_(("in_force", "expired")),
                Agreement.in_force_on.is_not(None),
                Agreement.signed_on.is_not(None),
            )
        )

        def rows() -> Iterator[dict[str, Any]]:
            done = 0
            for batch in _batches(s, query, Case.id):
                dates = _event_dates(s, [r.id for r in batch])
                for r in batch:
                    yield {
                        "credit_code": r.credit_code,
                        "title": r.title,
                        "round": r.round,
                        "signed_on": r.signed_on,
                        "term_start": r.term_start,
                        "term_end": r.term_end,
                        "avg_wage_before": r.avg_wage_before,
                        "avg_wage_after": r.avg_wage_after,
                        "increase_pct": r.increase_pct,
                        "payment_day": r.payment_day,
                        "disclosed_on": r.disclosed_on,
                        "filed_on": r.filed_on,
                        "in_force_on": r.in_force_on,
                        "instructor": instructors.get(r.instructor_id) if r.instructor_id else None,
                        "number": r.number,
                        **dates.get(r.id, {}),
                    }
                done += len(batch)
                _say(progress, done, None)

        return write_table(path, CASE_COLUMNS, rows(), sheet_title="既有集体合同")
