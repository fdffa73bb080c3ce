"""A use case that dies half-way leaves nothing behind.

In-process: a function the engine calls late in the use case raises after the state changed and
the event, the document and a first deadline were flushed; the unit of work must roll all of it
back. Out of process: a child process is SIGKILLed while it holds the open transaction; the
database must show nothing of it and the case must keep working.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bargaining.db import Database
from bargaining.models import Case, Deadline, Event
from services import cases as uc
from services.uow import unit_of_work
from tests.integration.helpers import add_street_enterprise, new_enterprise_case, snapshot
from tests.support import TERMS, add_reps, at, build_world, fire, walk
from workflows import cases as wf_cases
from workflows import deadlines as dl
from workflows import engine, events

ROOT = Path(__file__).absolute().parents[2]


class Crash(RuntimeError):
    """Stands for a process dying (power cut, OOM kill) half-way through a use case."""


def test_crash_after_state_event_and_first_deadline_rolls_back_everything(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w)
    day = walk(w, case_id, "under_review")
    before = snapshot(db, case_id)
    assert before.state == "under_review"
    review_open = [d for d in before.deadlines if d[1] == "review"]
    assert len(review_open) == 1 and review_open[0][5] is None

    seen: dict[str, Any] = {}
    real_open_deadline = dl.open_deadline

    def open_then_crash(ctx: Any, opens: Any) -> Any:
        if seen:
            # Second deadline of the in-force step: prove the partial work is really in the
            # database (flushed in this transaction) before dying.
            ctx.session.flush()
            s = ctx.session
            seen["state"] = s.scalar(select(Case.state).where(Case.id == case_id))
            seen["events"] = s.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id))
            seen["kinds"] = sorted(s.scalars(select(Deadline.kind).where(Deadline.case_id == case_id)))
            raise Crash("simulated crash inside record_review_opinion")
        seen["first"] = opens.kind
        return real_open_deadline(ctx, opens)

    monkeypatch.setattr(dl, "open_deadline", open_then_crash)
    with pytest.raises(Crash):
        fire(
            w,
            case_id,
            "record_review_opinion",
            day + timedelta(days=3),
            w.reviewer,
            has_objections="否",
            opinion="合法有效",
        )
    # The crash happened with the change half-written inside the transaction …
    assert seen["state"] == "in_force"
    assert seen["events"] == len(before.events) + 1
    assert seen["kinds"].count("expiry") == 1
    # … and none of it survived.
    assert snapshot(db, case_id) == before

    monkeypatch.setattr(dl, "open_deadline", real_open_deadline)
    result = fire(
        w,
        case_id,
        "record_review_opinion",
        day + timedelta(days=3),
        w.reviewer,
        has_objections="否",
        opinion="合法有效",
    )
    assert result["state"] == "in_force" and result["version"] == before.version + 1
    after = snapshot(db, case_id)
    assert after.triggers() == [*before.triggers(), "record_review_opinion"]
    assert [k for _, k in after.documents][len(before.documents) :] == ["review_opinion"]
    kinds = [d[1] for d in after.deadlines]
    assert sorted(kinds[len(before.deadlines) :]) == ["disclosure", "expiry", "renewal"]
    assert next(d for d in after.deadlines if d[1] == "review")[5] is not None  # closed now


def test_crash_while_creating_a_case_leaves_no_case(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_world(db)
    code = add_street_enterprise(w)

    def count_cases() -> tuple[int, int]:
        with unit_of_work(db, write=False) as uow:
            s = uow.session
            return (
                s.scalar(select(func.count()).select_from(Case)) or 0,
                s.scalar(select(func.count()).select_from(Event)) or 0,
            )

    before = count_cases()

    def crash(*_: Any, **__: Any) -> Any:
        raise Crash("simulated crash after the case row and its number were written")

    monkeypatch.setattr(wf_cases, "write_event", crash)
    with pytest.raises(Crash):
        uc.create_case(db, w.instructor, kind="enterprise", enterprise=code, now=at(date(2025, 11, 1)))
    assert count_cases() == before
    monkeypatch.undo()
    # Nothing half-made blocks the enterprise's one open round.
    created = uc.create_case(db, w.instructor, kind="enterprise", enterprise=code, now=at(date(2025, 11, 1)))
    assert created["state"] == "preparation" and not created["number"].startswith("tmp-")
    assert count_cases() == (before[0] + 1, before[1] + 1)


def test_crash_after_terms_changed_and_congress_reopened(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terms edit after the vote is two changes in one use case: both or neither."""
    w = build_world(db)
    case_id = new_enterprise_case(w)
    day = walk(w, case_id, "awaiting_signature")
    before = snapshot(db, case_id)
    calls: list[str] = []
    real_write_event = events.write_event  # the engine's own reference is patched below

    def write_then_crash(session: Any, case: Any, trigger: str, **kwargs: Any) -> Any:
        calls.append(trigger)
        if trigger == "reopen_congress":
            raise Crash("simulated crash while sending the draft back to the congress")
        return real_write_event(session, case, trigger, **kwargs)

    monkeypatch.setattr(engine, "write_event", write_then_crash)  # as bound in workflows.engine
    changed = {**TERMS, "avg_wage_after": "5600"}
    with pytest.raises(Crash):
        uc.set_agreement_terms(db, w.instructor, case_id, changed, now=at(day + timedelta(days=1)))
    assert calls == ["update_agreement", "reopen_congress"]
    assert snapshot(db, case_id) == before  # terms, approval hash, state, version, events

    monkeypatch.undo()
    result = uc.set_agreement_terms(db, w.instructor, case_id, changed, now=at(day + timedelta(days=1)))
    assert result["state"] == "awaiting_congress"
    after = snapshot(db, case_id)
    assert after.triggers()[len(before.events) :] == ["update_agreement", "reopen_congress"]
    assert after.agreement is not None and before.agreement is not None
    assert after.agreement[0] != before.agreement[0] and after.agreement[1] is None


def _read_lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line.strip())
    into.put("EOF")


def _assert_write_lock_held(db: Database, case_id: int) -> None:
    """Another writer cannot take the case while the child's transaction is open."""
    if db.is_postgres:
        with db.write_engine.connect() as conn:
            with pytest.raises(OperationalError, match="could not obtain lock"):
                conn.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE NOWAIT"), {"id": case_id})
            conn.rollback()
    else:
        path = make_url(db.url).database
        assert path
        raw = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
        finally:
            raw.close()


def test_process_killed_inside_the_transaction(db: Database) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w)
    add_reps(w, case_id, now=at(date(2025, 11, 2)))
    before = snapshot(db, case_id)
    assert before.state == "preparation"

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration._hold_child", db.url, str(case_id)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            first = "TIMEOUT"
        if first != "HOLDING":
            child.kill()
            _, err = child.communicate(timeout=30)
            pytest.fail(f"the child never reached the hold point ({first}): {err}")
        # The child's state change, event, letter and deadline are written but not committed:
        # readers do not see them and writers cannot take the case.
        assert snapshot(db, case_id) == before
        _assert_write_lock_held(db, case_id)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert lines.get(timeout=10) == "EOF"  # it never printed COMMITTED

    assert snapshot(db, case_id) == before
    # The case works afterwards, and the offer exists exactly once.
    fire(w, case_id, "send_offer", date(2025, 11, 3), from_side="worker", subjects="年度工资调整")
    fire(w, case_id, "record_response", date(2025, 11, 10))
    after = snapshot(db, case_id)
    assert after.state == "negotiating"
    assert after.triggers()[len(before.events) :] == ["send_offer", "record_response"]
    assert [k for _, k in after.documents] == ["offer_letter", "response_letter"]
    assert [(d[1], d[5] is not None) for d in after.deadlines] == [("response", True)]
