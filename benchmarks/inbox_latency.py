"""Inbox and case-list latency on a large federation (default 1,000,000 cases), beside raw SQL.

What is timed: the *server time* of ``GET /inbox`` (the HTML page) and ``GET /api/cases`` — each
request sent in-process through httpx's ASGITransport to the app of ``services.web.app.create_app``
and timed around the ASGI call itself (``_web_common.ServerTimer``): routing, middleware, sign-in
lookup, the inbox query, the page's filter options, rendering; no socket, no client. Nothing is
added to product code. Requests are sequential, after a warm-up.

Who asks (a generated federation from ``services.synthetic``, one enterprise case per enterprise):

- an instructor of one street (about 2,000 cases in the street, about 670 of them theirs) — their
  inbox, sorted by next deadline: ``/inbox`` (first page) and its last page;
- the city federation admin, over the whole city — ``/inbox?mine=0``, page 201 of it (offset
  10,000), filtered by stage (``stage=offer_sent``) and by overdue (``overdue=1``);
- ``/api/cases?limit=50`` with an API token, as the admin (whole city) and as the instructor (street).

Baseline, measured in the same loop (one raw query, one request, alternately): the same query
hand-written — ``count(*)`` over the same join and filter, capped as the inbox caps it (up to
``services.case_list.TOTAL_CAP`` or as far as the page reaches), then the page of cases
(``ORDER BY next_due IS NULL, next_due, id LIMIT/OFFSET``) with its enterprise and instructor
names — on a plain driver connection (sqlite3 / psycopg) of the product's read engine. The run
checks that the page's rows and total are exactly the raw query's. Also per request: the time
inside the driver (execute + fetch) and the statement count, this process's CPU time (on SQLite it
includes the database's work) and, on PostgreSQL, the server's CPU time — so a machine shared with
other work can still be read (wall times stretch with the load average; CPU times much less).

Goal: p95 <= 50 ms server time. ``--explain`` prints, per scenario, the slowest statements of one
request with their plans (PostgreSQL: EXPLAIN ANALYZE); ``--profile N`` a cProfile of N requests;
``--extra-sql`` runs a statement (e.g. a candidate index, or ANALYZE) on the measured copy first, to
measure a fix before proposing it. The generated database is reused: SQLite under ``--data-dir``,
PostgreSQL for the life of the server (``_web_common.generated_database``).

    .venv/bin/python -m benchmarks.inbox_latency --backend sqlite            # 1M cases: file reused
    bash scripts/pg.sh .venv/bin/python -m benchmarks.inbox_latency --backend postgres
    .venv/bin/python -m benchmarks.inbox_latency --cases 20000 --requests 100   # quick
    .venv/bin/python -m benchmarks.inbox_latency --backend sqlite \\
        --extra-sql "CREATE INDEX ix_cases_due_order ON cases ((next_due IS NULL), next_due, id)" \\
        --extra-sql "ANALYZE"
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func, select, text

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import Case, User, UserRole
from bargaining.rules.periods import legal_date
from services import runtime
from services.case_list import TOTAL_CAP
from services.identity import actor_for
from services.synthetic import generate
from services.web.app import create_app
from services.workbench import InboxFilter, inbox

from ._support import NOW, PG_URL, backends, machine, postgres_version
from ._web_common import (
    ServerTimer,
    SqlTimer,
    generated_database,
    load_average,
    ms,
    new_api_token,
    percentile,
    postmaster_pid,
    settings_for,
    sign_in,
    tree_cpu,
)

GOAL_P95 = 0.050
PAGE = 50


@dataclass(frozen=True)
class Scenario:
    name: str
    who: str  # "instructor" | "admin"
    via: str  # "page" (session cookie) | "api" (bearer token)
    path: str
    filter: InboxFilter  # the same query through services.workbench (the page's and the API's)


@dataclass
class Who:
    actor: Actor
    cookie: str
    token: str


def scenarios(instructor_total: int) -> list[Scenario]:
    last = max(1, -(-instructor_total // PAGE))
    mine = InboxFilter(instructor="me", limit=PAGE)
    city = InboxFilter(limit=PAGE)
    return [
        Scenario("instructor /inbox (mine, page 1)", "instructor", "page", "/inbox", mine),
        Scenario(
            f"instructor /inbox?page={last} (last page)",
            "instructor",
            "page",
            f"/inbox?page={last}",
            replace(mine, offset=(last - 1) * PAGE),
        ),
        Scenario("admin /inbox?mine=0 (whole city)", "admin", "page", "/inbox?mine=0", city),
        Scenario(
            "admin /inbox?mine=0&page=201 (offset 10,000)",
            "admin",
            "page",
            "/inbox?mine=0&page=201",
            replace(city, offset=200 * PAGE),
        ),
        Scenario(
            "admin /inbox?mine=0&stage=offer_sent",
            "admin",
            "page",
            "/inbox?mine=0&stage=offer_sent",
            replace(city, stage="offer_sent"),
        ),
        Scenario(
            "admin /inbox?mine=0&overdue=1",
            "admin",
            "page",
            "/inbox?mine=0&overdue=1",
            replace(city, overdue=True),
        ),
        Scenario("admin GET /api/cases?limit=50", "admin", "api", "/api/cases?limit=50", city),
        Scenario("instructor GET /api/cases?limit=50", "instructor", "api", "/api/cases?limit=50", city),
    ]


# ---- the raw SQL baseline ----------------------------------------------------------------------

COLUMNS = (
    "c.id, c.number, c.title, c.kind, c.state, c.jurisdiction, c.definition_name, c.definition_version, "
    "c.version, c.round, c.next_due, e.name, u.display_name"
)


def raw_queries(actor: Actor, f: InboxFilter, today: date, postgres: bool) -> tuple[str, str, dict[str, Any]]:
    """(count SQL, page SQL, parameters) for what the inbox shows ``actor`` under ``f``."""
    where = ["o.path LIKE :prefix"]
    params: dict[str, Any] = {"prefix": f"{actor.org_path}%", "limit": f.limit, "offset": f.offset}
    if f.instructor == "me":
        where.append("c.instructor_id = :me")
        params["me"] = actor.user_id
    if f.stage:
        where.append("c.state = :stage")
        params["stage"] = f.stage
    if f.overdue:
        where.append("c.next_due < :today")
        params["today"] = today if postgres else today.isoformat()
    assert f.sort == "next_due" and not (f.kind or f.sector or f.region or f.q), "not a benchmark scenario"
    scope = "FROM cases c JOIN org_units o ON o.id = c.org_unit_id WHERE " + " AND ".join(where)
    # The inbox counts only as far as it shows (services/case_list.py): so does the baseline.
    params["cap"] = max(TOTAL_CAP, f.offset + f.limit) + 1
    count = f"SELECT count(*) FROM (SELECT 1 {scope} LIMIT :cap) x"
    order = "ORDER BY c.next_due IS NULL, c.next_due, c.id"
    page = (  # the page of cases first, then the names of its 50 rows
        f"SELECT {COLUMNS} FROM (SELECT c.* {scope} {order} LIMIT :limit OFFSET :offset) c "
        f"LEFT JOIN enterprises e ON e.id = c.enterprise_id LEFT JOIN users u ON u.id = c.instructor_id {order}"
    )
    if postgres:  # psycopg's paramstyle
        for name in params:
            count = count.replace(f":{name}", f"%({name})s")
            page = page.replace(f":{name}", f"%({name})s")
    return count, page, params


class Raw:
    """The baseline on one plain driver connection of the product's own read engine."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.read_engine.raw_connection()
        self.cursor: Any = self.conn.cursor()

    def run(self, count: str, page: str, params: dict[str, Any]) -> tuple[int, list[int]]:
        cursor = self.cursor
        cursor.execute(count, params)
        total = min(int(cursor.fetchone()[0]), params["cap"] - 1)
        cursor.execute(page, params)
        ids = [row[0] for row in cursor.fetchall()]
        if self.db.is_postgres:
            self.conn.rollback()  # end the read transaction, as the app's unit of work does
        return total, ids

    def close(self) -> None:
        self.cursor.close()
        self.conn.close()


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: Scenario
    total: int
    server: list[float]
    raw: list[float]
    sql: list[float]
    cpu: list[float]  # this process's CPU time per request (SQLite: the database's too)
    pg_cpu: list[float]  # the PostgreSQL server's CPU time per request (its processes on this machine)
    statements: int
    check: str


def clock(started_real: float) -> datetime:
    """The app's clock: the generator's NOW, advancing in real time (sessions touched once a minute)."""
    return NOW + timedelta(seconds=time.monotonic() - started_real)


def pick_instructor(db: Database) -> str:
    """The first generated instructor (every instructor has about the same number of cases)."""
    with db.session(write=False) as s:
        first = s.execute(
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "instructor", User.username.like("syn-%"))
            .order_by(User.id)
            .limit(1)
        ).scalar_one()
    return str(first)


async def measure(
    db: Database,
    people: dict[str, Who],
    chosen: list[Scenario],
    *,
    requests: int,
    warmup: int,
    budget: float,
    explain: bool,
    say: Any,
) -> list[Result]:
    app = create_app(settings_for(db), db, scheduler=False)
    timer = ServerTimer(app)
    sql = SqlTimer()
    raw = Raw(db)
    results: list[Result] = []
    postgres = db.is_postgres
    postmaster = postmaster_pid(db) if postgres else None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timer), base_url="http://bench") as client:

        async def get(s: Scenario) -> httpx.Response:
            who = people[s.who]
            headers = (
                {"Cookie": f"bargaining_session={who.cookie}"}
                if s.via == "page"
                else {"Authorization": f"Bearer {who.token}"}
            )
            return await client.get(s.path, headers=headers)

        with sql.listening(db.read_engine, db.write_engine):
            for s in chosen:
                who = people[s.who]
                today = legal_date(runtime.utcnow())
                count_sql, page_sql, params = raw_queries(who.actor, s.filter, today, postgres)
                expected_total, expected_ids = raw.run(count_sql, page_sql, params)
                service = inbox(db, who.actor, s.filter, now=runtime.utcnow())
                problems = []
                if service["total"] != expected_total or [i["id"] for i in service["items"]] != expected_ids:
                    problems.append("services.workbench.inbox differs from the raw SQL")
                for _ in range(warmup):
                    raw.run(count_sql, page_sql, params)
                    await get(s)
                server: list[float] = []
                raw_times: list[float] = []
                sql_times: list[float] = []
                cpu_times: list[float] = []
                pg_times: list[float] = []
                statements = 0
                started = time.perf_counter()
                while len(server) < requests and (time.perf_counter() - started < budget or len(server) < 20):
                    t = time.perf_counter()
                    raw.run(count_sql, page_sql, params)
                    raw_times.append(time.perf_counter() - t)
                    sql.reset()
                    pg_before = tree_cpu(postmaster) if postmaster else 0.0
                    cpu = time.process_time()
                    response = await get(s)
                    cpu_times.append(time.process_time() - cpu)
                    if postmaster:
                        pg_times.append(tree_cpu(postmaster) - pg_before)
                    server.append(timer.last)
                    sql_seconds, statements = sql.reset()
                    sql_times.append(sql_seconds)
                    if response.status_code != 200:
                        problems.append(f"HTTP {response.status_code}")
                        break
                    if s.via == "api" and len(server) == 1:
                        body = response.json()
                        if (
                            body["total"] != expected_total
                            or [i["id"] for i in body["items"]] != expected_ids
                        ):
                            problems.append("API page differs from the raw SQL")
                    if s.via == "page" and len(server) == 1 and expected_ids:
                        first = service["items"][0]["number"]
                        if first not in response.text:
                            problems.append(f"page does not show {first}")
                check = "ok" if not problems else "FAILED: " + "; ".join(dict.fromkeys(problems))
                results.append(
                    Result(
                        s,
                        expected_total,
                        server,
                        raw_times,
                        sql_times,
                        cpu_times,
                        pg_times,
                        statements,
                        check,
                    )
                )
                say(
                    f"{s.name}: n={len(server)} p50 {ms(percentile(server, 50))} ms, "
                    f"raw p50 {ms(percentile(raw_times, 50))} ms ({check})"
                )
        if explain:
            for s in chosen:
                await explain_request(db, s, get)
    raw.close()
    return results


async def explain_request(db: Database, s: Scenario, get: Any) -> None:
    """One more request: its statements by time, the slow ones with their plans."""
    seen: list[tuple[float, str, Any]] = []
    marks: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        marks.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((time.perf_counter() - marks.pop(), statement, parameters))

    engines = list({id(e): e for e in (db.read_engine, db.write_engine)}.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    try:
        started = time.perf_counter()
        await get(s)
        elapsed = time.perf_counter() - started
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
    in_sql = sum(t for t, _s, _p in seen)
    print(
        f"\n  --explain {s.name}: {ms(elapsed)} ms, {len(seen)} statements,"
        f" {ms(in_sql)} ms in cursor.execute (SQLite: rows fetched later are not in it)"
    )
    for seconds, statement, parameters in sorted(seen, key=lambda x: -x[0])[:4]:
        print(f"    {ms(seconds)} ms  {' '.join(statement.split())[:400]}")
        if seconds < 0.005 or not statement.lstrip().upper().startswith("SELECT"):
            continue
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.is_postgres else "EXPLAIN QUERY PLAN "
        with db.read_engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        for row in rows:
            print("        " + (str(row[0]) if db.is_postgres else f"{row[1]:>3} {row[3]}"))


async def profile(db: Database, people: dict[str, Who], chosen: list[Scenario], requests: int) -> None:
    """cProfile of ``requests`` requests per scenario, the sync endpoint run inline (not in a thread)
    so the profiler sees it; for finding where the time goes, not for the figures."""
    import cProfile
    import pstats

    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    modules = (fastapi.routing, fastapi.dependencies.utils)
    saved = [getattr(m, "run_in_threadpool") for m in modules]  # noqa: B009
    for m in modules:
        setattr(m, "run_in_threadpool", inline)  # noqa: B010
    try:
        app = create_app(settings_for(db), db, scheduler=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for s in chosen:
                who = people[s.who]
                headers = (
                    {"Cookie": f"bargaining_session={who.cookie}"}
                    if s.via == "page"
                    else {"Authorization": f"Bearer {who.token}"}
                )
                for _ in range(3):
                    await client.get(s.path, headers=headers)
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(requests):
                    await client.get(s.path, headers=headers)
                profiler.disable()
                print(f"\n  --profile {s.name}: {requests} requests, cumulative")
                stats = pstats.Stats(profiler).sort_stats("cumulative")
                stats.print_stats(30)
                stats.print_stats(r"/(services|workflows|bargaining)/", 30)  # the product's own code
    finally:
        for m, original in zip(modules, saved, strict=True):
            setattr(m, "run_in_threadpool", original)  # noqa: B010


def report(backend: str, results: list[Result], cases: int) -> None:
    print(f"\n[{backend}] {cases:,} cases; server time (ASGI call) vs raw SQL (count + page), ms")
    pg = any(r.pg_cpu for r in results)
    print(
        f"  {'scenario':<46} {'total':>9} {'n':>4}  {'p50':>7} {'p95':>7} {'max':>7}"
        f"  {'raw p50':>7} {'raw p95':>7}  {'SQL p50':>7} {'stmts':>5} {'CPU p50':>7}"
        + (f" {'PG CPU':>7}" if pg else "")  # a mean: /proc counts CPU in 10 ms ticks
        + "  goal p95<=50"
    )
    for r in results:
        p95 = percentile(r.server, 95)
        print(
            f"  {r.scenario.name:<46} {r.total:>9,} {len(r.server):>4}  {ms(percentile(r.server, 50))} {ms(p95)}"
            f" {ms(max(r.server))}  {ms(percentile(r.raw, 50))} {ms(percentile(r.raw, 95))}"
            f"  {ms(percentile(r.sql, 50))} {r.statements:>5} {ms(percentile(r.cpu, 50))}"
            + (f" {ms(sum(r.pg_cpu) / len(r.pg_cpu))}" if r.pg_cpu else "")
            + f"  {'MET' if p95 <= GOAL_P95 else 'MISSED'}"
            + ("" if r.check == "ok" else f"  {r.check}")
        )
    print(
        "  raw = the same query hand-written (count, then the page with its names) on a plain driver"
        " connection; SQL = time inside the driver during the request, execute + fetch (stmts: how many);"
        " CPU = this process's CPU time per request (on SQLite the database's work is in it)"
        + (
            "; PG CPU = the PostgreSQL server's CPU time per request (parallel workers included)"
            if pg
            else ""
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.inbox_latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000, help="overdue deadlines (for the overdue filter)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--budget", type=float, default=120, help="seconds per scenario at most (n >= 20)")
    parser.add_argument("--only", action="append", help="scenarios whose name contains this (repeatable)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench"))
    parser.add_argument("--explain", action="store_true", help="plans of each scenario's slowest statements")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile N requests per scenario"
    )
    parser.add_argument(
        "--extra-sql",
        action="append",
        default=[],
        help="run on the measured copy first (e.g. CREATE INDEX …)",
    )
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    print(
        f"inbox latency: {args.cases:,} cases ({args.due:,} overdue), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(f"machine: {machine()}")
    if PG_URL and "postgres" in backends(args.backend):
        print(f"PostgreSQL {postgres_version(PG_URL)} (scripts/pg.sh: fsync off, synchronous_commit off)")
    for statement in args.extra_sql:
        print(f"extra SQL on the measured copy: {statement}")
    key = {"name": "inbox", "cases": args.cases, "due": args.due, "seed": args.seed}
    real_utcnow = runtime.utcnow
    for backend in backends(args.backend):

        def build(db: Database) -> dict[str, Any]:
            return generate(db, cases=args.cases, due=args.due, now=NOW, seed=args.seed, progress=say)

        copies, generated = generated_database(backend, key=key, build=build, data_dir=args.data_dir, say=say)
        with copies.fresh() as db:
            for statement in args.extra_sql:
                started = time.perf_counter()
                with db.write_engine.begin() as conn:
                    conn.execute(text(statement))
                if db.is_postgres:
                    with db.write_engine.connect() as conn:
                        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE cases"))
                say(f"extra SQL took {time.perf_counter() - started:.1f} s")
            started_real = time.monotonic()
            runtime.utcnow = lambda start=started_real: clock(start)  # type: ignore[misc]
            try:
                now = runtime.utcnow()
                settings = settings_for(db)
                instructor = pick_instructor(db)
                admin = str(generated["admin_username"])
                people: dict[str, Who] = {}
                for role, username in (("instructor", instructor), ("admin", admin)):
                    with db.session(write=False) as s:
                        user = s.scalar(select(User).where(User.username == username))
                        assert user is not None
                        actor = actor_for(user)
                    people[role] = Who(
                        actor,
                        sign_in(db, settings, username, now).cookie,
                        new_api_token(db, settings, username, now),
                    )
                with db.session(write=False) as s:
                    mine = s.scalar(
                        select(func.count())
                        .select_from(Case)
                        .where(Case.instructor_id == people["instructor"].actor.user_id)
                    )
                chosen = [
                    s
                    for s in scenarios(int(mine or 0))
                    if not args.only or any(part in s.name for part in args.only)
                ]
                say(f"{backend}: instructor {instructor} ({mine} cases), admin {admin}")
                results = asyncio.run(
                    measure(
                        db,
                        people,
                        chosen,
                        requests=args.requests,
                        warmup=args.warmup,
                        budget=args.budget,
                        explain=args.explain,
                        say=say,
                    )
                )
                if args.profile:
                    asyncio.run(profile(db, people, chosen, args.profile))
            finally:
                runtime.utcnow = real_utcnow
        report(backend, results, args.cases)
        print(f"  load average after the run: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
