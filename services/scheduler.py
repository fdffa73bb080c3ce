"""The single scheduler process: an APScheduler 3.11 ticker that runs the deadline sweep.

The deadline table is the truth; APScheduler only says "now". On PostgreSQL a session-level
advisory lock elects one leader, so a second scheduler idles until the first goes away; on
SQLite there is one process by design, and ``BEGIN IMMEDIATE`` serialises sweeps anyway.
"""

from __future__ import annotations

import fcntl
import logging
import signal
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bargaining.db import Database

from .audits.sweep import sweep_audits
from .deadlines import sweep

log = logging.getLogger("bargaining.scheduler")
ADVISORY_LOCK_KEY = 0x6261726761  # "barga"


class Leadership:
    """Leads while holding a PostgreSQL advisory lock (own connection) or, on SQLite, a file lock."""

    def __init__(self, db: Database):
        self.db = db
        self.connection: Any = None
        self.lock_file: Any = None

    def acquire(self) -> bool:
        if not self.db.is_postgres:
            return self._file_lock()
        try:
            if self.connection is None:
                self.connection = self.db.write_engine.connect()
            got = self.connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            ).scalar()
            self.connection.commit()
            return bool(got)
        except DBAPIError:
            # Lost connection (restart, failover): drop it; the next tick reconnects and competes again.
            log.warning("scheduler lost its database connection; will retry", exc_info=True)
            if self.connection is not None:
                self.connection.invalidate()
                self.connection.close()
            self.connection = None
            return False

    def _file_lock(self) -> bool:
        if self.lock_file is not None:
            return True
        database = make_url(self.db.url).database
        if not database or database == ":memory:":
            return True
        handle = open(f"{database}.scheduler.lock", "a+")  # noqa: SIM115 (held open while leading)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.lock_file = handle
        return True

    def release(self) -> None:
        if self.connection is not None:
            # A pooled connection outlives close(), so give the lock back explicitly.
            try:
                self.connection.execute(text("SELECT pg_advisory_unlock_all()"))
                self.connection.commit()
            except DBAPIError:
                self.connection.invalidate()
            self.connection.close()
            self.connection = None
        if self.lock_file is not None:
            self.lock_file.close()  # closing the file releases the lock
            self.lock_file = None


def tick(db: Database, leadership: Leadership) -> None:
    try:
        if not leadership.acquire():
            log.debug("another scheduler leads; idle")
            return
        try:
            audits = sweep_audits(db, keep_details=False)
        except Exception:  # keep ticking; campaign and rectification rows stay due for the next tick
            log.exception("audit sweep failed")
        else:
            if audits.total:
                log.info("audit sweep: %s", audits.as_dict())
        report = sweep(db, keep_details=False)
    except Exception:  # keep ticking; the deadline rows are still there for the next tick
        log.exception("deadline sweep failed")
        return
    if report.total:
        log.info("sweep: escalated=%s fired=%s failed=%s", report.escalated, report.fired, report.failed)


JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def start_background(db: Database, *, interval_s: int = 60) -> Callable[[], None]:
    """The sweep inside a web process; only the process holding the lock sweeps. Returns the stopper."""
    leadership = Leadership(db)
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=interval_s,
        args=[db, leadership],
        id="deadline-sweep",
        replace_existing=True,
    )
    scheduler.add_job(tick, "date", args=[db, leadership], id="deadline-sweep-now")
    scheduler.start()

    def stop() -> None:
        scheduler.shutdown(wait=True)
        leadership.release()

    return stop


def run_scheduler(db: Database, *, interval_s: int = 60) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    leadership = Leadership(db)
    scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=interval_s,
        args=[db, leadership],
        id="deadline-sweep",
        replace_existing=True,
    )
    scheduler.add_job(tick, "date", args=[db, leadership], id="deadline-sweep-now")

    def stop(*_: Any) -> None:
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler started: sweep every %ss", interval_s)
    try:
        scheduler.start()
    finally:
        leadership.release()
