"""Shared pieces of the benchmarks: databases to measure on, fresh copies of them, the machine.

A benchmark builds a *pristine* database once (migrated, then filled by ``services.synthetic``)
and measures each contender on a fresh copy of it, so nothing one contender writes is seen by the
next. SQLite pristine files are kept in ``--data-dir`` with a JSON sidecar describing what they
hold (parameters, generator and migration fingerprints) and reused when it matches; PostgreSQL
pristine databases live as long as the server (``scripts/pg.sh`` throws it away afterwards) and
are cloned with ``CREATE DATABASE … TEMPLATE``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bargaining.db import Database, open_database
from services import runtime
from services.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in China; fixed so a pristine file is reusable
PG_URL = os.environ.get("BARGAINING_TEST_POSTGRES_URL")


def fingerprint() -> str:
    """What the generated data depends on: the generator and the migrations."""
    digest = hashlib.sha256()
    for path in [
        ROOT / "services" / "synthetic.py",
        *sorted((ROOT / "migrations" / "versions").glob("*.py")),
    ]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def backends(requested: list[str] | None) -> list[str]:
    if requested:
        return requested
    return ["sqlite", "postgres"] if PG_URL else ["sqlite"]


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


class Copies:
    """Fresh copies of one pristine database."""

    def __init__(self, backend: str, pristine: str) -> None:
        self.backend = backend
        self.pristine = pristine  # a file path (SQLite) or a database name (PostgreSQL)

    @contextmanager
    def fresh(self) -> Iterator[Database]:
        runtime.forget_calendar()
        if self.backend == "sqlite":
            work = Path(self.pristine).with_name("work-" + Path(self.pristine).name)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.pristine, work)
            db = open_database(f"sqlite:///{work}")
            try:
                yield db
            finally:
                db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{work}{suffix}").unlink(missing_ok=True)
            return
        assert PG_URL
        name = f"bench_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pristine}"')
        db = open_database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        try:
            yield db
        finally:
            db.dispose()
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(statement: str) -> None:
    assert PG_URL
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def pristine(
    backend: str,
    *,
    key: dict[str, Any],
    build: Callable[[Database], dict[str, Any]],
    data_dir: Path,
    say: Callable[[str], None],
) -> tuple[Copies, dict[str, Any]]:
    """The pristine database for ``key`` (built with ``build`` unless a matching one exists)."""
    key = {**key, "fingerprint": fingerprint(), "now": NOW.isoformat()}
    slug = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    if backend == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / f"{key['name']}-{slug}.sqlite3"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            stored = json.loads(meta.read_text())
            if stored.get("key") == key:
                say(f"reusing {path}")
                return Copies("sqlite", str(path)), stored["generated"]
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade(url)
        db = open_database(url)
        try:
            started = time.perf_counter()
            generated = build(db)
            say(f"generated {path} in {time.perf_counter() - started:.0f} s")
        finally:
            db.dispose()
        # Fold the WAL into the file so a plain copy is the whole database. (No ANALYZE: the
        # product never runs one, so the query plans measured are the ones it gets.)
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        meta.write_text(json.dumps({"key": key, "generated": generated}, ensure_ascii=False, indent=1))
        return Copies("sqlite", str(path)), generated
    assert PG_URL, "PostgreSQL: run under scripts/pg.sh (BARGAINING_TEST_POSTGRES_URL)"
    name = f"pristine_{key['name']}_{slug}"
    tag = json.dumps(key, sort_keys=True)
    admin = create_engine(make_url(PG_URL).set(database="postgres"))
    try:
        with admin.connect() as conn:
            stored = conn.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                {"n": name},
            ).scalar()
    finally:
        admin.dispose()
    if stored:  # complete: the comment is written last (same server, e.g. one scripts/pg.sh run)
        stored_key, generated = json.loads(stored)
        if stored_key == key:
            say(f"reusing PostgreSQL database {name}")
            return Copies("postgres", name), generated
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    db = open_database(url)
    try:
        started = time.perf_counter()
        generated = build(db)
        say(f"generated PostgreSQL database {name} in {time.perf_counter() - started:.0f} s")
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would have done by the time it matters
        engine.dispose()
    finally:
        db.dispose()
    comment = json.dumps([json.loads(tag), generated], ensure_ascii=False).replace("'", "''")
    _pg_admin(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
    return Copies("postgres", name), generated


def summary(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
