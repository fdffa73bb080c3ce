"""The audit sweep under a real APScheduler, two sweeps at once, and a crash half-way through:
no campaign start or rectification step is ever lost or done twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from bargaining.db import Database, open_database
from bargaining.models.audit import AuditCase, AuditDeadline, AuditEvent, Campaign, ScheduleEntry
from services.audits import cases as ac
from services.audits import sweep as sweep_module
from services.audits.sweep import sweep_audits
from services.uow import unit_of_work
from tests.audits.support import (
    TODAY,
    AuditWorld,
    all_compliant_answers,
    build_audit_world,
    case_with_inspectors,
    create,
    prepare,
)
from tests.support import at

START = TODAY + timedelta(days=7)  # every campaign below starts on 2026-03-09 at 08:00 China time


def _run_at_once(calls: list[Callable[[], Any]], timeout: float = 120.0) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def runner(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # inspected by the test
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, fn), daemon=True) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a sweep did not finish"
    return results


def _approved_campaigns(w: AuditWorld, count: int, sample_size: int = 3) -> list[str]:
    numbers = []
    for n in range(count):
        number = create(w, title=f"专项抽查{n}", sample_size=sample_size)["number"]
        prepare(w, number, entropy=f"开奖号码 {n}")
        numbers.append(number)
    return numbers


def _starts(db: Database) -> Counter[int]:
    with unit_of_work(db, write=False) as uow:
        return Counter(
            uow.session.scalars(
                select(AuditEvent.campaign_id).where(AuditEvent.trigger == "campaign_started")
            )
        )


def _case_counts(db: Database) -> Counter[int]:
    with unit_of_work(db, write=False) as uow:
        return Counter(uow.session.scalars(select(AuditCase.campaign_id)))


def _run_scheduler_once(db_url: str, now: datetime) -> None:
    """One scheduler process's life: start, sweep once as the tick would, shut down."""
    database = open_database(db_url)
    done = threading.Event()
    failures: list[BaseException] = []

    def job() -> None:
        try:
            sweep_audits(database, now, keep_details=False)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            done.set()

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(job, "date", id="audit-sweep-now", replace_existing=True)
    scheduler.start()
    try:
        assert done.wait(60), "the scheduled sweep did not run"
    finally:
        scheduler.shutdown(wait=True)
        database.dispose()
    assert not failures, failures


def test_scheduler_restarts_neither_lose_nor_double_a_start(db: Database) -> None:
    w = build_audit_world(db)
    [number] = _approved_campaigns(w, 1, sample_size=4)
    # First scheduler runs the day before the start, then the process goes away.
    _run_scheduler_once(db.url, at(START - timedelta(days=1), 12))
    assert _starts(db) == Counter()
    # It is down at 08:00 on the start day; a new process comes up at noon and catches up.
    _run_scheduler_once(db.url, at(START, 12))
    # Restarted again (and again) later the same day: nothing happens twice.
    _run_scheduler_once(db.url, at(START, 12) + timedelta(minutes=1))
    _run_scheduler_once(db.url, at(START + timedelta(days=1), 9))
    with unit_of_work(db, write=False) as uow:
        campaign = uow.session.scalar(select(Campaign).where(Campaign.number == number))
        assert campaign is not None and campaign.status == "started"
        entries = {e.kind: e for e in uow.session.scalars(select(ScheduleEntry))}
    assert _starts(db) == Counter({campaign.id: 1})
    assert _case_counts(db) == Counter({campaign.id: 4})
    assert entries["start"].fired_at == at(START, 12)
    assert entries["reminder"].fired_at == at(
        START - timedelta(days=1), 12
    )  # reminder went out before the start
    assert entries["fieldwork_end"].fired_at is None


def _overdue_rectifications(w: AuditWorld, count: int) -> datetime:
    """``count`` audit cases in rectification with items due on START + 20; returns a time after."""
    day = START + timedelta(days=1)
    due = START + timedelta(days=20)
    for index in range(count):
        number, (first, _), _ = case_with_inspectors(w, index)
        answers = all_compliant_answers(w, number)
        answers["pay_day"] = ("noncompliant", "工资推迟发放")
        ac.fire_action(w.db, first, number, "notify", values={"method": "written"}, now=at(day))
        ac.save_answers(w.db, first, number, answers, now=at(day))
        ac.fire_action(w.db, first, number, "record_inspection", now=at(day))
        finding = ac.add_finding(
            w.db, first, number, item_code="pay_day", severity="medium", description="推迟发放", now=at(day)
        )
        ac.fire_action(w.db, first, number, "confirm_findings", now=at(day))
        ac.add_rectification(
            w.db,
            first,
            number,
            finding_id=finding["finding_id"],
            action="按约定日期发放",
            owner="财务部",
            due=due,
            required_evidence="工资发放记录",
            now=at(day),
        )
        ac.fire_action(w.db, first, number, "order_rectification", now=at(day))
    return at(due + timedelta(days=2))


def _ladder_events(db: Database) -> Counter[str]:
    with unit_of_work(db, write=False) as uow:
        return Counter(
            uow.session.scalars(
                select(AuditEvent.trigger).where(
                    AuditEvent.trigger.in_(
                        ("supervision_opinion_issued", "supervision_suggestion_sent", "escalate")
                    )
                )
            )
        )


def test_two_sweeps_at_once_fire_everything_exactly_once(db: Database) -> None:
    w = build_audit_world(db, per_street=8)
    numbers = _approved_campaigns(w, 3)
    results = _run_at_once([lambda: sweep_audits(db, at(START, 12)) for _ in range(2)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.started for r in results) == 3
    assert sorted(_starts(db).values()) == [1, 1, 1]
    assert sorted(_case_counts(db).values()) == [3, 3, 3]
    assert len(numbers) == 3

    later = _overdue_rectifications(w, 3)
    results = _run_at_once([lambda: sweep_audits(db, later) for _ in range(2)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.opinions for r in results) == 3
    assert _ladder_events(db) == Counter({"supervision_opinion_issued": 3})
    much_later = later + timedelta(days=40)
    results = _run_at_once([lambda: sweep_audits(db, much_later) for _ in range(3)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert _ladder_events(db) == Counter(
        {"supervision_opinion_issued": 3, "supervision_suggestion_sent": 3, "escalate": 3}
    )


def test_crash_mid_sweep_leaves_everything_for_the_next_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_audit_world(db)
    [number] = _approved_campaigns(w, 1, sample_size=4)

    real_start = sweep_module.start_campaign

    def start_then_crash(*args: Any, **kwargs: Any) -> int:
        real_start(*args, **kwargs)  # the cases are opened in the transaction …
        raise RuntimeError("process killed")  # … which then dies before commit

    monkeypatch.setattr(sweep_module, "start_campaign", start_then_crash)
    with pytest.raises(RuntimeError):
        sweep_audits(db, at(START, 12))
    assert _starts(db) == Counter() and _case_counts(db) == Counter()
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(func.count()).where(ScheduleEntry.fired_at.is_not(None))) == 0
    monkeypatch.undo()
    assert sweep_audits(db, at(START, 12)).started == 1
    assert sweep_audits(db, at(START, 13)).started == 0
    assert list(_case_counts(db).values()) == [4]

    later = _overdue_rectifications(w, 3)
    calls = {"n": 0}
    real_step = sweep_module._rectification_overdue

    def second_one_crashes(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "_rectification_overdue", second_one_crashes)
    with pytest.raises(RuntimeError):
        sweep_audits(db, later)
    assert _ladder_events(db) == Counter()  # the first opinion was rolled back with the batch
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(func.count()).where(AuditDeadline.fired_at.is_not(None))) == 0
    monkeypatch.undo()
    assert sweep_audits(db, later).opinions == 3
    assert sweep_audits(db, later).opinions == 0
    assert _ladder_events(db) == Counter({"supervision_opinion_issued": 3})
    assert number
