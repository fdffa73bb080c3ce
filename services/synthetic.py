"""Synthetic federations of any size, for benchmarks (and tests that need volume).

``generate`` writes straight into the migrated schema with bulk inserts — SQLAlchemy Core
``executemany`` in chunks on SQLite, ``COPY … FROM STDIN`` through psycopg on PostgreSQL — never
through the ORM or the workflow engine, so a million cases take a minute or two instead of hours.
The rows are nevertheless what the engine would have written:

- an org tree city → districts → streets (one per ~2,000 cases) → villages, with materialised
  paths; each district may use another jurisdiction's rule set (``jurisdictions``);
- a federation admin and a reviewer at the city, three instructors per street;
- one enterprise per case, with a valid credit code (``complete_credit_code``);
- one enterprise case per enterprise, spread over the states of ``workflows/definitions/common.py``,
  each with its create event (and, with ``events_per_case > 1``, the transitions that brought it
  there), an agreement from the draft stage on (terms, hashes and dates as the engine leaves them),
  and the deadlines that state has open, computed with ``workflows.deadlines.compute_due`` from the
  jurisdiction's own period codes and legal basis;
- exactly ``due`` open deadlines with ``fire_at <= now`` (a mix of escalations and deadlines the
  system fires: deem_approved, expire, open_renewal — ``system_share`` of them), every other open
  deadline in the future, paused ones included;
- with ``paperwork=True`` also what the guards of the next user actions read: representatives
  (3 per side), the documents each step produced, negotiation rounds and congress votes.

Deterministic for a seed on an empty database. Ids are taken after the largest existing ids, so
it can also add to a database that already has data.

    python -m services.synthetic --url sqlite:///var/synthetic.sqlite3 --cases 100000 --due 1000
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import JSON, Connection, Table, func, select, text

from bargaining.agreement_text import canonical_content, content_hash
from bargaining.db import Database, open_database
from bargaining.models import (
    Agreement,
    Case,
    CongressVote,
    Deadline,
    DeadlineSuspension,
    Document,
    Enterprise,
    Event,
    NegotiationRound,
    OrgUnit,
    Representative,
    User,
    UserRole,
)
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.jurisdictions import RuleSet, get_rule_set, timed_rule
from bargaining.rules.periods import LEGAL_TZ, Period, add_months, legal_date
from bargaining.rules.uscc import complete_credit_code
from workflows.deadlines import _rule_for, compute_due
from workflows.definitions.common import DOCUMENTS, STATES
from workflows.registry import current_definition

from . import runtime
from .demo import GIVEN, SURNAMES, TRADES, WORDS

HAS_NEXT_DUE = "next_due" in Case.__table__.c
CASES_PER_STREET = 2000
STREETS_PER_DISTRICT = 8
VILLAGES_PER_STREET = 4
INSTRUCTORS_PER_STREET = 3

# Share of cases in each state (the demo federation's spread, rounded). "disclosed" only exists
# where disclosure comes before filing; elsewhere its share goes to "signed".
STATE_WEIGHTS: dict[str, float] = {
    "preparation": 4.0,
    "offer_sent": 5.0,
    "negotiating": 7.0,
    "suspended": 1.5,
    "dispute": 1.0,
    "awaiting_congress": 4.0,
    "awaiting_signature": 3.0,
    "signed": 2.5,
    "disclosed": 1.0,
    "under_review": 5.0,
    "in_force": 58.0,
    "expired": 5.0,
    "terminated": 3.0,
}
assert set(STATE_WEIGHTS) == set(STATES), "every workflow state has a share"

# Due deadlines cycle through these kinds: escalations and deadlines the system fires itself.
ESCALATE_DUE = ("response", "filing", "disclosure", "dispute")
SYSTEM_DUE = ("review", "expiry", "renewal")
ON_EXPIRY = {"review": "deem_approved", "expiry": "expire", "renewal": "open_renewal"}

GAPS = {  # days before each step, drawn within these bounds
    "send_offer": (0, 5),
    "record_response": (5, 15),
    "record_round": (3, 10),
    "submit_draft": (3, 10),
    "record_congress_vote": (3, 10),
    "sign": (1, 5),
    "disclose": (1, 5),
    "file_for_review": (2, 8),
    "record_review_opinion": (5, 13),
    "deem_approved": (16, 18),
    "suspend": (2, 10),
    "apply_coordination": (10, 25),
    "terminate": (5, 30),
    "expire": (1, 1),
}
STAFF_ROLE, REVIEWER_ROLE, SYSTEM_ROLE = "instructor", "reviewer", "system"
SYSTEM_TRIGGERS = frozenset({"deem_approved", "expire", "open_renewal"})
REASONS = {
    "suspend": "双方对工资增幅分歧较大，同意中止协商",
    "terminate": "企业停产歇业，协商终止",
}
CLAUSES = [
    {"title": "工资支付", "text": "工资以货币形式按月足额支付，不得克扣或无故拖欠。"},
    {"title": "加班工资", "text": "延长工作时间、休息日、法定节假日加班分别按150%、200%、300%支付。"},
]
DOCUMENT_OF = {
    "send_offer": "offer_letter",
    "record_response": "response_letter",
    "record_round": "minutes",
    "record_congress_vote": "congress_resolution",
    "sign": "signed_agreement",
    "disclose": "disclosure_notice",
    "file_for_review": "filing_form",
    "record_review_opinion": "review_opinion",
}


@dataclass
class _Step:
    trigger: str
    source: str | None
    dest: str | None
    day: date = date.min


@dataclass
class _Plan:
    """One case: its state, its steps with their dates, its agreement terms and open deadlines."""

    state: str
    steps: list[_Step]
    opened_on: date
    due_kind: str | None = None
    terms: dict[str, Any] | None = None
    # (kind, start, opened by step index or None, paused on date or None)
    deadlines: list[tuple[str, date, int | None, date | None]] = field(default_factory=list)


class _Sink:
    """Bulk writer: executemany on SQLite, COPY through psycopg on PostgreSQL.

    On SQLite the values go through each column type's own bind processor (the one the ORM uses),
    then one driver-level ``executemany`` per table and chunk, skipping SQLAlchemy's per-row
    parameter handling.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.rows = 0

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        names = list(rows[0])
        columns = ", ".join(f'"{n}"' for n in names)
        if not self.postgres:
            dialect = self.conn.dialect
            processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
            pairs = list(zip(names, processors, strict=True))
            sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join("?" for _ in names)})'
            self.conn.exec_driver_sql(
                sql,
                [tuple(p(row[n]) if p is not None else row[n] for n, p in pairs) for row in rows],
            )
            return
        json_columns = {n for n in names if isinstance(table.c[n].type, JSON)}
        raw: Any = self.conn.connection.dbapi_connection  # psycopg.Connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[n], ensure_ascii=False) if n in json_columns else row[n] for n in names]
                )


def _max_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _reset_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the largest id."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) "
                f'FROM "{table.name}" HAVING max(id) IS NOT NULL'
            )
        )


class _Generator:
    def __init__(
        self,
        *,
        now: datetime,
        rng: random.Random,
        calendar: HolidayCalendar,
        events_per_case: int,
        paperwork: bool,
    ) -> None:
        self.now = now
        self.today = legal_date(now)
        self.rng = rng
        self.calendar = calendar
        self.events_per_case = events_per_case
        self.paperwork = paperwork
        self.definition = current_definition("enterprise")
        self._due_cache: dict[tuple[str, date, str], tuple[date, bool, datetime]] = {}
        self._instants: dict[tuple[date, int], datetime] = {}

    # --- dates -------------------------------------------------------------------------------

    def instant(self, day: date, hour: int = 9) -> datetime:
        """An instant on a legal date, never after ``now``."""
        key = (day, hour)
        hit = self._instants.get(key)
        if hit is None:
            hit = min(datetime.combine(day, clock(hour), tzinfo=LEGAL_TZ).astimezone(UTC), self.now)
            self._instants[key] = hit
        return hit

    def compute(self, rule_set: RuleSet, kind: str, start: date) -> tuple[date, bool, datetime, str, str]:
        """(due, provisional, fire_at, period code, legal basis) — what the engine would write."""
        basis, code, _before = _rule_for(rule_set, kind, start)
        key = (kind, start, code)
        hit = self._due_cache.get(key)
        if hit is None:
            hit = compute_due(kind, start, code, self.calendar)
            self._due_cache[key] = hit
        return hit[0], hit[1], hit[2], code, basis

    def fires(self, rule_set: RuleSet, kind: str, start: date) -> datetime:
        return self.compute(rule_set, kind, start)[2]

    def anchor(self, rule_set: RuleSet, kind: str, due: bool) -> date:
        """A start date whose deadline of ``kind`` is overdue at ``now`` (or still running)."""
        period = timed_rule(rule_set, kind).period
        if due:
            start = self.today - timedelta(days=_longest_days(period) + self.rng.randint(1, 15))
            while self.fires(rule_set, kind, start) > self.now:
                start -= timedelta(days=1)
        else:
            start = self.today - timedelta(days=self.rng.randint(0, max(0, _shortest_days(period) - 1)))
            while self.fires(rule_set, kind, start) <= self.now:
                start += timedelta(days=1)
        return start

    def gap(self, trigger: str) -> timedelta:
        low, high = GAPS.get(trigger, (1, 5))
        return timedelta(days=self.rng.randint(low, high))

    def place(self, steps: list[_Step], pin: int, day: date) -> None:
        """Date the steps: ``steps[pin]`` on ``day``, earlier ones backwards, later ones forwards
        (never after today)."""
        steps[pin].day = day
        for i in range(pin - 1, -1, -1):
            steps[i].day = steps[i + 1].day - self.gap(steps[i + 1].trigger)
        for i in range(pin + 1, len(steps)):
            steps[i].day = min(self.today, steps[i - 1].day + self.gap(steps[i].trigger))

    # --- plans -------------------------------------------------------------------------------

    def path(self, state: str, rule_set: RuleSet, *, rounds: int, deemed: bool) -> list[_Step]:
        """The transitions that bring a new case to ``state`` along the rule set's path."""
        after_signing = rule_set.disclosure_timing == "after_signing"
        s: list[_Step] = []
        if state == "preparation":
            return s
        if state == "terminated":
            if self.rng.random() < 0.5:
                return [_Step("terminate", "preparation", "terminated")]
            return [
                _Step("send_offer", "preparation", "offer_sent"),
                _Step("record_response", "offer_sent", "negotiating"),
                _Step("terminate", "negotiating", "terminated"),
            ]
        s.append(_Step("send_offer", "preparation", "offer_sent"))
        if state == "offer_sent":
            return s
        if state == "dispute":
            return [*s, _Step("apply_coordination", "offer_sent", "dispute")]
        s.append(_Step("record_response", "offer_sent", "negotiating"))
        s += [_Step("record_round", "negotiating", "negotiating") for _ in range(rounds)]
        if state == "negotiating":
            return s
        if state == "suspended":
            return [*s, _Step("suspend", "negotiating", "suspended")]
        s.append(_Step("submit_draft", "negotiating", "awaiting_congress"))
        if state == "awaiting_congress":
            return s
        s.append(_Step("record_congress_vote", "awaiting_congress", "awaiting_signature"))
        if state == "awaiting_signature":
            return s
        s.append(_Step("sign", "awaiting_signature", "signed"))
        if state == "signed":
            return s
        if after_signing:
            s.append(_Step("disclose", "signed", "disclosed"))
            if state == "disclosed":
                return s
            s.append(_Step("file_for_review", "disclosed", "under_review"))
        else:
            s.append(_Step("file_for_review", "signed", "under_review"))
        if state == "under_review":
            return s
        s.append(_Step("deem_approved" if deemed else "record_review_opinion", "under_review", "in_force"))
        if state == "in_force":
            return s
        assert state == "expired", state
        return [*s, _Step("expire", "in_force", "expired")]

    def plan(self, state: str, rule_set: RuleSet, due_kind: str | None) -> _Plan:
        rng = self.rng
        rounds = rng.randint(0, 2) if state == "negotiating" else rng.randint(1, 3)
        steps = self.path(state, rule_set, rounds=rounds, deemed=rng.random() < 0.6)
        index = {st.trigger: i for i, st in enumerate(steps)}  # the last of each trigger
        first = {st.trigger: i for i, st in reversed(list(enumerate(steps)))}
        plan = _Plan(state, steps, self.today, due_kind)
        cap = rule_set.negotiation_cap is not None
        cap_step = "send_offer" if rule_set.negotiation_cap_from == "offer" else "record_response"
        today = self.today

        if state == "offer_sent":
            self.place(steps, 0, self.anchor(rule_set, "response", due_kind == "response"))
            plan.deadlines.append(("response", steps[0].day, 0, None))
            if cap and cap_step == "send_offer":
                plan.deadlines.append(("negotiation_cap", steps[0].day, 0, None))
        elif state in ("negotiating", "suspended"):
            if cap:
                pin = first[cap_step]
                self.place(steps, pin, self.anchor(rule_set, "negotiation_cap", False))
                paused = steps[-1].day if state == "suspended" else None
                plan.deadlines.append(("negotiation_cap", steps[pin].day, pin, paused))
            else:
                self.place(steps, len(steps) - 1, today - timedelta(days=rng.randint(0, 30)))
        elif state == "dispute":
            pin = index["apply_coordination"]
            self.place(steps, pin, self.anchor(rule_set, "dispute", due_kind == "dispute"))
            plan.deadlines.append(("dispute", steps[pin].day, pin, None))
            if cap and cap_step == "send_offer":
                plan.deadlines.append(("negotiation_cap", steps[0].day, 0, steps[pin].day))
        elif state in ("signed", "disclosed"):
            pin = len(steps) - 1
            kind = (
                "disclosure"
                if state == "signed" and rule_set.disclosure_timing == "after_signing"
                else "filing"
            )
            self.place(steps, pin, self.anchor(rule_set, kind, due_kind == kind))
            plan.deadlines.append((kind, steps[pin].day, pin, None))
        elif state == "under_review":
            pin = len(steps) - 1
            self.place(steps, pin, self.anchor(rule_set, "review", due_kind == "review"))
            plan.deadlines.append(("review", steps[pin].day, pin, None))
        elif state in ("in_force", "expired"):
            self._in_force(plan, rule_set)
        elif steps:  # preparation has none; awaiting_*, terminated: no open deadline
            ago = {"terminated": 60}.get(state, 12)
            self.place(steps, len(steps) - 1, today - timedelta(days=rng.randint(0, ago)))

        plan.opened_on = (steps[0].day if steps else today) - timedelta(
            days=rng.randint(0, 5 if steps else 20)
        )
        index = {st.trigger: i for i, st in enumerate(steps)}  # again: in_force may have added a step
        if "submit_draft" in index:
            if plan.terms is None:
                submitted = steps[index["submit_draft"]].day
                start = _first_of_month(submitted + timedelta(days=40))
                plan.terms = self.terms(start, rng.choice((1, 1, 1, 2, 3)))
            for trigger, attribute in (
                ("sign", "signed_on"),
                ("file_for_review", "filed_on"),
                ("disclose", "disclosed_on"),
                ("record_review_opinion", "in_force_on"),
                ("deem_approved", "in_force_on"),
            ):
                if trigger in index:
                    plan.terms[attribute] = steps[index[trigger]].day
            plan.terms["approved"] = "record_congress_vote" in index
        return plan

    def _in_force(self, plan: _Plan, rule_set: RuleSet) -> None:
        """in_force / expired: everything follows from the agreement's term."""
        rng, today, steps = self.rng, self.today, plan.steps
        after_in_force = rule_set.disclosure_timing == "after_in_force"
        years = rng.choice((1, 1, 1, 2, 3))
        review = next(i for i, st in enumerate(steps) if st.dest == "in_force")
        disclosed = True
        if plan.state == "expired":
            term_end = today - timedelta(days=rng.randint(1, 400))
            in_force_on = _term_start(term_end, years) - timedelta(days=rng.randint(0, 25))
        elif plan.due_kind == "disclosure" or (
            after_in_force and plan.due_kind is None and rng.random() < 0.03
        ):
            # Recently in force (or overdue), not yet disclosed: the disclosure clock runs.
            in_force_on = self.anchor(rule_set, "disclosure", plan.due_kind == "disclosure")
            term_end = _term_end(_first_of_month(in_force_on + timedelta(days=31)), years)
            disclosed = False
        else:
            if plan.due_kind == "expiry":
                term_end = today - timedelta(days=rng.randint(1, 20))
            elif plan.due_kind == "renewal":
                term_end = today + timedelta(days=rng.randint(0, 55))
                while self.fires(rule_set, "renewal", term_end) > self.now:
                    term_end -= timedelta(days=1)
            else:
                term_end = today + timedelta(days=rng.randint(100, years * 365 - 30))
                while self.fires(rule_set, "renewal", term_end) <= self.now:
                    term_end += timedelta(days=1)
            in_force_on = min(today, _term_start(term_end, years) - timedelta(days=rng.randint(0, 25)))
        self.place(steps, review, in_force_on)
        if after_in_force and disclosed:
            steps.insert(review + 1, _Step("disclose", "in_force", "in_force"))
            steps[review + 1].day = min(today, in_force_on + self.gap("disclose"))
        if plan.state == "expired":
            steps[-1].day = term_end + timedelta(days=1)
        plan.terms = self.terms(_term_start(term_end, years), years, end=term_end)
        if plan.state == "in_force":
            if plan.due_kind != "expiry":  # past its renewal window a renewal was opened already
                plan.deadlines.append(("renewal", term_end, review, None))
            plan.deadlines.append(("expiry", term_end, review, None))
            if after_in_force and not disclosed:
                plan.deadlines.append(("disclosure", in_force_on, review, None))

    def terms(self, start: date, years: int, *, end: date | None = None) -> dict[str, Any]:
        rng = self.rng
        before = rng.randint(48, 75) * 100
        increase = rng.choice((8, 8.5, 9, 9.5, 10))
        after = round(before * (1 + increase / 100))
        return {
            "term_start": start,
            "term_end": end or _term_end(start, years),
            "avg_wage_before": Decimal(before).quantize(Decimal("0.01")),
            "avg_wage_after": Decimal(after).quantize(Decimal("0.01")),
            # As services.cases computes it, with the scale the NUMERIC(12,4) column gives back.
            "increase_pct": (Decimal(after - before) / Decimal(before) * 100)
            .quantize(Decimal("0.01"))
            .quantize(Decimal("0.0001")),
            "payment_day": rng.choice((10, 15, 20)),
            "increase": increase,
        }


def _shortest_days(period: Period) -> int:
    return period.amount * 28 if period.unit == "months" else period.amount


def _longest_days(period: Period) -> int:
    if period.unit == "months":
        return period.amount * 31 + 10
    if period.unit == "working_days":
        return period.amount * 7 // 5 + 12
    return period.amount + 10


def _first_of_month(d: date) -> date:
    return d.replace(day=1)


def _term_end(start: date, years: int) -> date:
    return add_months(start, 12 * years) - timedelta(days=1)


def _term_start(end: date, years: int) -> date:
    return add_months(end + timedelta(days=1), -12 * years)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def _due_assignments(cases: int, due: int, system_share: float) -> dict[int, str]:
    """Which case (by index) gets the j-th due deadline, and of which kind; spread evenly."""
    if due > cases:
        raise ValueError(f"due ({due}) cannot exceed cases ({cases}): one due deadline per case")
    systems = round(due * system_share)
    kinds = [SYSTEM_DUE[j % len(SYSTEM_DUE)] for j in range(systems)]
    kinds += [ESCALATE_DUE[j % len(ESCALATE_DUE)] for j in range(due - systems)]
    random.Random(due).shuffle(kinds)  # interleave, deterministically
    return {(2 * j + 1) * cases // (2 * due): kind for j, kind in enumerate(kinds)}


def _state_for_due(kind: str, rule_set: RuleSet) -> str:
    after_signing = rule_set.disclosure_timing == "after_signing"
    return {
        "response": "offer_sent",
        "dispute": "dispute",
        "filing": "disclosed" if after_signing else "signed",
        "disclosure": "signed" if after_signing else "in_force",
        "review": "under_review",
        "expiry": "in_force",
        "renewal": "in_force",
    }[kind]


def generate(
    db: Database,
    *,
    cases: int,
    due: int = 0,
    now: datetime,
    seed: int = 1,
    events_per_case: int = 1,
    jurisdictions: Sequence[str] = ("jiangsu",),
    system_share: float = 0.5,
    paperwork: bool = False,
    cases_per_street: int = CASES_PER_STREET,
    chunk: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a synthetic federation of ``cases`` enterprise cases; ``due`` deadlines are due at ``now``.

    ``events_per_case``: the create event, then up to ``events_per_case - 1`` of the transitions
    that led to the case's state (the latest ones), padded with representative records in
    preparation when the path is shorter. ``system_share``: the share of due deadlines the system
    fires itself (deem_approved, expire, open_renewal) rather than escalates. Returns counts.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if cases < 1 or due < 0 or events_per_case < 1:
        raise ValueError("cases >= 1, due >= 0 and events_per_case >= 1")
    rule_sets = [get_rule_set(j) for j in jurisdictions]
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    rng = random.Random(seed)
    with db.session(write=False) as session:
        calendar = runtime.calendar(session)
    gen = _Generator(
        now=now, rng=rng, calendar=calendar, events_per_case=events_per_case, paperwork=paperwork
    )
    definition = gen.definition
    t = {
        name: model.__table__
        for name, model in (
            ("org", OrgUnit),
            ("user", User),
            ("role", UserRole),
            ("enterprise", Enterprise),
            ("case", Case),
            ("event", Event),
            ("agreement", Agreement),
            ("deadline", Deadline),
            ("suspension", DeadlineSuspension),
            ("document", Document),
            ("rep", Representative),
            ("round", NegotiationRound),
            ("vote", CongressVote),
        )
    }
    tables = cast(dict[str, Table], t)
    with db.write_engine.begin() as conn:
        next_id = {name: _max_id(conn, table) + 1 for name, table in tables.items()}

    def take(name: str) -> int:
        value = next_id[name]
        next_id[name] = value + 1
        return value

    # --- the org tree and its people --------------------------------------------------------
    streets = max(1, math.ceil(cases / cases_per_street))
    # At least one district per jurisdiction (when there are streets enough), so small
    # federations still exercise every rule set; streets are dealt to districts in turn.
    districts = max(math.ceil(streets / STREETS_PER_DISTRICT), min(len(rule_sets), streets))
    created = legal_date(now) - timedelta(days=3 * 365)
    created_at = gen.instant(created)
    orgs: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []

    def org(parent: dict[str, Any] | None, level: str, name: str, jurisdiction: str) -> dict[str, Any]:
        oid = take("org")
        row = {
            "id": oid,
            "parent_id": parent["id"] if parent else None,
            "code": f"syn-{level[0]}{oid}",
            "name": name,
            "level": level,
            "path": f"{parent['path'] if parent else '/'}{oid}/",
            "jurisdiction": jurisdiction,
            "province": None,
            "created_at": created_at,
        }
        orgs.append(row)
        return row

    def user(unit: dict[str, Any], role: str, display: str) -> int:
        uid = take("user")
        users.append(
            {
                "id": uid,
                "username": f"syn-{role[:3]}{uid}",
                "display_name": display,
                "org_unit_id": unit["id"],
                "password_hash": None,
                "active": True,
                "created_at": created_at,
            }
        )
        roles.append({"id": take("role"), "user_id": uid, "role": role})
        return uid

    city = org(None, "city", "合成市总工会", rule_sets[0].code)
    admin_id = user(city, "federation_admin", "合成市总工会管理员")
    reviewer_id = user(city, "reviewer", "合成市人社局审查员")
    # Per street: (street row, its villages, its instructors (id, name)).
    street_units: list[tuple[dict[str, Any], list[dict[str, Any]], list[tuple[int, str]], RuleSet]] = []
    district_units = []
    for d in range(districts):
        rule_set = rule_sets[d % len(rule_sets)]
        district_units.append((org(city, "district", f"合成市第{d + 1}区总工会", rule_set.code), rule_set))
    for n in range(streets):
        district, rule_set = district_units[n % districts]
        street = org(
            district, "street", f"{district['name'][3:-3]}第{n // districts + 1}街道总工会", rule_set.code
        )
        villages = [
            org(street, "village", f"{street['name'][:-3]}第{v + 1}村工会联合会", rule_set.code)
            for v in range(VILLAGES_PER_STREET)
        ]
        instructors = []
        for _ in range(INSTRUCTORS_PER_STREET):
            name = _person(rng) + "（指导员）"
            instructors.append((user(street, "instructor", name), name))
        street_units.append((street, villages, instructors, rule_set))
    with db.write_engine.begin() as conn:
        sink = _Sink(conn)
        sink.write(tables["org"], orgs)
        sink.write(tables["user"], users)
        sink.write(tables["role"], roles)
    say(f"org tree: {len(orgs)} units, {len(users)} users")

    # --- enterprises and cases, chunk by chunk ----------------------------------------------
    assignments = _due_assignments(cases, due, system_share)
    states = list(STATE_WEIGHTS)
    cum_weights = list(itertools.accumulate(STATE_WEIGHTS.values()))
    stats: Counter[str] = Counter()
    due_written: Counter[str] = Counter()
    open_deadlines = 0
    reviewer_name = "合成市人社局审查员"
    for chunk_start in range(0, cases, chunk):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for index in range(chunk_start, min(cases, chunk_start + chunk)):
            street_index = index // cases_per_street
            street, villages, instructors, rule_set = street_units[street_index]
            unit = street if index % 4 == 0 else villages[index % VILLAGES_PER_STREET]
            instructor_id, instructor_name = instructors[index % INSTRUCTORS_PER_STREET]
            due_kind = assignments.get(index)
            if due_kind is not None:
                state = _state_for_due(due_kind, rule_set)
            else:
                state = rng.choices(states, cum_weights=cum_weights)[0]
                if state == "disclosed" and rule_set.disclosure_timing != "after_signing":
                    state = "signed"
            plan = _checked_plan(gen, state, rule_set, due_kind)
            stats[state] += 1
            if due_kind is not None:
                due_written[due_kind] += 1

            # Enterprise.
            eid = take("enterprise")
            trade = TRADES[rng.randrange(len(TRADES))]
            word = WORDS[rng.randrange(len(WORDS))] + WORDS[rng.randrange(len(WORDS))][:1]
            ename = f"{word}{trade}有限公司"
            headcount = rng.choice((18, 26, 35, 48, 60, 85, 120, 160, 240, 320, 450))
            area = 320200 + (street_index % districts) % 100
            rows["enterprise"].append(
                {
                    "id": eid,
                    "credit_code": complete_credit_code(f"91{area:06d}{eid:09d}"),
                    "name": ename,
                    "org_unit_id": unit["id"],
                    "sector_id": None,
                    "headcount": headcount,
                    "min_wage_tier": 1,
                    "address": None,
                    "legal_representative": _person(rng),
                    "union_name": f"{ename}工会",
                    "union_chair": _person(rng),
                    "created_at": created_at,
                }
            )

            # Case.
            cid = take("case")
            opened_at = gen.instant(plan.opened_on, 8)
            title = f"{ename}{plan.opened_on.year}年度工资专项集体合同"
            steps = plan.steps
            last_at = gen.instant(steps[-1].day, 10) if steps else opened_at
            rows["case"].append(
                {
                    "id": cid,
                    "number": f"{legal_date(opened_at).year}-E{cid:07d}",
                    "title": title,
                    "kind": "enterprise",
                    "parent_id": None,
                    "enterprise_id": eid,
                    "sector_id": None,
                    "org_unit_id": unit["id"],
                    "jurisdiction": rule_set.code,
                    "definition_name": definition.name,
                    "definition_version": definition.version,
                    "state": state,
                    "instructor_id": instructor_id,
                    "round": "renewal" if rng.random() < 0.7 else "new",
                    "previous_case_id": None,
                    "opened_at": opened_at,
                    "updated_at": last_at,
                    "version": 1 + len(steps),
                }
            )

            # Events: create, padding in preparation, then the latest transitions.
            def event(
                trigger: str,
                source: str | None,
                dest: str | None,
                at: datetime,
                payload: dict[str, Any],
                *,
                role: str = STAFF_ROLE,
                reason: str | None = None,
                out: list[dict[str, Any]] = rows["event"],
                case_id: int = cid,
                instructor: tuple[int, str] = (instructor_id, instructor_name),
            ) -> int:
                event_id = take("event")
                actor_id, actor_name = {
                    STAFF_ROLE: instructor,
                    REVIEWER_ROLE: (reviewer_id, reviewer_name),
                    SYSTEM_ROLE: (None, "系统"),
                }[role]
                out.append(
                    {
                        "id": event_id,
                        "case_id": case_id,
                        "trigger": trigger,
                        "from_state": source,
                        "to_state": dest,
                        "actor_id": actor_id,
                        "actor_name": actor_name,
                        "role": role,
                        "at": at,
                        "reason": reason,
                        "payload": payload,
                        "definition_name": definition.name,
                        "definition_version": definition.version,
                        "request_id": None,
                    }
                )
                return event_id

            event(
                "create",
                None,
                "preparation",
                opened_at,
                {
                    "kind": "enterprise",
                    "round": rows["case"][-1]["round"],
                    "previous_case_id": None,
                    "parent_id": None,
                },
            )
            budget = events_per_case - 1
            for _ in range(max(0, budget - len(steps))):
                event("add_representative", "preparation", "preparation", opened_at, {"count": 6})
            event_ids: dict[int, int] = {}
            first_kept = max(0, len(steps) - budget)
            for i, step in enumerate(steps):
                if i < first_kept and not (paperwork and step.trigger in DOCUMENT_OF):
                    continue
                payload = _payload(step)
                if i >= first_kept:
                    role = (
                        SYSTEM_ROLE
                        if step.trigger in SYSTEM_TRIGGERS
                        else REVIEWER_ROLE
                        if step.trigger == "record_review_opinion"
                        else STAFF_ROLE
                    )
                    event_ids[i] = event(
                        step.trigger,
                        step.source,
                        step.dest,
                        gen.instant(step.day, 10),
                        payload,
                        role=role,
                        reason=REASONS.get(step.trigger)
                        or ("审查期（逾期视为生效）期限届满" if step.trigger == "deem_approved" else None)
                        or ("合同期满期限届满" if step.trigger == "expire" else None),
                    )
                if paperwork and step.trigger in DOCUMENT_OF:
                    kind = DOCUMENT_OF[step.trigger]
                    rows["document"].append(
                        {
                            "id": take("document"),
                            "case_id": cid,
                            "kind": kind,
                            "title": DOCUMENTS[kind],
                            "data": {
                                "case_number": rows["case"][-1]["number"],
                                "values": payload,
                                "reason": None,
                            },
                            "event_id": event_ids.get(i),
                            "template_name": None,
                            "template_version": None,
                            "template_hash": None,
                            "pdf_sha256": None,
                            "storage_path": None,
                            "created_at": gen.instant(step.day, 10),
                        }
                    )

            # Agreement.
            if plan.terms is not None:
                terms = plan.terms
                agreement = {
                    "id": take("agreement"),
                    "case_id": cid,
                    "title": title,
                    "term_start": terms["term_start"],
                    "term_end": terms["term_end"],
                    "avg_wage_before": terms["avg_wage_before"],
                    "avg_wage_after": terms["avg_wage_after"],
                    "increase_pct": terms["increase_pct"],
                    "minimum_wage_clause": "企业支付给职工的工资不低于当地最低工资标准。",
                    "payment_day": terms["payment_day"],
                    "clauses": [
                        {
                            "title": "工资增长",
                            "text": f"本年度职工平均工资增长{terms['increase']}%，一线职工增幅不低于平均增幅。",
                        },
                        *CLAUSES,
                    ],
                    "text_hash": None,
                    "approved_text_hash": None,
                    "signed_on": terms.get("signed_on"),
                    "filed_on": terms.get("filed_on"),
                    "disclosed_on": terms.get("disclosed_on"),
                    "in_force_on": terms.get("in_force_on"),
                    "updated_at": last_at,
                }
                text_hash = content_hash(canonical_content(cast(Agreement, SimpleNamespace(**agreement)), []))
                agreement["text_hash"] = text_hash
                agreement["approved_text_hash"] = text_hash if terms["approved"] else None
                rows["agreement"].append(agreement)

            # Open deadlines.
            for kind, start, opened_by, paused_on in plan.deadlines:
                due_on, provisional, fire_at, code, basis = gen.compute(rule_set, kind, start)
                did = take("deadline")
                opened_event = event_ids.get(opened_by) if opened_by is not None else None
                rows["deadline"].append(
                    {
                        "id": did,
                        "case_id": cid,
                        "kind": kind,
                        "start_date": start,
                        "due": due_on,
                        "fire_at": fire_at,
                        "legal_basis": basis,
                        "period": code,
                        "provisional": provisional,
                        "on_expiry": ON_EXPIRY.get(kind, "escalate"),
                        "opened_by_event_id": opened_event,
                        "fired_at": None,
                        "fired_event_id": None,
                        "closed_at": None,
                        "closed_by_event_id": None,
                        "paused_at": gen.instant(paused_on, 10) if paused_on else None,
                        "created_at": gen.instant(steps[opened_by].day, 10)
                        if opened_by is not None
                        else opened_at,
                    }
                )
                open_deadlines += 1
                if paused_on is not None:
                    rows["suspension"].append(
                        {
                            "id": take("suspension"),
                            "deadline_id": did,
                            "suspended_on": paused_on,
                            "resumed_on": None,
                            "due_before": due_on,
                            "due_after": None,
                            "suspended_by_event_id": event_ids.get(len(steps) - 1),
                            "resumed_by_event_id": None,
                        }
                    )

            if HAS_NEXT_DUE:  # the inbox's sort key, as workflows.deadlines.refresh_next_due keeps it
                running = [
                    d["due"]
                    for d in rows["deadline"][len(rows["deadline"]) - len(plan.deadlines) :]
                    if d["paused_at"] is None
                ]
                rows["case"][-1]["next_due"] = min(running) if running else None
            if paperwork:
                _paperwork(rows, plan, cid, take, gen, opened_at)

        with db.write_engine.begin() as conn:
            sink = _Sink(conn)
            for name in (
                "enterprise",
                "case",
                "event",
                "agreement",
                "deadline",
                "suspension",
                "document",
                "rep",
                "round",
                "vote",
            ):
                sink.write(tables[name], rows[name])
        say(f"{min(cases, chunk_start + chunk):,} / {cases:,} cases")

    with db.write_engine.begin() as conn:
        _reset_sequences(conn, list(tables.values()))
    return {
        "cases": cases,
        "due": sum(due_written.values()),
        "due_kinds": dict(due_written),
        "open_deadlines": open_deadlines,
        "states": dict(stats),
        "org_units": len(orgs),
        "streets": streets,
        "districts": districts,
        "users": len(users),
        "admin_user_id": admin_id,
        "admin_username": f"syn-fed{admin_id}",
        "reviewer_user_id": reviewer_id,
        "events": next_id["event"] - 1,
        "now": now.isoformat(),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _checked_plan(gen: _Generator, state: str, rule_set: RuleSet, due_kind: str | None) -> _Plan:
    """A plan whose open deadlines are due exactly as intended (a few redraws at most)."""
    for _attempt in range(50):
        plan = gen.plan(state, rule_set, due_kind)
        due = 0
        ok = True
        for kind, start, _opened_by, paused_on in plan.deadlines:
            fire_at = gen.fires(rule_set, kind, start)
            if fire_at <= gen.now:
                if paused_on is not None:
                    ok = False  # paused clocks stay in the future too
                due += 1
        if ok and due == (1 if due_kind else 0):
            return plan
    raise RuntimeError(f"could not plan a {state} case with due={due_kind} under {rule_set.code}")


def _payload(step: _Step) -> dict[str, Any]:
    """What the action's event payload records (its input values, dates as ISO strings)."""
    template = PAYLOADS.get(step.trigger)
    if template is None:
        return {}
    return {key: step.day.isoformat() if value is _DAY else value for key, value in template.items()}


_DAY = object()  # placeholder for the step's own date
PAYLOADS: dict[str, dict[str, Any]] = {
    "send_offer": {"from_side": "worker", "sent_on": _DAY, "received_on": None, "subjects": "年度工资调整"},
    "record_response": {"responded_on": _DAY},
    "record_round": {"held_on": _DAY, "chair_side": "worker", "minutes": "双方就工资增长幅度交换意见。"},
    "suspend": {"expected_resume_on": None},
    "apply_coordination": {
        "applied_on": _DAY,
        "authority": "人力资源和社会保障局",
        "matter": "企业方未书面回应要约",
    },
    "submit_draft": {"submitted_on": _DAY},
    "record_congress_vote": {
        "held_on": _DAY,
        "total": 60,
        "present": 50,
        "votes_for": 46,
        "against": 2,
        "abstain": 2,
    },
    "sign": {"signed_on": _DAY},
    "disclose": {"disclosed_on": _DAY, "method": "厂务公开栏张贴"},
    "file_for_review": {
        "filed_on": _DAY,
        "received_on": None,
        "authority": "人力资源和社会保障局",
        "copies": 3,
    },
    "record_review_opinion": {"opinion_on": _DAY, "has_objections": False, "opinion": "予以确认。"},
}


def _paperwork(
    rows: dict[str, list[dict[str, Any]]],
    plan: _Plan,
    case_id: int,
    take: Callable[[str], int],
    gen: _Generator,
    opened_at: datetime,
) -> None:
    """Representatives, negotiation rounds and congress votes: what the next actions' guards read."""
    rng = gen.rng
    for side in ("worker", "employer"):
        for k in range(3):
            rows["rep"].append(
                {
                    "id": take("rep"),
                    "case_id": case_id,
                    "side": side,
                    "name": _person(rng),
                    "person_key": f"{case_id}-{side}-{k}",
                    "position": "工会主席" if side == "worker" and k == 0 else None,
                    "chief": k == 0,
                    "outsider": False,
                    "front_line": side == "worker" and k > 0,
                    "created_at": opened_at,
                }
            )
    number = 0
    for step in plan.steps:
        at = gen.instant(step.day, 10)
        if step.trigger == "record_round":
            number += 1
            rows["round"].append(
                {
                    "id": take("round"),
                    "case_id": case_id,
                    "number": number,
                    "held_on": step.day,
                    "place": None,
                    "chair_side": "worker",
                    "recorder": None,
                    "attendees": None,
                    "minutes": "双方就工资增长幅度交换意见。",
                    "outcome": None,
                    "created_at": at,
                }
            )
        elif step.trigger == "record_congress_vote":
            rows["vote"].append(
                {
                    "id": take("vote"),
                    "case_id": case_id,
                    "held_on": step.day,
                    "total": 60,
                    "present": 50,
                    "votes_for": 46,
                    "against": 2,
                    "abstain": 2,
                    "quorum_met": True,
                    "passed": True,
                    "reason": "出席50人，达到应到人数的三分之二；赞成46票，达到全体代表半数，通过",
                    "rule_basis": "《集体合同规定》第三十六条",
                    "text_hash": None,
                    "created_at": at,
                }
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.synthetic", description="Write a synthetic federation into a database."
    )
    parser.add_argument("--url", required=True, help="database URL (sqlite:///… or postgresql+psycopg://…)")
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--due", type=int, default=0, help="open deadlines already due at --now")
    parser.add_argument("--now", help="ISO instant with zone (default: the current time)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events-per-case", type=int, default=1)
    parser.add_argument("--jurisdiction", action="append", help="rule set per district, cycled (repeatable)")
    parser.add_argument("--system-share", type=float, default=0.5)
    parser.add_argument(
        "--paperwork", action="store_true", help="also representatives, documents, rounds, votes"
    )
    parser.add_argument("--no-migrate", action="store_true", help="the schema is already at head")
    args = parser.parse_args(argv)
    if not args.no_migrate:
        from .migrate import upgrade

        upgrade(args.url)
    now = datetime.fromisoformat(args.now) if args.now else runtime.utcnow()
    db = open_database(args.url)
    try:
        result = generate(
            db,
            cases=args.cases,
            due=args.due,
            now=now,
            seed=args.seed,
            events_per_case=args.events_per_case,
            jurisdictions=tuple(args.jurisdiction or ("jiangsu",)),
            system_share=args.system_share,
            paperwork=args.paperwork,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    finally:
        db.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
