"""The deadline sweep and deadline look-ups.

The sweep claims due deadline rows in batches, fires each idempotently (an overdue escalation
event, or the system transition the deadline names) and marks it fired in the same
transaction. A crash before commit leaves the rows unfired for the next sweep; a committed
batch is never fired again. On PostgreSQL, rows and cases another sweep holds are skipped
(``FOR UPDATE SKIP LOCKED``), and cases are locked before their deadlines, in the same order a
web request takes them, so the two never deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bargaining.actors import SYSTEM
from bargaining.db import Database
from bargaining.errors import DomainError
from bargaining.models import Case, Deadline, Event, table_of
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.periods import legal_date
from workflows import context, engine
from workflows.deadlines import DEADLINE_LABELS, _rule_for, compute_due, describe_period

from . import runtime
from .uow import unit_of_work


@dataclass
class SweepReport:
    escalated: int = 0
    fired: int = 0
    failed: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.escalated + self.fired + self.failed


def _due_query(now: datetime, limit: int) -> Any:
    return (
        select(Deadline.id, Deadline.case_id)
        .where(
            Deadline.fire_at <= now,
            Deadline.fired_at.is_(None),
            Deadline.closed_at.is_(None),
            Deadline.paused_at.is_(None),
        )
        .order_by(Deadline.fire_at, Deadline.id)
        .limit(limit)
    )


def sweep(
    db: Database, now: datetime | None = None, *, batch_size: int = 1000, keep_details: bool = True
) -> SweepReport:
    now = now or runtime.utcnow()
    report = SweepReport()
    while True:
        with unit_of_work(db) as uow:
            handled = _sweep_batch(uow.session, now, batch_size, report, keep_details)
        # Until a batch finds nothing: a system transition may open a deadline that is already
        # due (counted from the legal day it took effect), and this sweep must not leave it behind.
        if handled == 0:
            return report


_CASES = table_of(Case)
_DEADLINES = table_of(Deadline)
_EVENTS = table_of(Event)


def _sweep_batch(s: Session, now: datetime, batch_size: int, report: SweepReport, keep: bool) -> int:
    """One batch, one transaction.

    Escalations are written set-wise with Core statements (one multi-row INSERT … RETURNING for
    their events, one executemany UPDATE each for the deadlines and the cases); the deadlines the
    system fires go through the engine, as a person's action would, in chunks (``_fire_by_system``),
    and are marked fired together at the end of the batch, still inside its transaction. The rows
    written are the ones the ORM wrote before: the same events, ``fired_at`` and ``fired_event_id``
    on each deadline, and the escalated cases' ``updated_at`` with their optimistic-lock version
    moved on once.
    """
    postgres = s.get_bind().dialect.name == "postgresql"
    candidates = s.execute(_due_query(now, batch_size)).all()
    if not candidates:
        return 0
    case_ids = sorted({case_id for _, case_id in candidates})
    case_query = (
        select(
            _CASES.c.id,
            _CASES.c.number,
            _CASES.c.state,
            _CASES.c.definition_name,
            _CASES.c.definition_version,
            _CASES.c.version,
            _CASES.c.updated_at,
        )
        .where(_CASES.c.id.in_(case_ids))
        .order_by(_CASES.c.id)
    )
    if postgres:  # cases first, in id order, as a web request locks them
        case_query = case_query.with_for_update(skip_locked=True)
    cases = {row.id: row for row in s.execute(case_query)}
    deadline_query = (
        select(
            _DEADLINES.c.id,
            _DEADLINES.c.case_id,
            _DEADLINES.c.kind,
            _DEADLINES.c.due,
            _DEADLINES.c.on_expiry,
        )
        .where(
            _DEADLINES.c.id.in_([d for d, _ in candidates]),
            _DEADLINES.c.case_id.in_(list(cases)),
            _DEADLINES.c.fired_at.is_(None),
            _DEADLINES.c.closed_at.is_(None),
        )
        .order_by(_DEADLINES.c.fire_at, _DEADLINES.c.id)
    )
    if postgres:
        deadline_query = deadline_query.with_for_update(skip_locked=True)
    due = s.execute(deadline_query).all()

    escalations = [d for d in due if d.on_expiry == "escalate"]
    if escalations:
        _escalate(s, escalations, cases, now)
        for row in escalations:
            report.escalated += 1
            if keep:
                report.details.append(
                    {"case": cases[row.case_id].number, "kind": row.kind, "action": "overdue"}
                )

    fired_by_system = [d.id for d in due if d.on_expiry != "escalate"]
    if not fired_by_system:
        return len(candidates)
    # Loaded after the escalations' UPDATE, so the optimistic-lock versions are current. On
    # PostgreSQL these rows are already locked by this transaction (the queries above).
    deadlines = list(
        s.scalars(
            select(Deadline).where(Deadline.id.in_(fired_by_system)).order_by(Deadline.fire_at, Deadline.id)
        )
    )
    _mark_fired(s, _fire_by_system(s, deadlines, now, report, keep), now)
    return len(candidates)


FIRE_CHUNK = 200  # system transitions written in one savepoint and one flush


def _fire_by_system(
    s: Session, deadlines: list[Deadline], now: datetime, report: SweepReport, keep: bool
) -> list[tuple[int, int]]:
    """Fire the transitions these deadlines name, through the engine; (deadline, event) of each.

    In chunks: one savepoint and one flush for ``FIRE_CHUNK`` transitions, with what the engine
    would read about each case loaded for all of them at once. If the engine refuses one, the
    chunk is undone and fired again one by one, each in its own savepoint, so the refused one is
    recorded as a failure and the others happen exactly as they would have alone.
    """
    cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_({d.case_id for d in deadlines})))}
    calendar = runtime.calendar(s)
    # Current for a case's first firing only: an action may change what the next one would read.
    preloaded = context.preload(s, cases)
    fired: list[tuple[int, int]] = []

    def fire(deadline: Deadline, *, together: bool) -> Any:
        assert deadline.fire_at is not None  # picked by fire_at <= now (_due_query); never set back to NULL
        return engine.fire(
            s,
            cases[deadline.case_id],
            deadline.on_expiry,
            SYSTEM,
            calendar=calendar,
            now=now,
            reason=f"{DEADLINE_LABELS.get(deadline.kind, deadline.kind)}期限届满",
            # The legal effect happens the day after the last day, however late the sweep.
            legal_today=legal_date(deadline.fire_at),
            preloaded=preloaded.pop(deadline.case_id, None) if together else None,
            flush=not together,
        )

    def done(deadline: Deadline, event_id: int, failure: str | None = None) -> None:
        fired.append((deadline.id, event_id))
        detail: dict[str, Any] = {"case": cases[deadline.case_id].number, "kind": deadline.kind}
        if failure is None:
            report.fired += 1
            detail["action"] = deadline.on_expiry
        else:
            report.failed += 1
            detail.update(action="failed", reason=failure)
        if keep:
            report.details.append(detail)

    for start in range(0, len(deadlines), FIRE_CHUNK):
        chunk = deadlines[start : start + FIRE_CHUNK]
        try:
            with s.begin_nested():
                results = [fire(deadline, together=True) for deadline in chunk]
        except DomainError:
            preloaded.clear()  # read before the undone changes: no longer to be trusted
            for deadline in chunk:
                done(deadline, *_fire_alone(s, deadline, cases[deadline.case_id], fire, now))
            continue
        for deadline, result in zip(chunk, results, strict=True):
            done(deadline, result.event.id)
    return fired


def _fire_alone(
    s: Session, deadline: Deadline, case: Case, fire: Callable[..., Any], now: datetime
) -> tuple[int, str | None]:
    """One system transition in its own savepoint: (its event, None), or if the engine refuses it
    (the event recording the refusal on the case, why)."""
    try:
        with s.begin_nested():
            result = fire(deadline, together=False)
        return result.event.id, None
    except DomainError as exc:
        event = record_fire_failure(engine.record, s, case, deadline, exc, now)  # flushed: has its id
        return event.id, exc.message


def record_fire_failure(
    record: Callable[..., Any], s: Session, case: Any, deadline: Any, exc: DomainError, now: datetime
) -> Any:
    """The event saying a due deadline could not take effect (the case left as it was), by the
    subject's own ``record``: the deadline counts as fired by it, so no sweep retries it forever."""
    s.expire(case)
    return record(
        s,
        case,
        "deadline_fire_failed",
        SYSTEM,
        now=now,
        role="system",
        reason=exc.message,
        payload={"deadline_id": deadline.id, "kind": deadline.kind},
    )


def _mark_fired(s: Session, fired: list[tuple[int, int]], now: datetime) -> None:
    """``fired_at`` and the event that fired it, on every deadline of the batch: one executemany."""
    if not fired:
        return
    s.execute(
        update(_DEADLINES)
        .where(_DEADLINES.c.id == bindparam("deadline_id"))
        .values(fired_at=now, fired_event_id=bindparam("event_id")),
        [{"deadline_id": d, "event_id": e} for d, e in fired],
    )


def _escalate(s: Session, escalations: Sequence[Any], cases: Mapping[int, Any], now: datetime) -> None:
    """Overdue events for every escalation of the batch, their deadlines marked fired, their cases touched."""
    # One multi-row INSERT … RETURNING per 1,000 rows. Not sort_by_parameter_order: on SQLite
    # that falls back to one INSERT per row; each event names its deadline in the payload instead.
    returned = s.execute(
        insert(_EVENTS).returning(_EVENTS.c.id, _EVENTS.c.payload),
        [_overdue_event(d, cases[d.case_id], now) for d in escalations],
    ).all()
    event_of = {payload["deadline_id"]: event_id for event_id, payload in returned}
    _mark_fired(s, [(d.id, event_of[d.id]) for d in escalations], now)
    # As the ORM did: setting updated_at to the value it already has is no change, no UPDATE.
    touched = sorted({d.case_id for d in escalations if cases[d.case_id].updated_at != now})
    if not touched:
        return
    result = cast(
        CursorResult[Any],
        s.execute(
            update(_CASES)
            .where(_CASES.c.id == bindparam("case_id"), _CASES.c.version == bindparam("seen_version"))
            .values(updated_at=now, version=_CASES.c.version + 1),
            [{"case_id": c, "seen_version": cases[c].version} for c in touched],
        ),
    )
    if result.rowcount != len(touched):  # what the ORM's version_id_col check raises
        raise StaleDataError(
            f"{len(touched) - result.rowcount} of {len(touched)} cases changed under the sweep"
        )


def _overdue_event(deadline: Any, case: Any, now: datetime) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "trigger": "deadline_overdue",
        "from_state": case.state,
        "to_state": case.state,
        "actor_id": None,
        "actor_name": SYSTEM.name,
        "role": "system",
        "at": now,
        "reason": f"{DEADLINE_LABELS.get(deadline.kind, deadline.kind)}期限（{deadline.due.isoformat()}）已届满",
        "payload": {"deadline_id": deadline.id, "kind": deadline.kind, "due": deadline.due.isoformat()},
        "definition_name": case.definition_name,
        "definition_version": case.definition_version,
        "request_id": None,
    }


def preview_deadline(db: Database, *, jurisdiction: str, kind: str, start: date) -> dict[str, Any]:
    """What a deadline of ``kind`` counted from ``start`` would be under a jurisdiction's rules."""
    rule_set = get_rule_set(jurisdiction)
    with unit_of_work(db, write=False) as uow:
        calendar = runtime.calendar(uow.session)
    basis, period_code, _ = _rule_for(rule_set, kind, start)
    due, provisional, fire_at = compute_due(kind, start, period_code, calendar)
    return {
        "jurisdiction": rule_set.code,
        "kind": kind,
        "from": start.isoformat(),
        "due": due.isoformat(),
        "period": describe_period(period_code),
        "legal_basis": basis,
        "provisional": provisional,
        "fires_at": fire_at.isoformat(),
        "legal_date_now": legal_date(runtime.utcnow()).isoformat(),
    }
