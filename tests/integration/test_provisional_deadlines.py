"""Deadlines in a year whose holiday notice is not out yet are provisional, and are recomputed
when the year is loaded (services.calendar_admin.load_year).

chinesecalendar carries 2004-2026; 2027 here is counted from weekends alone until loaded. The 2027
notice below is made up for the test (a Spring Festival break over the response's last day, with a
Sunday make-up working day), so the due date has to move.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import CalendarYear, Deadline, Event
from bargaining.rules.periods import end_of_day_utc
from services import calendar_admin
from services.calendar_admin import load_year
from services.deadlines import preview_deadline, sweep
from services.uow import unit_of_work
from tests.integration.helpers import new_enterprise_case
from tests.support import World, add_reps, at, build_world, fire, walk

ROOT = Path(__file__).absolute().parents[2]
NOTICE_2027: dict[str, Any] = {
    "year": 2027,
    "days_off": ["2027-01-01", *(f"2027-02-{d:02d}" for d in range(6, 13))],
    "makeup_workdays": ["2027-02-14"],
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试用）",
}


def _offer(w: World, day: date) -> int:
    case_id = new_enterprise_case(w, day)
    add_reps(w, case_id, now=at(day))
    fire(w, case_id, "send_offer", day, from_side="worker", subjects="年度工资调整")
    return case_id


def _response(db: Database, case_id: int) -> Deadline:
    with unit_of_work(db, write=False) as uow:
        deadline = uow.session.scalar(
            select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == "response")
        )
        assert deadline is not None
        return deadline


def test_loading_2027_recomputes_provisional_deadlines(db: Database) -> None:
    w = build_world(db)
    settled_case = new_enterprise_case(w)
    walk(w, settled_case, "offer_sent")  # 2025: known calendar, not provisional
    settled_before = _response(db, settled_case)
    assert settled_before.provisional is False

    moved_case = _offer(w, date(2027, 1, 20))  # 20 days: Tuesday 2027-02-09
    kept_case = _offer(w, date(2027, 3, 1))  # 20 days: Sunday 3-21, so Monday 3-22
    moved, kept = _response(db, moved_case), _response(db, kept_case)
    assert (moved.due, moved.provisional) == (date(2027, 2, 9), True)
    assert (kept.due, kept.provisional) == (date(2027, 3, 22), True)
    preview = preview_deadline(db, jurisdiction="national", kind="response", start=date(2027, 1, 20))
    assert (preview["due"], preview["provisional"]) == ("2027-02-09", True)

    result = load_year(db, NOTICE_2027, now=at(date(2026, 11, 26)))
    assert result == {"year": 2027, "recomputed": 2}

    moved, kept = _response(db, moved_case), _response(db, kept_case)
    # 2-9 is inside the break (2-6..2-12), 2-13 is a Saturday, 2-14 a make-up working day.
    assert (moved.due, moved.provisional) == (date(2027, 2, 14), False)
    assert moved.fire_at == end_of_day_utc(date(2027, 2, 14))
    assert (kept.due, kept.provisional) == (date(2027, 3, 22), False)
    settled_after = _response(db, settled_case)
    assert (settled_after.due, settled_after.provisional) == (settled_before.due, False)

    with unit_of_work(db, write=False) as uow:
        events = list(uow.session.scalars(select(Event).where(Event.trigger == "calendar_loaded")))
        row = uow.session.get(CalendarYear, 2027)
    assert len(events) == 1
    assert events[0].case_id is None and events[0].role == "system"
    assert events[0].payload["year"] == 2027
    recomputed = events[0].payload["recomputed"]
    assert isinstance(recomputed, list) and sorted(recomputed) == sorted([moved.id, kept.id])
    assert row is not None and "2027-02-14" in row.makeup_workdays

    preview = preview_deadline(db, jurisdiction="national", kind="response", start=date(2027, 1, 20))
    assert (preview["due"], preview["provisional"]) == ("2027-02-14", False)
    # The sweep goes by the recomputed instant: the 2025 response is overdue long since, …
    assert sweep(db, at(date(2027, 2, 1), 9)).escalated == 1
    # … nothing on 2-10 although the provisional due date (2-9) has passed, …
    assert sweep(db, at(date(2027, 2, 10), 9)).escalated == 0
    assert sweep(db, at(date(2027, 2, 14), 23)).escalated == 0
    # … and the overdue reminder once 2-14 has ended.
    report = sweep(db, at(date(2027, 2, 15), 0))
    assert report.escalated == 1 and report.details[0]["kind"] == "response"


def test_a_bad_notice_is_refused_and_changes_nothing(db: Database) -> None:
    w = build_world(db)
    case_id = _offer(w, date(2027, 1, 20))
    for bad, words in (
        ({"makeup_workdays": ["2027-02-10"]}, "既放假又调休"),
        ({"makeup_workdays": ["2027-02-15"]}, "周六或周日"),  # a Monday
        ({"days_off": ["2028-01-03"]}, "不属于 2027"),
        ({"days_off": ["2027-02-30"]}, "日期格式不正确"),
        ({"days_off": []}, "不能为空"),
        ({"source": " "}, "来源"),
    ):
        with pytest.raises(ValidationError, match=words):
            load_year(db, {**NOTICE_2027, **bad})
    assert (_response(db, case_id).due, _response(db, case_id).provisional) == (date(2027, 2, 9), True)
    with unit_of_work(db, write=False) as uow:
        assert uow.session.get(CalendarYear, 2027) is None


def test_a_failed_load_leaves_no_phantom_calendar(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build_world(db)

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(calendar_admin, "write_event", crash)
    with pytest.raises(RuntimeError):
        load_year(db, NOTICE_2027)
    monkeypatch.undo()
    with unit_of_work(db, write=False) as uow:
        assert uow.session.get(CalendarYear, 2027) is None
    # Not loaded, so a new 2027 deadline must still be provisional.
    case_id = _offer(w, date(2027, 1, 20))
    assert (_response(db, case_id).due, _response(db, case_id).provisional) == (date(2027, 2, 9), True)


def test_deadline_computed_by_another_process_right_after_a_load_is_not_left_provisional(
    db: Database,
) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w, date(2027, 1, 20))
    add_reps(w, case_id, now=at(date(2027, 1, 20)))
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.integration._worker_child", db.url, str(case_id)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdin is not None
        assert worker.stdout.readline().strip() == "READY"  # its calendar is cached now
        load_year(db, NOTICE_2027)  # the administrator loads 2027 in another process
        worker.stdin.write("GO\n")  # seconds later a user's offer lands on the worker
        worker.stdin.flush()
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0 and out.strip() == "DONE", err
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    sweep(db, at(date(2027, 1, 25)))  # any later housekeeping may heal it
    deadline = _response(db, case_id)
    assert (deadline.due, deadline.provisional) == (date(2027, 2, 14), False)
