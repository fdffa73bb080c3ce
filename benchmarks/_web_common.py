"""What the web benchmarks share: a reusable generated database, sign-ins, timers, percentiles.

- ``generated_database``: the pristine database of ``benchmarks._support`` (SQLite: a file under
  ``--data-dir`` reused while its sidecar matches). On PostgreSQL the pristine database is kept for
  the life of the server and *reused* by later runs on the same server (its generation report is
  stored as the database's comment), so several benchmarks under one ``scripts/pg.sh`` session
  generate a million cases once.
- ``sign_in`` / ``new_api_token``: a browser session cookie or an API token for a generated user,
  written the way ``/login`` and ``bargaining token create`` write them.
- ``ServerTimer``: an ASGI wrapper timing each call of the app — the server's time for a request,
  from the first byte handed to the app to the last byte it sends, with nothing added to product code.
- ``SqlTimer``: the time spent in the database driver (cursor execute) and the statement count.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import cursor as cursor_module
from sqlalchemy.engine import make_url

from bargaining.config import DEVELOPMENT_SECRET, Settings
from bargaining.db import Database
from bargaining.models import User
from services.uow import unit_of_work
from services.web.security import create_api_token, open_session

from ._support import NOW, PG_URL, Copies, fingerprint, pristine

Say = Callable[[str], None]


def settings_for(db: Database) -> Settings:
    return settings_at(db.url)


def settings_at(url: str) -> Settings:
    """The settings the benchmarks sign users in with (tokens made under them, ``new_api_token``)."""
    return Settings(
        database_url=url,
        environment="test",
        secret_key=DEVELOPMENT_SECRET,
        cookie_secure=False,
        session_hours=24 * 365,
    )


# ---- generated databases ----------------------------------------------------------------------


def generated_database(
    backend: str,
    *,
    key: dict[str, Any],
    build: Callable[[Database], dict[str, Any]],
    data_dir: Path,
    say: Say,
) -> tuple[Copies, dict[str, Any]]:
    """``_support.pristine``, except that on PostgreSQL a matching pristine database is reused."""
    if backend == "postgres":
        assert PG_URL, "PostgreSQL: run under scripts/pg.sh (BARGAINING_TEST_POSTGRES_URL)"
        full = {**key, "fingerprint": fingerprint(), "now": NOW.isoformat()}
        slug = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:10]
        name = f"pristine_{key['name']}_{slug}"  # the name _support.pristine gives it
        stored = _pg_comment(name)
        if stored is not None and stored.get("key") == full:
            say(f"reusing PostgreSQL database {name}")
            return Copies("postgres", name), stored["generated"]
        copies, generated = pristine(backend, key=key, build=build, data_dir=data_dir, say=say)
        comment = json.dumps({"key": full, "generated": generated}, ensure_ascii=False).replace("'", "''")
        _pg_admin(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
        return copies, generated
    return pristine(backend, key=key, build=build, data_dir=data_dir, say=say)


def _pg_admin_engine() -> Engine:
    assert PG_URL
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_admin(statement: str) -> None:
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _pg_comment(name: str) -> dict[str, Any] | None:
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            raw = conn.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                {"n": name},
            ).scalar()
    finally:
        engine.dispose()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ---- who is asking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    username: str
    user_id: int
    cookie: str  # the session cookie's value
    csrf: str


def sign_in(db: Database, settings: Settings, username: str, now: datetime) -> SignedIn:
    """A browser session for ``username``, as /login opens one (without the password check)."""
    with unit_of_work(db) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise SystemExit(f"no user {username} in the generated database")
        new = open_session(uow.session, settings, user, now, "127.0.0.1", "benchmark")
        return SignedIn(username, user.id, new.token, new.csrf_token)


def new_api_token(db: Database, settings: Settings, username: str, now: datetime) -> str:
    """An API token for ``username``, as ``bargaining token create`` makes one."""
    with unit_of_work(db) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise SystemExit(f"no user {username} in the generated database")
        return create_api_token(uow.session, settings, user, "benchmark", now)


# ---- timing ------------------------------------------------------------------------------------


class ServerTimer:
    """ASGI middleware-free timing: wraps the app and times each call of it (one at a time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - started


@dataclass
class SqlTimer:
    """Time inside the database driver for every statement on ``engines``, one thread at a time:
    its ``cursor.execute`` plus the fetching of its rows (SQLite computes rows as they are fetched,
    so execute alone would miss most of a streaming scan). Benchmark instrumentation only: it wraps
    SQLAlchemy's cursor fetch strategies while listening and puts them back afterwards."""

    seconds: float = 0.0
    statements: int = 0
    _started: list[float] = field(default_factory=list)

    def reset(self) -> tuple[float, int]:
        taken = (self.seconds, self.statements)
        self.seconds, self.statements = 0.0, 0
        return taken

    @contextmanager
    def listening(self, *engines: Engine) -> Iterator[SqlTimer]:
        def before(*_args: Any) -> None:
            self._started.append(time.perf_counter())

        def after(*_args: Any) -> None:
            if self._started:
                self.seconds += time.perf_counter() - self._started.pop()
                self.statements += 1

        depth = [0]

        def timed(original: Any) -> Any:
            def fetch(*args: Any, **kwargs: Any) -> Any:
                depth[0] += 1
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        self.seconds += time.perf_counter() - started

            return fetch

        patched: list[tuple[type, str, Any]] = []
        for cls in (
            cursor_module.CursorFetchStrategy,
            cursor_module.BufferedRowCursorFetchStrategy,
            cursor_module.FullyBufferedCursorFetchStrategy,
        ):
            for name in ("fetchone", "fetchmany", "fetchall"):
                if name in vars(cls):
                    original = vars(cls)[name]
                    patched.append((cls, name, original))
                    setattr(cls, name, timed(original))
        unique = list({id(e): e for e in engines}.values())
        for engine in unique:
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
        try:
            yield self
        finally:
            for engine in unique:
                event.remove(engine, "before_cursor_execute", before)
                event.remove(engine, "after_cursor_execute", after)
            for owner, name, original in patched:
                setattr(owner, name, original)


# ---- CPU accounting from /proc (Linux) ------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process, plus cutime + cstime: its children that have exited and been
    waited for (a restarted uvicorn worker, a PostgreSQL backend whose connection closed)."""
    fields = _stat(pid)
    return sum(int(x) for x in fields[11:15]) / TICKS if fields else 0.0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants, living or exited."""
    return sum(_cpu_seconds(p) for p in _descendants(pid))


def postmaster_pid(db: Database) -> int | None:
    """The PostgreSQL server's main process (the parent of our backend), if it runs on this machine."""
    with db.write_engine.connect() as conn:
        backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    fields = _stat(backend)
    return int(fields[1]) if fields else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:7.1f}"


def cpu_jiffies() -> tuple[int, int]:
    """(all, stolen) CPU time of the whole machine so far, in clock ticks (/proc/stat; (0, 0) if
    unreadable). Steal is time the hypervisor gave this VM's virtual CPUs to someone else: a phase
    with much of it ran on a machine slower than its CPU figures say."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields[:8]), steal


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of the machine's CPU time between two ``cpu_jiffies`` readings that was stolen."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else None


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
