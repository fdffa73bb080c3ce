"""Deadline sweep over a large federation: by default 1,000,000 cases with 10,000 deadlines due.

What is timed: one call of ``services.deadlines.sweep(db, now, keep_details=False)`` — what the
scheduler's tick does — on a fresh copy of a generated federation (``services.synthetic``) in
which exactly ``--due`` open deadlines have ``fire_at <= now``: ``--system-share`` of them fired by
the system through the engine (deem_approved, expire, open_renewal), the rest escalations
(an overdue event each). Goal: <= 2 s.

Baselines, measured in the same run, each on its own fresh copy of the same database:

- floor: one SELECT of the due rows with the sweep's own predicate (no LIMIT), all fetched;
- set-based SQL: a hand-written bulk INSERT … SELECT of an overdue event per due deadline, then
  UPDATEs marking the deadlines fired and touching their cases, in one transaction — the cheapest
  way to write escalations (it treats every due row as an escalation: no engine transitions).

Before each timed step the due rows are read once untimed, so every contender starts as warm.
After the sweep it checks the outcome (every due deadline fired once, none failed, a second
sweep finds nothing). SQLite files are generated once and reused (``--data-dir``).

    .venv/bin/python -m benchmarks.deadline_sweep --backend sqlite
    bash scripts/pg.sh .venv/bin/python -m benchmarks.deadline_sweep --backend postgres
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text

from bargaining.db import Database
from bargaining.models import Deadline
from services import deadlines as deadlines_service
from services.deadlines import SweepReport, sweep
from services.synthetic import generate

from ._support import NOW, PG_URL, Copies, backends, machine, postgres_version, pristine, summary

DUE = (
    Deadline.fire_at <= NOW,
    Deadline.fired_at.is_(None),
    Deadline.closed_at.is_(None),
    Deadline.paused_at.is_(None),
)
_AT = bindparam("now", NOW, type_=Deadline.__table__.c.fire_at.type)

SQLITE_ESCALATE = (
    """INSERT INTO events (case_id, "trigger", from_state, to_state, actor_id, actor_name, role, at,
           reason, payload, definition_name, definition_version, request_id)
       SELECT d.case_id, 'deadline_overdue', c.state, c.state, NULL, '系统', 'system', :now,
           d.kind || '期限（' || d.due || '）已届满',
           json_object('deadline_id', d.id, 'kind', d.kind, 'due', d.due),
           c.definition_name, c.definition_version, NULL
       FROM deadlines d JOIN cases c ON c.id = d.case_id
       WHERE d.fire_at <= :now AND d.fired_at IS NULL AND d.closed_at IS NULL AND d.paused_at IS NULL
       ORDER BY d.fire_at, d.id""",
    """UPDATE deadlines SET fired_at = :now, fired_event_id = (
           SELECT e.id FROM events e INDEXED BY ix_events_case_at WHERE e.case_id = deadlines.case_id AND e.at = :now
           AND e."trigger" = 'deadline_overdue' AND json_extract(e.payload, '$.deadline_id') = deadlines.id)
       WHERE fire_at <= :now AND fired_at IS NULL AND closed_at IS NULL AND paused_at IS NULL""",
    """UPDATE cases SET updated_at = :now, version = version + 1
       WHERE id IN (SELECT case_id FROM events WHERE at = :now AND "trigger" = 'deadline_overdue')""",
)
POSTGRES_ESCALATE = (
    """WITH due AS (
           SELECT d.id, d.case_id, d.kind, d.due, d.fire_at FROM deadlines d
           WHERE d.fire_at <= :now AND d.fired_at IS NULL AND d.closed_at IS NULL AND d.paused_at IS NULL
           FOR UPDATE),
       ev AS (
           INSERT INTO events (case_id, "trigger", from_state, to_state, actor_id, actor_name, role, at,
               reason, payload, definition_name, definition_version, request_id)
           SELECT due.case_id, 'deadline_overdue', c.state, c.state, NULL, '系统', 'system', :now,
               due.kind || '期限（' || due.due || '）已届满',
               json_build_object('deadline_id', due.id, 'kind', due.kind, 'due', due.due),
               c.definition_name, c.definition_version, NULL
           FROM due JOIN cases c ON c.id = due.case_id ORDER BY due.fire_at, due.id
           RETURNING id, case_id, (payload->>'deadline_id')::int AS deadline_id),
       marked AS (
           UPDATE deadlines SET fired_at = :now, fired_event_id = ev.id FROM ev
           WHERE deadlines.id = ev.deadline_id RETURNING deadlines.case_id)
       UPDATE cases SET updated_at = :now, version = version + 1
       WHERE id IN (SELECT case_id FROM marked)""",
)


def read_due(db: Database) -> tuple[float, int]:
    started = time.perf_counter()
    with db.session(write=False) as s:
        rows = s.execute(
            select(Deadline.id, Deadline.case_id).where(*DUE).order_by(Deadline.fire_at, Deadline.id)
        ).all()
    return time.perf_counter() - started, len(rows)


def set_based_sql(db: Database) -> float:
    statements = SQLITE_ESCALATE if db.is_sqlite else POSTGRES_ESCALATE
    started = time.perf_counter()
    with db.write_engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement).bindparams(_AT))
    return time.perf_counter() - started


def timed_sweep(
    db: Database, batch_size: int, profile: bool
) -> tuple[float, SweepReport, float, pstats.Stats | None]:
    """The sweep's wall time, its report, and the time spent firing system transitions (the
    engine's work and its flushes: ``services.deadlines._fire_by_system``)."""
    real_fire = deadlines_service._fire_by_system
    in_engine = [0.0]
    cpu = time.process_time()

    def counted_fire(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_fire(*args, **kwargs)
        finally:
            in_engine[0] += time.perf_counter() - t

    deadlines_service._fire_by_system = counted_fire  # type: ignore[assignment]
    profiler = cProfile.Profile() if profile else None
    try:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = sweep(db, NOW, batch_size=batch_size, keep_details=False)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    finally:
        deadlines_service._fire_by_system = real_fire  # type: ignore[assignment]
    CPU_SECONDS.append(time.process_time() - cpu)
    LOAD.append(os.getloadavg()[0])
    return elapsed, report, in_engine[0], pstats.Stats(profiler) if profiler else None


CPU_SECONDS: list[float] = []  # this process's CPU time per timed sweep (SQLite: nearly all of it)
LOAD: list[float] = []  # 1-minute load average after each timed sweep (the machine may be shared)


def check(db: Database, report: SweepReport, due: int) -> str:
    """Every due deadline fired once, none failed, nothing due left, a second sweep idle.

    A deemed approval takes effect on its legal day, often weeks before ``now``: the disclosure
    period it opens may be over already, and the same sweep escalates it. Those are counted apart.
    """
    problems = []
    with db.session(write=False) as s:
        opened = s.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.created_at == NOW, Deadline.fired_at.is_not(None))
        )
    if report.escalated + report.fired != due + (opened or 0) or report.failed:
        problems.append(
            f"report {report.escalated}+{report.fired} (+{report.failed} failed) != {due} + {opened} opened"
        )
    with db.session(write=False) as s:
        left = s.scalar(select(func.count()).select_from(Deadline).where(*DUE))
    if left:
        problems.append(f"{left} due deadlines left")
    started = time.perf_counter()
    again = sweep(db, NOW + timedelta(seconds=1), keep_details=False)
    idle = time.perf_counter() - started
    if again.total:
        problems.append(f"second sweep fired {again.total}")
    return (
        "ok" if not problems else "FAILED: " + "; ".join(problems)
    ) + f"; an idle sweep then took {idle:.3f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.deadline_sweep", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument(
        "--system-share", type=float, default=0.5, help="share of due deadlines the system fires"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="timed sweeps, each on a fresh copy")
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench"))
    parser.add_argument("--profile", action="store_true", help="cProfile the (last) sweep")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    print(
        f"deadline sweep: {args.cases:,} cases, {args.due:,} due ({args.system_share:.0%} system-fired), "
        f"batch {args.batch_size}"
    )
    print(f"machine: {machine()}")
    if PG_URL:
        print(f"PostgreSQL {postgres_version(PG_URL)} (scripts/pg.sh: fsync off, synchronous_commit off)")
    key = {
        "name": "sweep",
        "cases": args.cases,
        "due": args.due,
        "seed": args.seed,
        "share": args.system_share,
    }
    for backend in backends(args.backend):

        def build(db: Database) -> dict[str, Any]:
            return generate(
                db,
                cases=args.cases,
                due=args.due,
                now=NOW,
                seed=args.seed,
                system_share=args.system_share,
                progress=say,
            )

        copies: Copies
        copies, generated = pristine(backend, key=key, build=build, data_dir=args.data_dir, say=say)
        kinds = generated["due_kinds"]
        say(f"due kinds: {kinds}")

        with copies.fresh() as db:
            read_due(db)
            floor, rows = read_due(db)
        assert rows == args.due, (rows, args.due)
        with copies.fresh() as db:
            read_due(db)
            sql = set_based_sql(db)
        sweeps, engine_times, checks = [], [], []
        stats = None
        for n in range(args.repeat):
            with copies.fresh() as db:
                read_due(db)
                elapsed, report, in_engine, stats = timed_sweep(
                    db, args.batch_size, args.profile and n == args.repeat - 1
                )
                sweeps.append(elapsed)
                engine_times.append(in_engine)
                checks.append(check(db, report, args.due))
        best = min(sweeps)
        rest = [s - e for s, e in zip(sweeps, engine_times, strict=True)]
        print(f"\n[{backend}]")
        print(f"  floor: SELECT the {rows:,} due rows                  {floor:8.3f} s")
        print(f"  set-based SQL escalating all {rows:,} due rows       {sql:8.3f} s")
        print(
            f"  services.deadlines.sweep                            {summary(sweeps)} s"
            f"   -> goal <= 2 s {'MET' if best <= 2 else 'MISSED'}"
        )
        print(
            f"    firing {report.fired:,} system transitions (engine and flushes): {summary(engine_times)} s"
            f" = {1000 * min(engine_times) / max(1, report.fired):.2f} ms each"
        )
        print(
            f"    the rest ({report.escalated:,} escalations, claiming, locking, commits): {summary(rest)} s"
        )
        print(
            f"    this process's CPU time {summary(CPU_SECONDS[-args.repeat :])} s;"
            f" load average {summary(LOAD[-args.repeat :])} on {os.cpu_count()} cores"
        )
        print(f"  sweep / set-based SQL: {best / sql:.1f}x;  check: {checks[-1]}")
        if stats is not None:
            stats.sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
