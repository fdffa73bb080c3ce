"""The single scheduler process: an APScheduler 3.11 ticker that runs the deadline sweep.

The deadline table is the truth; APScheduler only says "now". On PostgreSQL a session-level
advisory lock elects one leader, so a second scheduler idles until the first goes away; on
SQLite there is one process by design, and ``BEGIN IMMEDIATE`` serialises sweeps anyway.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from bargaining.db import Database

from .deadlines import sweep

log = logging.getLogger("bargaining.scheduler")
ADVISORY_LOCK_KEY = 0x6261726761  # "barga"


class Leadership:
    """Holds the PostgreSQL advisory lock on a dedicated connection while leading."""

    def __init__(self, db: Database):
        self.db = db
        self.connection: Any = None

    def acquire(self) -> bool:
        if not self.db.is_postgres:
            return True
        if self.connection is None:
            self.connection = self.db.write_engine.connect()
        got = self.connection.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
        ).scalar()
        self.connection.commit()
        return bool(got)

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()  # closing the session releases the lock
            self.connection = None


def tick(db: Database, leadership: Leadership) -> None:
    if not leadership.acquire():
        log.info("another scheduler leads; idle")
        return
    report = sweep(db, keep_details=False)
    if report.total:
        log.info("sweep: escalated=%s fired=%s failed=%s", report.escalated, report.fired, report.failed)


def run_scheduler(db: Database, *, interval_s: int = 60) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    leadership = Leadership(db)
    scheduler = BlockingScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone="UTC"
    )
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
