"""Deadline rows: opened, closed, paused and resumed by actions, computed from the rule set.

A deadline's due date is always recomputable from (kind, start_date, period) and the holiday
calendar, which is what makes provisional dates (a year whose holiday notice is not out yet)
and suspensions (中止: the start moves forward by the days the clock stood still) simple.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bargaining.errors import ValidationError
from bargaining.models import Case, Deadline, DeadlineSuspension, table_of
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.jurisdictions import RuleSet, timed_rule
from bargaining.rules.periods import Period, due_date, end_of_day_utc, window_opens

from .events import link_event

if TYPE_CHECKING:
    from .context import FireContext
    from .spec import Opens

_CASES = table_of(Case)
# Kinds that are not a period counted forward from an event.
EXPIRY = "expiry"  # the agreement's term ends (fires the day after term_end)
WINDOW_KINDS = frozenset({"renewal"})
TERM_END = "term"  # the period code of an expiry: no counting, the term's own last day  # a window that opens a period *before* the anchor

DEADLINE_LABELS = {
    "response": "回应要约",
    "negotiation_cap": "协商期限",
    "filing": "报送审查",
    "review": "审查期（逾期视为生效）",
    "disclosure": "公示",
    "renewal": "续签窗口开启",
    "expiry": "合同期满",
    "rep_vacancy": "补选协商代表",
    "dispute": "协调处理",
}


def encode_period(period: Period, *, before: bool = False) -> str:
    return f"{'-' if before else ''}{period.amount}:{period.unit}"


def decode_period(code: str) -> tuple[Period, bool]:
    before = code.startswith("-")
    amount, unit = code.lstrip("-").split(":", 1)
    return Period(int(amount), unit), before  # type: ignore[arg-type]


def describe_period(code: str) -> str:
    if code == TERM_END:
        return "合同期限届满"
    period, before = decode_period(code)
    return f"期满前{period.describe()}" if before else period.describe()


def compute_due(
    kind: str, start: date, period_code: str, calendar: HolidayCalendar
) -> tuple[date, bool, datetime]:
    """(due date, provisional?, the UTC instant the sweep acts)."""
    if kind == EXPIRY:
        return start, False, end_of_day_utc(start)
    period, before = decode_period(period_code)
    if before:
        opens = window_opens(start, period, calendar)
        provisional = period.unit == "working_days" and not calendar.is_settled(opens)
        # A window is open from the start of its first day, i.e. the end of the day before.
        return opens, provisional, end_of_day_utc(opens - timedelta(days=1))
    result = due_date(start, period, calendar)
    return result.due, result.provisional, end_of_day_utc(result.due)


def _rule_for(rule_set: RuleSet, kind: str, anchor_date: date) -> tuple[str, str, bool]:
    """(legal basis, period code, before?) for a deadline kind under a rule set."""
    if kind == EXPIRY:
        return f"集体合同期限届满（{anchor_date.isoformat()}）", TERM_END, False
    rule = timed_rule(rule_set, kind)
    before = kind in WINDOW_KINDS
    # A practice default (statutory=False) already says so in its basis.
    return rule.basis, encode_period(rule.period, before=before), before


def anchor_date(ctx: FireContext, anchor: str) -> date:
    """The date a deadline counts from: the first of ``a|b|…`` that the input or the agreement has."""
    for name in anchor.split("|"):
        value = ctx.values.get(name)
        if isinstance(value, date):
            return value
        agreement = ctx.agreement()
        found = getattr(agreement, name, None) if agreement is not None else None
        if isinstance(found, date):
            return found
        if name.startswith("term_"):
            raise ValidationError("协议尚未填写合同期限，无法计算相关期限。")
    return ctx.today


def prefetch(ctx: FireContext) -> None:
    """Read what the action's deadline changes will need before the case changes, so these
    SELECTs flush nothing and the whole action goes out in one flush at the end."""
    ctx.open_deadlines()
    for opens in ctx.action.opens:
        if not isinstance(ctx.values.get(opens.anchor.split("|", 1)[0]), date):
            ctx.agreement()  # anchor_date will look there
            return


def open_deadline(ctx: FireContext, opens: Opens) -> Deadline | None:
    if opens.if_rule is not None and not opens.if_rule(ctx.rule_set):
        return None
    if opens.if_dest is not None and ctx.dest != opens.if_dest:
        return None
    start = anchor_date(ctx, opens.anchor)
    basis, period_code, _before = _rule_for(ctx.rule_set, opens.kind, start)
    due, provisional, fire_at = compute_due(opens.kind, start, period_code, ctx.calendar)
    close_deadlines(ctx, (opens.kind,))  # a new clock of the same kind replaces the old one
    deadline = Deadline(
        case_id=ctx.case.id,
        kind=opens.kind,
        start_date=start,
        due=due,
        fire_at=fire_at,
        legal_basis=basis,
        period=period_code,
        provisional=provisional,
        on_expiry=opens.on_expiry,
        created_at=ctx.now,
    )
    link_event(deadline, "opened_by_event", ctx.event)
    ctx.session.add(deadline)
    ctx.open_deadlines().append(deadline)
    return deadline


def _of_kinds(ctx: FireContext, kinds: tuple[str, ...]) -> list[Deadline]:
    """The case's open deadlines of ``kinds`` ("*": all), from the firing's one query."""
    if not kinds:
        return []  # most actions close, pause or resume nothing: no query for them
    every = "*" in kinds
    return [d for d in ctx.open_deadlines() if every or d.kind in kinds]


def close_deadlines(ctx: FireContext, kinds: tuple[str, ...]) -> list[Deadline]:
    closed = _of_kinds(ctx, kinds)
    for deadline in closed:
        deadline.closed_at = ctx.now
        link_event(deadline, "closed_by_event", ctx.event)
    if closed:
        ctx.open_deadlines()[:] = [d for d in ctx.open_deadlines() if d.closed_at is None]
    return closed


def pause_deadlines(ctx: FireContext, kinds: tuple[str, ...]) -> None:
    for deadline in _of_kinds(ctx, kinds):
        if deadline.paused_at is not None:
            continue
        deadline.paused_at = ctx.now
        suspension = DeadlineSuspension(
            deadline_id=deadline.id, suspended_on=ctx.today, due_before=deadline.due
        )
        link_event(suspension, "suspended_by_event", ctx.event)
        ctx.session.add(suspension)


def resume_deadlines(ctx: FireContext, kinds: tuple[str, ...]) -> None:
    for deadline in _of_kinds(ctx, kinds):
        if deadline.paused_at is None:
            continue
        suspension = ctx.session.scalar(
            select(DeadlineSuspension)
            .where(DeadlineSuspension.deadline_id == deadline.id, DeadlineSuspension.resumed_on.is_(None))
            .order_by(DeadlineSuspension.id.desc())
        )
        stood_still = (ctx.today - suspension.suspended_on).days if suspension else 0
        deadline.start_date = deadline.start_date + timedelta(days=stood_still)
        recompute(deadline, ctx.calendar, ctx.now)
        deadline.paused_at = None
        if suspension is not None:
            suspension.resumed_on = ctx.today
            suspension.due_after = deadline.due
            link_event(suspension, "resumed_by_event", ctx.event)


def extend_deadline(ctx: FireContext, kind: str, extra: Period) -> Deadline | None:
    """Push an open deadline's due date out by ``extra`` counted from the current due date."""
    for deadline in _of_kinds(ctx, (kind,)):
        result = due_date(deadline.due, extra, ctx.calendar)
        deadline.due = result.due
        deadline.provisional = deadline.provisional or result.provisional
        deadline.fire_at = end_of_day_utc(result.due)
        # Stored as the sum so a recomputation gives the same date.
        period, before = decode_period(deadline.period)
        if period.unit == extra.unit and not before:
            deadline.period = encode_period(Period(period.amount + extra.amount, period.unit))
        if deadline.fire_at > ctx.now:
            deadline.fired_at = None
        return deadline
    return None


def sync_next_due(ctx: FireContext) -> None:
    """``Case.next_due`` from the firing's own list of open deadlines: no flush, no query.

    Set on the case itself while its UPDATE is still pending (the usual case: it goes out in the
    same statement as the state and version); if an effect's query already flushed the case, a
    separate UPDATE that leaves the optimistic-lock version alone, as ``refresh_next_due`` does.
    """
    if "deadlines" not in ctx._cache:
        return  # nothing read, so nothing changed: the deadlines are all this depends on
    running = [d.due for d in ctx.open_deadlines() if d.paused_at is None]
    next_due = min(running) if running else None
    case = ctx.case
    if case.next_due == next_due:
        return
    if inspect(case).modified:
        case.next_due = next_due
        return
    _write_next_due(ctx.session, case.id, next_due)


def _write_next_due(session: Session, case_id: int, next_due: date | None) -> None:
    """UPDATE ``next_due`` alone (the optimistic-lock version stays) and tell the loaded case."""
    # A Core statement on the table: the ORM's bulk UPDATE would autoflush first, and nothing
    # pending bears on this one column.
    session.execute(update(_CASES).where(_CASES.c.id == case_id).values(next_due=next_due))
    case = session.get(Case, case_id)
    if case is not None:
        set_committed_value(case, "next_due", next_due)


def recompute(deadline: Deadline, calendar: HolidayCalendar, now: datetime) -> None:
    due, provisional, fire_at = compute_due(deadline.kind, deadline.start_date, deadline.period, calendar)
    deadline.due, deadline.provisional, deadline.fire_at = due, provisional, fire_at
    if deadline.fired_at is not None and fire_at > now and deadline.on_expiry == "escalate":
        deadline.fired_at = None  # no longer overdue


def refresh_next_due(session: Session, case_id: int) -> date | None:
    """Keep ``Case.next_due`` (the inbox's sort key) equal to the earliest running deadline."""
    session.flush()
    next_due = session.scalar(
        select(func.min(Deadline.due)).where(
            Deadline.case_id == case_id, Deadline.closed_at.is_(None), Deadline.paused_at.is_(None)
        )
    )
    _write_next_due(session, case_id, next_due)
    return next_due


def recompute_provisional(session: Session, calendar: HolidayCalendar, now: datetime) -> list[Deadline]:
    """After a year's holiday notice is loaded: recompute every open provisional deadline."""
    changed = []
    for deadline in session.scalars(
        select(Deadline).where(Deadline.provisional.is_(True), Deadline.closed_at.is_(None))
    ):
        before = deadline.due
        recompute(deadline, calendar, now)
        if deadline.due != before or not deadline.provisional:
            changed.append(deadline)
    for case_id in {d.case_id for d in changed}:
        refresh_next_due(session, case_id)
    return changed
