"""The deadline sweep and the scheduler that runs it: never twice, never lost, one leader."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bargaining.db import Database, open_database
from bargaining.errors import TransitionRefused
from bargaining.models import Agreement, Case, Deadline, Event
from services import cases as uc
from services.deadlines import SweepReport, sweep
from services.scheduler import Leadership, tick
from services.uow import unit_of_work
from tests.integration.helpers import PG_ADMIN_URL, new_enterprise_case, run_at_once, snapshot
from tests.support import World, at, build_world, walk
from workflows import engine

ROOT = Path(__file__).absolute().parents[2]
SWEEP_AT = at(date(2026, 3, 1), 2)  # every response and review deadline below is long past


def _due_cases(w: World, reviews: int, responses: int) -> tuple[list[int], list[int]]:
    """Cases under review (the sweep deems them approved) and cases whose response is overdue."""
    under_review = []
    for _ in range(reviews):
        case_id = new_enterprise_case(w)
        walk(w, case_id, "under_review")
        under_review.append(case_id)
    offer_sent = []
    for _ in range(responses):
        case_id = new_enterprise_case(w)
        walk(w, case_id, "offer_sent")
        offer_sent.append(case_id)
    return under_review, offer_sent


def _sweep_events(db: Database) -> list[Event]:
    with unit_of_work(db, write=False) as uow:
        return list(
            uow.session.scalars(
                select(Event)
                .where(Event.trigger.in_(("deadline_overdue", "deem_approved", "deadline_fire_failed")))
                .order_by(Event.id)
            )
        )


def _deadlines(db: Database, kinds: tuple[str, ...]) -> list[Deadline]:
    with unit_of_work(db, write=False) as uow:
        return list(
            uow.session.scalars(select(Deadline).where(Deadline.kind.in_(kinds)).order_by(Deadline.id))
        )


def _number(db: Database, case_id: int) -> str:
    with unit_of_work(db, write=False) as uow:
        return uow.session.get_one(Case, case_id).number


def _assert_each_fired_once(db: Database, reviewed: list[int], responded: list[int]) -> None:
    events = _sweep_events(db)
    assert not [e for e in events if e.trigger == "deadline_fire_failed"]
    deemed = Counter(e.case_id for e in events if e.trigger == "deem_approved")
    assert deemed == Counter(reviewed), deemed
    overdue = Counter(
        e.payload["deadline_id"]
        for e in events
        if e.trigger == "deadline_overdue" and e.payload["kind"] == "response"
    )
    response_ids = {d.id for d in _deadlines(db, ("response",)) if d.case_id in responded}
    assert overdue == Counter(response_ids), overdue
    by_id = {e.id: e for e in events}
    swept = [d for d in _deadlines(db, ("review",)) if d.case_id in reviewed]
    swept += [d for d in _deadlines(db, ("response",)) if d.case_id in responded]
    assert len(swept) == len(reviewed) + len(responded)
    for d in swept:
        assert d.fired_at is not None and d.fired_event_id in by_id
        assert by_id[d.fired_event_id].case_id == d.case_id
    for case_id in reviewed:
        assert snapshot(db, case_id).state == "in_force"
    for case_id in responded:
        assert snapshot(db, case_id).state == "offer_sent"


def test_two_sweeps_at_once_fire_each_deadline_once(db: Database) -> None:
    w = build_world(db)
    all_reviewed: list[int] = []
    all_responded: list[int] = []
    for n in range(2):
        reviewed, responded = _due_cases(w, reviews=3, responses=3)
        all_reviewed += reviewed
        all_responded += responded
        now = SWEEP_AT + timedelta(days=n)
        reports = run_at_once([partial(sweep, db, now, batch_size=2) for _ in range(2)])
        assert all(isinstance(r, SweepReport) for r in reports), reports
        # 3 responses overdue; and the 3 deemed approvals take effect on their legal day (months
        # before the sweep), so the disclosure period counted from it is already over as well.
        escalated = Counter(d["kind"] for r in reports for d in r.details if d["action"] == "overdue")
        assert escalated == {"response": 3, "disclosure": 3}, reports
        assert sum(r.fired for r in reports) == 3, reports
        assert sum(r.failed for r in reports) == 0
        _assert_each_fired_once(db, all_reviewed, all_responded)
    # Nothing left: later sweeps find nothing (the renewal deadlines are months away).
    assert sweep(db, SWEEP_AT + timedelta(days=5)).total == 0


def test_sweep_and_reviewer_racing_on_one_case(db: Database) -> None:
    """The sweep deeming approval and the reviewer giving an opinion: exactly one of them lands."""
    w = build_world(db)
    for _ in range(4):
        (case_id,), _ = _due_cases(w, reviews=1, responses=0)
        before = snapshot(db, case_id)

        def opinion(case_id: int = case_id) -> dict[str, Any]:
            values = {"has_objections": "否", "opinion": "合法有效"}
            return uc.fire_action(
                db, w.reviewer, case_id, "record_review_opinion", values=values, now=SWEEP_AT
            )

        swept, given = run_at_once([lambda: sweep(db, SWEEP_AT), opinion])
        assert isinstance(swept, SweepReport), swept
        after = snapshot(db, case_id)
        new = after.triggers()[len(before.events) :]
        assert after.state == "in_force"
        assert sorted(t for t in new if t in ("deem_approved", "record_review_opinion")) in (
            ["deem_approved"],
            ["record_review_opinion"],
        ), new
        if isinstance(given, BaseException):
            assert isinstance(given, TransitionRefused), repr(given)
            # Deemed approved on its legal day, months back: its disclosure period is over too.
            assert [t for t in new if t != "deadline_overdue"] == ["deem_approved"] and swept.fired == 1
        else:
            assert new == ["record_review_opinion"] and swept.fired == 0
        review = [d for d in after.deadlines if d[1] == "review"]
        assert len(review) == 1 and review[0][5] is not None


class Crash(RuntimeError):
    pass


def test_sweep_crashing_mid_batch_loses_and_doubles_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world(db)
    reviewed, responded = _due_cases(w, reviews=3, responses=3)
    real_fire = engine.fire
    calls: list[int] = []

    def fire_then_crash(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise Crash("scheduler process dies in the middle of a batch")
        return real_fire(*args, **kwargs)

    monkeypatch.setattr(engine, "fire", fire_then_crash)
    # Batches of 2 in due order: [response, response] [response, review] [review, review✗].
    with pytest.raises(Crash):
        sweep(db, SWEEP_AT, batch_size=2)
    monkeypatch.undo()
    events = _sweep_events(db)
    assert Counter(e.trigger for e in events) == {"deadline_overdue": 3, "deem_approved": 1}
    fired = [d for d in _deadlines(db, ("review",)) if d.fired_at is not None]
    assert len(fired) == 1
    unfired = [d.case_id for d in _deadlines(db, ("review",)) if d.fired_at is None]
    assert len(unfired) == 2
    for case_id in unfired:  # the crashed batch left no trace, not even the first fire in it
        s = snapshot(db, case_id)
        assert s.state == "under_review" and "deem_approved" not in s.triggers()

    report = sweep(db, SWEEP_AT + timedelta(hours=1), batch_size=2)
    # The 2 deemed approvals now, and the disclosure periods of all 3 (counted from their legal
    # in-force day, long before the sweep) escalated in the same run.
    assert (report.escalated, report.fired, report.failed) == (3, 2, 0)
    _assert_each_fired_once(db, reviewed, responded)
    assert sweep(db, SWEEP_AT + timedelta(hours=2)).total == 0


def test_a_refused_system_transition_fails_alone_and_the_rest_of_its_chunk_happens_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep fires system transitions in chunks; one refusal undoes the chunk, which is then
    fired one by one: the refusal is recorded on its case, the others happen exactly once."""
    w = build_world(db)
    reviewed, _ = _due_cases(w, reviews=3, responses=0)
    refused = reviewed[1]
    real_fire = engine.fire

    def refuse_one(session: Any, case: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_fire(session, case, *args, **kwargs)  # its writes are pending: undone below
        if case.id == refused:
            raise TransitionRefused("不能视为审查通过：测试拒绝")
        return result

    monkeypatch.setattr(engine, "fire", refuse_one)
    report = sweep(db, SWEEP_AT)
    monkeypatch.undo()

    assert (report.fired, report.failed) == (2, 1)
    failure = next(d for d in report.details if d["action"] == "failed")
    assert failure == {
        "case": _number(db, refused),
        "kind": "review",
        "action": "failed",
        "reason": "不能视为审查通过：测试拒绝",
    }
    events = _sweep_events(db)
    assert Counter(e.case_id for e in events if e.trigger == "deem_approved") == Counter(
        c for c in reviewed if c != refused
    )
    (failed_event,) = [e for e in events if e.trigger == "deadline_fire_failed"]
    assert failed_event.case_id == refused
    review = next(d for d in _deadlines(db, ("review",)) if d.case_id == refused)
    assert review.fired_event_id == failed_event.id  # fired once: not retried by every sweep
    refused_case = snapshot(db, refused)
    assert refused_case.state == "under_review" and "deem_approved" not in refused_case.triggers()
    assert not [d for d in _deadlines(db, ("disclosure",)) if d.case_id == refused]
    for case_id in reviewed:
        if case_id != refused:
            assert snapshot(db, case_id).state == "in_force"
    assert sweep(db, SWEEP_AT + timedelta(hours=1)).total == 0


def test_late_sweep_records_the_same_legal_dates_as_an_on_time_sweep(db: Database) -> None:
    """A scheduler that was down for weeks must not move the day the agreement came into force."""
    w = build_world(db)

    def review_due(case_id: int) -> date:
        return next(d.due for d in _deadlines(db, ("review",)) if d.case_id == case_id)

    def in_force_on(case_id: int) -> date | None:
        with unit_of_work(db, write=False) as uow:
            return uow.session.scalar(select(Agreement.in_force_on).where(Agreement.case_id == case_id))

    (on_time,), _ = _due_cases(w, reviews=1, responses=0)
    due = review_due(on_time)
    sweep(db, at(due + timedelta(days=1), 0))  # the first minute after the last day
    assert in_force_on(on_time) == due + timedelta(days=1)

    (late,), _ = _due_cases(w, reviews=1, responses=0)  # the same dates, swept a month late
    assert review_due(late) == due
    sweep(db, at(due + timedelta(days=30), 9))
    assert snapshot(db, late).state == "in_force"
    assert in_force_on(late) == in_force_on(on_time)


# ---- the scheduler's leader election ----------------------------------------------------------


def _acquire_within(leadership: Leadership, seconds: float) -> bool:
    """A lock held by a dead process is free once the server or the kernel has noticed."""
    deadline = time.monotonic() + seconds
    while not leadership.acquire():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_second_scheduler_idles_while_the_first_leads(db: Database) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w)
    walk(w, case_id, "offer_sent")  # 2025 dates: the response is overdue by the real clock
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.integration._leader_child", db.url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = Leadership(db)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "LEADING"
        assert second.acquire() is False
        tick(db, second)  # idles: sweeps nothing
        assert "deadline_overdue" not in snapshot(db, case_id).triggers()
        assert second.acquire() is False
    finally:
        first.kill()  # the first scheduler's process dies
        first.wait(timeout=30)
    try:
        assert _acquire_within(second, 10)
        tick(db, second)
        tick(db, second)  # still leading, nothing left to do
        assert snapshot(db, case_id).triggers().count("deadline_overdue") == 1
    finally:
        second.release()


def test_released_leadership_hands_over(db: Database, request: pytest.FixtureRequest) -> None:
    other_process = open_database(db.url)
    first, second = Leadership(db), Leadership(other_process)
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        first.release()  # a scheduler stopped inside a process that keeps running (serve's stopper)
        assert second.acquire() is True
        assert first.acquire() is False
    finally:
        first.release()
        second.release()
        other_process.dispose()


def test_scheduler_recovers_after_losing_its_database_connection(pg_db: Database) -> None:
    w = build_world(pg_db)
    leader = Leadership(pg_db)
    try:
        first_case = new_enterprise_case(w)
        walk(w, first_case, "offer_sent")
        tick(pg_db, leader)
        assert snapshot(pg_db, first_case).triggers().count("deadline_overdue") == 1

        with leader.connection.begin():
            pid = leader.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_engine(
            make_url(PG_ADMIN_URL or pg_db.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:  # what a server restart or failover does to the session
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        admin.dispose()

        second_case = new_enterprise_case(w)
        walk(w, second_case, "offer_sent")
        for _ in range(3):  # APScheduler logs a failing tick and runs the next one
            try:
                tick(pg_db, leader)
            except Exception:
                continue
        assert snapshot(pg_db, second_case).triggers().count("deadline_overdue") == 1
    finally:
        leader.release()
