"""The deadline sweep and deadline look-ups.

The sweep claims due deadline rows in batches, fires each idempotently (an overdue escalation
event, or the system transition the deadline names) and marks it fired in the same
transaction. A crash before commit leaves the rows unfired for the next sweep; a committed
batch is never fired again. On PostgreSQL, rows and cases another sweep holds are skipped
(``FOR UPDATE SKIP LOCKED``), and cases are locked before their deadlines, in the same order a
web request takes them, so the two never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import SYSTEM
from bargaining.db import Database
from bargaining.errors import DomainError
from bargaining.models import Case, Deadline, Event
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.periods import legal_date
from workflows import engine
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
        if handled < batch_size:
            return report


def _sweep_batch(s: Session, now: datetime, batch_size: int, report: SweepReport, keep: bool) -> int:
    postgres = s.get_bind().dialect.name == "postgresql"
    candidates = s.execute(_due_query(now, batch_size)).all()
    if not candidates:
        return 0
    case_ids = sorted({case_id for _, case_id in candidates})
    case_query = select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)
    if postgres:
        case_query = case_query.with_for_update(skip_locked=True)
    cases = {c.id: c for c in s.scalars(case_query)}
    deadline_query = (
        select(Deadline)
        .where(
            Deadline.id.in_([d for d, _ in candidates]),
            Deadline.case_id.in_(list(cases)),
            Deadline.fired_at.is_(None),
            Deadline.closed_at.is_(None),
        )
        .order_by(Deadline.fire_at, Deadline.id)
    )
    if postgres:
        deadline_query = deadline_query.with_for_update(skip_locked=True)
    due = list(s.scalars(deadline_query))

    escalations = [d for d in due if d.on_expiry == "escalate"]
    events = [_overdue_event(d, cases[d.case_id], now) for d in escalations]
    s.add_all(events)
    s.flush()  # one multi-row INSERT … RETURNING for the whole batch
    for deadline, event in zip(escalations, events, strict=True):
        deadline.fired_at = now
        deadline.fired_event_id = event.id
        cases[deadline.case_id].updated_at = now
        report.escalated += 1
        if keep:
            report.details.append(
                {"case": cases[deadline.case_id].number, "kind": deadline.kind, "action": "overdue"}
            )

    calendar = runtime.calendar(s)
    for deadline in (d for d in due if d.on_expiry != "escalate"):
        case = cases[deadline.case_id]
        try:
            with s.begin_nested():
                result = engine.fire(
                    s,
                    case,
                    deadline.on_expiry,
                    SYSTEM,
                    calendar=calendar,
                    now=now,
                    reason=f"{DEADLINE_LABELS.get(deadline.kind, deadline.kind)}期限届满",
                )
                deadline.fired_at = now
                deadline.fired_event_id = result.event.id
            report.fired += 1
            if keep:
                report.details.append(
                    {"case": case.number, "kind": deadline.kind, "action": deadline.on_expiry}
                )
        except DomainError as exc:
            s.expire(case)
            event = engine.record(
                s,
                case,
                "deadline_fire_failed",
                SYSTEM,
                now=now,
                role="system",
                reason=exc.message,
                payload={"deadline_id": deadline.id, "kind": deadline.kind},
            )
            deadline.fired_at = now
            deadline.fired_event_id = event.id
            report.failed += 1
            if keep:
                report.details.append(
                    {"case": case.number, "kind": deadline.kind, "action": "failed", "reason": exc.message}
                )
    s.flush()
    return len(candidates)


def _overdue_event(deadline: Deadline, case: Case, now: datetime) -> Event:
    return Event(
        case_id=case.id,
        trigger="deadline_overdue",
        from_state=case.state,
        to_state=case.state,
        actor_id=None,
        actor_name=SYSTEM.name,
        role="system",
        at=now,
        reason=f"{DEADLINE_LABELS.get(deadline.kind, deadline.kind)}期限（{deadline.due.isoformat()}）已届满",
        payload={"deadline_id": deadline.id, "kind": deadline.kind, "due": deadline.due.isoformat()},
        definition_name=case.definition_name,
        definition_version=case.definition_version,
    )


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
