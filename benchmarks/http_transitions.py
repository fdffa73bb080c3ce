"""Transitions over HTTP under concurrent load: ``bargaining serve --workers 2`` on PostgreSQL, driven by wrk.

Set-up: a generated federation (``services.synthetic`` with ``paperwork=True``, default 100,000
cases) on a fresh copy; the product's own server started as it ships —
``python -m services.cli serve --workers 2 --no-scheduler`` (uvicorn, 2 worker processes, access
log on) with ``BARGAINING_DATABASE_URL`` pointing at the copy — and an API token per instructor,
made as ``bargaining token create`` makes them.

Load: wrk (Debian's ``wrk``; ``apt-get install wrk``), one thread, closed loop, for ``--duration``
seconds per phase at each ``--connections`` level. Its Lua script keeps a queue of the cases it
owns, each with the version it last saw: every request is
``POST /api/cases/{id}/actions/record_round`` with ``{"expected_version": v, "values":
{"chair_side": "worker", "minutes": …}}`` by the case's own instructor; the answer's ``version``
(or a 409's ``current_version``) goes back into the queue, so no case is ever in flight twice from
one wrk and no 409 is expected. Every response is counted by status.

Race phase: two wrk processes at once over the *same* ``--race-cases`` cases, each with its own
view of the versions: they collide, and the only errors allowed are 409s. After every phase the
database is checked: new ``record_round`` events == new negotiation rounds == version increments
== the 200s wrk counted (plus at most one request per connection still in flight when it stopped).

Baselines in the same run, same server and connection levels: ``GET /healthz`` (the framework and
uvicorn alone) and ``GET /api/me`` (plus the token lookup); the HTTP floor (``benchmarks.http_floor``:
the same request done with the driver alone, served by its own uvicorn the same way); and the raw
SQL floor — ``UPDATE cases SET version = version + 1 … WHERE id AND version`` plus ``INSERT INTO
events``, one transaction each, from as many psycopg connections as the first connection level (at
least 2), for the same duration.

At each level the product and the HTTP floor take turns, ``--repeats`` times each (both servers
stay up), because the machine's speed drifts by tens of percent within minutes: every product
sample has a floor sample taken seconds apart, and the goal is judged on the median of the
product's samples (rate and p99, each), printed beside the floor's median.

Goal: >= 500 transitions/s with p99 <= 50 ms and no errors but intended 409s. The load generator,
the two workers and PostgreSQL share the machine's cores (and the machine may be shared with other
work: the load average is printed). So each phase also shows the CPU time per request of uvicorn
(master and workers), of the PostgreSQL server (all its processes, from /proc, exited backends
included) and of wrk, and the rate that CPU cost allows at most if every core were free for it.

    bash scripts/pg.sh .venv/bin/python -m benchmarks.http_transitions
    bash scripts/pg.sh .venv/bin/python -m benchmarks.http_transitions --cases 20000 --duration 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bargaining.db import Database
from bargaining.models import Case, Event, NegotiationRound, User
from services.synthetic import generate
from services.web import server as server_protocol

from ._support import NOW, PG_URL, machine, postgres_version
from ._web_common import (
    cpu_jiffies,
    generated_database,
    load_average,
    new_api_token,
    postmaster_pid,
    settings_for,
    steal_share,
    tree_cpu,
)

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = "POST record_round"
FLOOR = "floor: FastAPI + driver SQL"
GOAL_RATE = 500.0
GOAL_P99_MS = 50.0
MINUTES = "双方就工资增长幅度交换意见。"

# wrk's Lua: args = cases file ("id version token" lines), then "transitions" | "get" PATH.
LUA = r"""
local cases, ready, head, tail = {}, {}, 1, 0
local mode, path = "transitions", "/healthz"
counts = {}
local threads = {}
local body = '{"expected_version": %d, "values": {"chair_side": "worker", "minutes": "%s"}}'
local minutes, token0, sent = "", "", 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  mode = args[2] or "transitions"
  path = args[3] or "/healthz"
  minutes = args[4] or "minutes"
  for line in io.lines(args[1]) do
    local id, version, token = line:match("^(%d+) (%d+) (%S+)")
    if id then
      cases[id] = {version = tonumber(version), token = token}
      tail = tail + 1
      ready[tail] = id
      token0 = token
    end
  end
end

function request()
  sent = sent + 1
  if mode ~= "transitions" then
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token0})
  end
  if head > tail then
    counts["starved"] = (counts["starved"] or 0) + 1  -- more connections than cases: should not happen
    return wrk.format("GET", "/healthz")
  end
  local id = ready[head]
  ready[head] = nil
  head = head + 1
  local c = cases[id]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. c.token,
    ["X-Request-Id"] = "bench-" .. id .. "-" .. sent,
  }
  return wrk.format("POST", "/api/cases/" .. id .. "/actions/record_round", headers,
                    string.format(body, c.version, minutes))
end

function response(status, headers, resp)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
  if mode ~= "transitions" then return end
  local rid = headers["x-request-id"] or headers["X-Request-Id"] or ""
  local id = rid:match("^bench%-(%d+)%-")
  if not id then return end
  local c = cases[id]
  local v = resp:match('"version":%s*(%d+)') or resp:match('"current_version":%s*(%d+)')
  if v then c.version = tonumber(v) end
  tail = tail + 1
  ready[tail] = id
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    if c then for k, n in pairs(c) do merged[k] = (merged[k] or 0) + n end end
  end
  local parts = {}
  for k, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', k, n)) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status_errors": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"counts": {%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
"""


@dataclass
class Phase:
    name: str
    connections: int
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    cpu_server_ms: float = 0.0  # uvicorn (master and workers): CPU per request
    cpu_pg_ms: float = 0.0  # the PostgreSQL server (all its processes): CPU per request
    cpu_wrk_ms: float = 0.0  # the load generator: CPU per request
    check: str = ""
    load: str = ""
    steal: float | None = None  # share of the machine's CPU time the hypervisor took during the phase

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, other: Phase) -> None:
        """Merge a concurrent phase (the race's second wrk): counts and requests add, latency keeps the worst."""
        self.requests += other.requests
        self.seconds = max(self.seconds, other.seconds)
        self.p50_ms = max(self.p50_ms, other.p50_ms)
        self.p99_ms = max(self.p99_ms, other.p99_ms)
        self.max_ms = max(self.max_ms, other.max_ms)
        self.socket_errors += other.socket_errors
        for k, n in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + n


# ---- processes and their CPU ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m services.cli serve --workers N --no-scheduler`` on 127.0.0.1, for one database copy."""

    def __init__(self, url: str, workers: int, log: Path, *, floor: bool = False) -> None:
        """``floor``: serve ``benchmarks.http_floor`` instead, with the same uvicorn settings but
        the access log (the least a request can cost; see that module)."""
        self.port = free_port()
        env = {
            **os.environ,
            "BARGAINING_DATABASE_URL": url,
            "BARGAINING_SCHEDULER": "0",
            "BARGAINING_ENV": "development",
            "PYTHONPATH": str(ROOT),
        }
        self.log = log.open("w")
        if floor:
            command = ["uvicorn", "benchmarks.http_floor:app", "--http", server_protocol.PROTOCOL]
            command += ["--loop", server_protocol.LOOP]
            command += ["--no-access-log", "--log-level", "warning"]
        else:
            command = ["services.cli", "serve", "--no-scheduler"]
        command += ["--workers", str(workers), "--port", str(self.port), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}); see {log}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"the server did not answer /healthz within 60 s; see {log}")
        # every worker answers before anything is measured (the first requests import and connect)
        for _ in range(20 * workers):
            httpx.get(self.base + "/healthz", timeout=5)

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# ---- the cases the load fires on -----------------------------------------------------------------


def negotiating_cases(db: Database, limit: int, offset: int = 0) -> list[tuple[int, int, int]]:
    """(case id, version, instructor id) of negotiating cases, in id order."""
    with db.session(write=False) as s:
        rows = s.execute(
            select(Case.id, Case.version, Case.instructor_id)
            .where(Case.state == "negotiating", Case.instructor_id.is_not(None))
            .order_by(Case.id)
            .offset(offset)
            .limit(limit)
        ).all()
    return [(r[0], r[1], r[2] or 0) for r in rows]


def tokens_for(db: Database, user_ids: set[int]) -> dict[int, str]:
    settings = settings_for(db)
    now = datetime.now(UTC)
    with db.session(write=False) as s:
        names = dict(s.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
    return {uid: new_api_token(db, settings, names[uid], now) for uid in user_ids}


def write_cases(path: Path, db: Database, ids: list[int], tokens: dict[int, str]) -> None:
    """The cases file wrk reads, with each case's *current* version."""
    with db.session(write=False) as s:
        rows = s.execute(select(Case.id, Case.version, Case.instructor_id).where(Case.id.in_(ids))).all()
    path.write_text("".join(f"{r[0]} {r[1]} {tokens[r[2] or 0]}\n" for r in sorted(rows)))


def rounds_and_events(db: Database, ids: list[int]) -> tuple[int, int, int]:
    """(record_round events, negotiation rounds, sum of versions) of these cases, in one statement:
    one snapshot (under READ COMMITTED three statements would each see requests committed since)."""
    events = select(func.count()).where(Event.case_id.in_(ids), Event.trigger == "record_round")
    rounds = select(func.count()).where(NegotiationRound.case_id.in_(ids))
    versions = select(func.sum(Case.version)).where(Case.id.in_(ids))
    with db.session(write=False) as s:
        row = s.execute(
            select(events.scalar_subquery(), rounds.scalar_subquery(), versions.scalar_subquery())
        ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


# ---- wrk -----------------------------------------------------------------------------------------


def start_wrk(
    base: str, script: Path, cases: Path, connections: int, duration: int, mode: str, path: str = "/healthz"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
            "--",
            str(cases),
            mode,
            path,
            MINUTES,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_wrk(process: subprocess.Popen[str], name: str, connections: int) -> Phase:
    out, _ = process.communicate()
    line = next((x for x in out.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no summary:\n{out}")
    data = json.loads(line[len("WRKJSON ") :])
    return Phase(
        name,
        connections,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        counts={str(k): int(v) for k, v in data["counts"].items()},
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
    )


def run_phase(
    db: Database,
    server: Server,
    script: Path,
    cases_file: Path,
    *,
    name: str,
    connections: int,
    duration: int,
    mode: str,
    path: str = "/healthz",
    racers: int = 1,
) -> Phase:
    load = load_average()
    postmaster = postmaster_pid(db)
    cpu_server, cpu_pg = server.cpu(), tree_cpu(postmaster) if postmaster else 0.0
    jiffies = cpu_jiffies()
    children = os.times()
    cpu_wrk = children.children_user + children.children_system
    processes = [
        start_wrk(server.base, script, cases_file, connections, duration, mode, path) for _ in range(racers)
    ]
    phases = [finish_wrk(p, name, connections) for p in processes]
    phase = phases[0]
    for other in phases[1:]:
        phase.add(other)
    phase.connections = connections * racers
    if phase.requests:
        phase.cpu_server_ms = 1000 * (server.cpu() - cpu_server) / phase.requests
        if postmaster:
            phase.cpu_pg_ms = 1000 * (tree_cpu(postmaster) - cpu_pg) / phase.requests
        children = os.times()  # wrk has been waited for: its CPU is in our children's times
        phase.cpu_wrk_ms = (
            1000 * (children.children_user + children.children_system - cpu_wrk) / phase.requests
        )
    phase.load = load
    phase.steal = steal_share(jiffies, cpu_jiffies())
    return phase


def warm_up(db: Database, server: Server, script: Path, cases_file: Path) -> None:
    """Every worker's first transitions, not measured (imports, compiled statements, pools)."""
    run_phase(db, server, script, cases_file, name="warm-up", connections=4, duration=3, mode="transitions")


def transitions_phase(
    db: Database,
    server: Server,
    script: Path,
    cases_file: Path,
    ids: list[int],
    tokens: dict[int, str],
    name: str,
    connections: int,
    duration: int,
) -> Phase:
    """``record_round`` on the load cases from their current versions, checked against the database."""
    write_cases(cases_file, db, ids, tokens)
    before = rounds_and_events(db, ids)
    p = run_phase(
        db,
        server,
        script,
        cases_file,
        name=name,
        connections=connections,
        duration=duration,
        mode="transitions",
    )
    p.check = consistency(db, ids, before, p)
    return p


# ---- the raw SQL floor ----------------------------------------------------------------------------


def raw_floor(db: Database, cases: list[tuple[int, int, int]], threads: int, duration: float) -> Phase:
    """UPDATE the case's version + INSERT its event, one transaction each, ``threads`` connections."""
    insert = (
        'INSERT INTO events (case_id, "trigger", from_state, to_state, actor_id, actor_name, role, at, '
        "reason, payload, definition_name, definition_version, request_id) VALUES "
        "(%s, 'record_round', 'negotiating', 'negotiating', %s, '指导员', 'instructor', %s, NULL, %s, "
        "'enterprise', 1, NULL)"
    )
    update = "UPDATE cases SET version = version + 1, updated_at = %s WHERE id = %s AND version = %s"
    latencies: list[list[float]] = [[] for _ in range(threads)]
    payload = json.dumps({"chair_side": "worker", "minutes": MINUTES}, ensure_ascii=False)
    stop = time.perf_counter() + duration
    errors = [0]

    def work(n: int) -> None:
        mine = [list(c) for c in cases[n::threads]]
        conn: Any = db.write_engine.raw_connection()
        try:
            cursor = conn.cursor()
            i = 0
            while time.perf_counter() < stop:
                case = mine[i % len(mine)]
                i += 1
                started = time.perf_counter()
                cursor.execute(update, (datetime.now(UTC), case[0], case[1]))
                if cursor.rowcount != 1:
                    errors[0] += 1
                cursor.execute(insert, (case[0], case[2], datetime.now(UTC), payload))
                conn.commit()
                case[1] += 1
                latencies[n].append(time.perf_counter() - started)
        finally:
            conn.close()

    assert db.is_postgres
    postmaster = postmaster_pid(db)
    cpu_pg = tree_cpu(postmaster) if postmaster else 0.0
    cpu_self = time.process_time()
    load = load_average()
    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for part in latencies for x in part)
    phase = Phase("raw SQL UPDATE+INSERT", threads, requests=len(every), seconds=elapsed)
    if every:
        phase.p50_ms = 1000 * every[len(every) // 2]
        phase.p99_ms = 1000 * every[min(len(every) - 1, int(len(every) * 0.99))]
        phase.max_ms = 1000 * every[-1]
    phase.counts = {"ok": len(every) - errors[0], "no row": errors[0]}
    if every:
        # "uvicorn" here is this process: the psycopg client threads
        phase.cpu_server_ms = 1000 * (time.process_time() - cpu_self) / len(every)
        if postmaster:
            phase.cpu_pg_ms = 1000 * (tree_cpu(postmaster) - cpu_pg) / len(every)
    phase.load = load
    return phase


# ---- report ----------------------------------------------------------------------------------------


def print_phase(p: Phase, transitions: bool) -> None:
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(p.counts.items()))
    if p.socket_errors:
        statuses += f", socket errors: {p.socket_errors}"
    errors = {
        k: v for k, v in p.counts.items() if k not in ("200", "ok") and not (k == "409" and "race" in p.name)
    }
    verdict = ""
    if transitions:
        met = p.rate >= GOAL_RATE and p.p99_ms <= GOAL_P99_MS and not errors and not p.socket_errors
        verdict = "  goal >= 500/s, p99 <= 50 ms: " + ("MET" if met else "MISSED")
    print(
        f"  {p.name:<30} c={p.connections:<3} {p.rate:7.1f} req/s  p50 {p.p50_ms:6.1f}  p99 {p.p99_ms:6.1f}"
        f"  max {p.max_ms:7.1f} ms{verdict}"
    )
    print(f"      responses: {statuses}" + (f"; {p.check}" if p.check else ""))
    total = p.cpu_server_ms + p.cpu_pg_ms + p.cpu_wrk_ms
    if total > 0:
        cores = os.cpu_count() or 1
        print(
            f"      CPU per request: {'client' if p.name.startswith('raw') else 'uvicorn'} {p.cpu_server_ms:.2f} ms + PostgreSQL {p.cpu_pg_ms:.2f} ms"
            f" + wrk {p.cpu_wrk_ms:.2f} ms = {total:.2f} ms -> at most {1000 * cores / total:,.0f} req/s"
            f" if all {cores} cores were free for it; load average before: {p.load}"
            + (f"; stolen by the host: {p.steal:.0%}" if p.steal is not None else "")
        )


def print_medians(results: list[tuple[Phase, bool]], levels: list[int]) -> None:
    """Per connection level, the median of the product's samples (rate and p99 each) beside the
    floor's: the goal is judged on these, not on one sample of a machine whose speed drifts."""
    print("  medians of the samples (goal judged on the product's):")
    for c in levels:
        product, floor = (
            [p for p, _ in results if p.name == name and p.connections == c] for name in (PRODUCT, FLOOR)
        )
        if not product:
            continue
        rates = [p.rate for p in product]
        rate, p99 = statistics.median(rates), statistics.median(p.p99_ms for p in product)
        clean = all(not p.socket_errors and set(p.counts) <= {"200"} for p in product)
        met = rate >= GOAL_RATE and p99 <= GOAL_P99_MS and clean
        line = f"    c={c:<3} product {rate:6.1f} req/s, p99 {p99:5.1f} ms (samples {', '.join(f'{r:.0f}' for r in rates)})"
        if floor:
            floor_rate = statistics.median(p.rate for p in floor)
            floor_p99 = statistics.median(p.p99_ms for p in floor)
            line += f"; floor {floor_rate:6.1f} req/s, p99 {floor_p99:5.1f} ms; product / floor {rate / floor_rate:.0%}"
        print(line + f"  goal >= 500/s, p99 <= 50 ms: {'MET' if met else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http_transitions", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=["postgres"], default="postgres")
    parser.add_argument("--cases", type=int, default=100_000, help="size of the generated federation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="4,8,16", help="wrk connection levels (comma-separated)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per phase")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="product and floor phases per level, taking turns (goal on the median)",
    )
    parser.add_argument("--race-cases", type=int, default=20, help="cases two wrk processes race on")
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench"))
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.connections.split(",") if x]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    if not PG_URL:
        raise SystemExit("PostgreSQL: run under scripts/pg.sh (BARGAINING_TEST_POSTGRES_URL)")

    def say(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    print(
        f"HTTP transitions: record_round via POST /api/cases/{{id}}/actions/record_round, "
        f"serve --workers {args.workers}, federation of {args.cases:,} cases, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(f"machine: {machine()}")
    print(f"PostgreSQL {postgres_version(PG_URL)} (scripts/pg.sh: fsync off, synchronous_commit off)")
    print(f"load generator: wrk -t1, closed loop, {args.duration} s per phase; load average {load_average()}")

    def build(db: Database) -> dict[str, Any]:
        return generate(db, cases=args.cases, now=NOW, seed=args.seed, paperwork=True, progress=say)

    key = {"name": "httptx", "cases": args.cases, "seed": args.seed}
    copies, _generated = generated_database("postgres", key=key, build=build, data_dir=args.data_dir, say=say)
    work = Path(tempfile.mkdtemp(prefix="http-transitions-"))
    script = work / "transitions.lua"
    script.write_text(LUA)
    results: list[tuple[Phase, bool]] = []
    with copies.fresh() as db:
        everything = negotiating_cases(db, 1_000_000)
        race = everything[: args.race_cases]
        load_cases = everything[args.race_cases :]
        if len(load_cases) < 4 * max(levels):
            raise SystemExit(f"only {len(load_cases)} negotiating cases; generate more (--cases)")
        tokens = tokens_for(db, {c[2] for c in everything})
        say(
            f"{len(load_cases):,} negotiating cases for the load, {len(race)} for the race, {len(tokens)} tokens"
        )
        server = Server(db.url, args.workers, work / "server.log")
        floor = None if args.no_baselines else Server(db.url, args.workers, work / "floor.log", floor=True)
        try:
            cases_file = work / "cases.txt"
            ids = [c[0] for c in load_cases]
            write_cases(cases_file, db, ids, tokens)
            warm_up(db, server, script, cases_file)
            if floor is not None:
                warm_up(db, floor, script, cases_file)
            for c in levels:
                if not args.no_baselines:
                    for name, path in (("GET /healthz", "/healthz"), ("GET /api/me", "/api/me")):
                        p = run_phase(
                            db,
                            server,
                            script,
                            cases_file,
                            name=name,
                            connections=c,
                            duration=args.duration,
                            mode="get",
                            path=path,
                        )
                        results.append((p, False))
                        say(f"{name} c={c}: {p.rate:.0f}/s p99 {p.p99_ms:.1f} ms")
                # The product and the floor take turns, so each product sample has a floor sample
                # taken seconds apart on a machine whose speed drifts.
                for _ in range(args.repeats):
                    p = transitions_phase(
                        db, server, script, cases_file, ids, tokens, PRODUCT, c, args.duration
                    )
                    results.append((p, True))
                    say(f"record_round c={c}: {p.rate:.0f}/s p99 {p.p99_ms:.1f} ms {p.counts} {p.check}")
                    if floor is not None:
                        p = transitions_phase(
                            db, floor, script, cases_file, ids, tokens, FLOOR, c, args.duration
                        )
                        results.append((p, True))
                        say(f"floor c={c}: {p.rate:.0f}/s p99 {p.p99_ms:.1f} ms {p.counts} {p.check}")
            if floor is not None:
                floor.stop()  # the race may open many connections: PostgreSQL's limit is the product's alone
            # two wrk processes race on the same cases
            race_ids = [c[0] for c in race]
            race_file = work / "race.txt"
            write_cases(race_file, db, race_ids, tokens)
            before = rounds_and_events(db, race_ids)
            c = min(levels[-1], max(1, len(race) // 2))
            p = run_phase(
                db,
                server,
                script,
                race_file,
                name=f"race: 2 wrk on {len(race)} cases",
                connections=c,
                duration=args.duration,
                mode="transitions",
                racers=2,
            )
            p.check = consistency(db, race_ids, before, p)
            results.append((p, False))
            say(f"race: {p.counts} {p.check}")
        finally:
            server.stop()
            if floor is not None:
                floor.stop()
        if not args.no_baselines:
            current = negotiating_cases(db, len(load_cases), offset=args.race_cases)  # versions as now
            results.append((raw_floor(db, current, max(levels[0], 2), args.duration), False))
        log_lines = [  # the product's log, and the floor's
            line
            for log in ("server.log", "floor.log")
            if (work / log).exists()
            for line in (work / log).read_text(errors="replace").splitlines()
        ]
        errors_in_log = [
            line for line in log_lines if "Traceback" in line or "ERROR" in line or "Exception" in line
        ]
        restarts = sum(1 for line in log_lines if line.endswith(" died"))
    print(
        f"\n[postgres] {args.cases:,} cases; wrk closed loop, {args.duration} s each; latency as wrk measures it"
    )
    for phase, transitions in results:
        print_phase(phase, transitions)
    print_medians(results, levels)
    print(
        f"  server log: {len(errors_in_log)} error lines"
        + (f", first: {errors_in_log[0]}" if errors_in_log else "")
        + f"; workers restarted by uvicorn's supervisor (health check timed out): {restarts}"
    )
    print(f"  load average after the run: {load_average()}")
    if errors_in_log:
        print(f"  kept {work} (server log, Lua script, cases)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def consistency(db: Database, ids: list[int], before: tuple[int, int, int], p: Phase) -> str:
    """New record_round events == new negotiation rounds == version increments == the 200s wrk saw,
    plus at most one request per connection still in flight when wrk stopped counting."""
    events, rounds, versions = rounds_and_events(db, ids)
    ok = p.counts.get("200", 0)
    got = (events - before[0], rounds - before[1], versions - before[2])
    if got[0] == got[1] == got[2] and ok <= got[0] <= ok + p.connections:
        return f"check ok ({got[0]:,} rounds written, {got[0] - ok} of them after wrk stopped counting)"
    return f"check FAILED: 200s {ok:,}, new events/rounds/versions {got}"


if __name__ == "__main__":
    raise SystemExit(main())
