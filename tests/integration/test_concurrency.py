"""Two users acting on the same case at the same moment, for real: two threads, one database.

Each thread runs the whole use case (its own session and transaction) and both are released by a
barrier. On PostgreSQL the case row is locked with SELECT … FOR UPDATE; on SQLite the write
transaction starts with BEGIN IMMEDIATE. Either way exactly one wins, the other gets a typed error,
and nothing of the loser's work is in the database.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from bargaining.db import Database
from bargaining.errors import Conflict, TransitionRefused, ValidationError
from services import cases as uc
from services.queries import case_detail, list_cases
from tests.integration.helpers import add_street_enterprise, new_enterprise_case, run_at_once, snapshot
from tests.support import TERMS, add_reps, at, build_world, walk
from workflows.cases import start_case

ROUNDS = 8


def _outcome(results: list[Any]) -> tuple[dict[str, Any], BaseException]:
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1, f"expected one winner and one loser, got {results!r}"
    return wins[0], losses[0]


def test_stale_version_exactly_one_wins(db: Database) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w)
    day = walk(w, case_id, "negotiating")
    uc.set_agreement_terms(db, w.instructor, case_id, TERMS, now=at(day))
    start = at(day)
    round_wins = 0

    for n in range(ROUNDS):
        before = snapshot(db, case_id)
        v = before.version
        # Each request carries its own clock reading, as in real use.
        now_a, now_b = start + timedelta(minutes=n, seconds=1), start + timedelta(minutes=n, seconds=2)

        def record_round(who: str, now: datetime, v: int = v, n: int = n) -> dict[str, Any]:
            return uc.fire_action(
                db,
                w.instructor,
                case_id,
                "record_round",
                values={"chair_side": "worker", "minutes": f"第{n}轮 {who}"},
                expected_version=v,
                now=now,
            )

        def change_terms(v: int = v, n: int = n, now: datetime = now_b) -> dict[str, Any]:
            terms = {**TERMS, "avg_wage_after": str(5450 + n)}
            return uc.set_agreement_terms(db, w.admin, case_id, terms, expected_version=v, now=now)

        # Even rounds: the same action twice; odd rounds: two different use cases on one version.
        first = partial(record_round, "A", now_a)
        second = partial(record_round, "B", now_b) if n % 2 == 0 else change_terms
        win, loss = _outcome(run_at_once([first, second]))

        assert isinstance(loss, Conflict), repr(loss)
        assert "已被他人修改" in loss.message and loss.details["current_version"] == v + 1
        after = snapshot(db, case_id)
        assert after.state == "negotiating"
        assert after.version == v + 1 == win["version"]
        assert len(after.events) == len(before.events) + 1, after.triggers()
        assert after.events[: len(before.events)] == before.events  # nothing rewritten
        if "text_hash" in win:  # the terms won: no round, no minutes
            assert after.triggers()[-1] == "update_agreement"
            assert (after.rounds, after.documents) == (before.rounds, before.documents)
            assert after.agreement != before.agreement
        else:
            assert after.triggers()[-1] == "record_round"
            round_wins += 1
            assert after.rounds == before.rounds + 1
            assert [k for _, k in after.documents[len(before.documents) :]] == ["minutes"]
            assert after.agreement == before.agreement
        assert after.deadlines == before.deadlines

    # The minutes stored are exactly the winners' (one per successful round), numbered 1..k.
    detail = case_detail(db, w.admin, case_id, now=start)
    numbers = [r["number"] for r in detail["rounds"]]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == round_wins >= ROUNDS // 2  # every even round records one


def test_action_valid_once_fired_twice_without_version(db: Database) -> None:
    w = build_world(db)
    for n in range(4):
        case_id = new_enterprise_case(w)
        day = walk(w, case_id, "offer_sent", start=date(2025, 11, 3))
        before = snapshot(db, case_id)
        assert before.state == "offer_sent"

        def respond(case_id: int = case_id, day: date = day) -> dict[str, Any]:
            return uc.fire_action(db, w.instructor, case_id, "record_response", now=at(day, 11))

        win, loss = _outcome(run_at_once([respond, respond]))
        assert isinstance(loss, TransitionRefused | Conflict), repr(loss)
        assert win["state"] == "negotiating" and win["from_state"] == "offer_sent"

        after = snapshot(db, case_id)
        assert after.state == "negotiating" and after.version == before.version + 1, n
        assert after.triggers().count("record_response") == 1
        assert [k for _, k in after.documents].count("response_letter") == 1
        response = [d for d in after.deadlines if d[1] == "response"]
        assert len(response) == 1 and response[0][5] is not None  # closed, once


@pytest.mark.parametrize("trigger", ["send_offer", "terminate"])
def test_concurrent_firing_on_different_cases_both_succeed(db: Database, trigger: str) -> None:
    """Locking is per case: two users on two cases never block each other into an error."""
    w = build_world(db)
    ids = [new_enterprise_case(w) for _ in range(2)]
    for case_id in ids:
        add_reps(w, case_id, now=at(date(2025, 11, 3)))

    def go(case_id: int) -> dict[str, Any]:
        values = {"from_side": "worker", "subjects": "年度工资调整"} if trigger == "send_offer" else {}
        return uc.fire_action(
            db, w.instructor, case_id, trigger, values=values, reason="企业关闭", now=at(date(2025, 11, 3))
        )

    results = run_at_once([lambda: go(ids[0]), lambda: go(ids[1])])
    assert all(isinstance(r, dict) for r in results), results
    for case_id in ids:
        assert snapshot(db, case_id).triggers().count(trigger) == 1


def test_two_changes_stamped_with_the_same_instant_each_move_the_version(db: Database) -> None:
    """A coarse clock, a replayed import or `sweep --now` can give two requests the same instant."""
    w = build_world(db)
    case_id = new_enterprise_case(w)
    day = walk(w, case_id, "negotiating")
    now = at(day)  # the instant of the last change (record_response), e.g. a replayed import
    v = snapshot(db, case_id).version
    values = {"chair_side": "worker", "minutes": "第一次协商"}
    first = uc.fire_action(
        db, w.instructor, case_id, "record_round", values=values, expected_version=v, now=now
    )
    assert first["version"] == v + 1
    with pytest.raises(Conflict):
        uc.fire_action(db, w.instructor, case_id, "record_round", values=values, expected_version=v, now=now)


def test_two_new_cases_for_one_enterprise_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """One open bargaining round per enterprise and kind holds under concurrency too.

    Both requests are held just before the case row is inserted (after the "already open?" check)
    until the other one got there too, or 1 s passed: a correct implementation serialises the two
    before the check, so the second never gets there while the first is open.
    """
    w = build_world(db)
    code = add_street_enterprise(w)
    meet = threading.Barrier(2)
    real_start_case = start_case  # bound by name in services.cases, patched there below

    def start_case_after_meeting(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=1)
        return real_start_case(*args, **kwargs)

    monkeypatch.setattr(uc, "start_case", start_case_after_meeting)

    def create() -> dict[str, Any]:
        return uc.create_case(db, w.instructor, kind="enterprise", enterprise=code, now=at(date(2025, 11, 1)))

    results = run_at_once([create, create])
    listed = list_cases(db, w.admin, search=code)
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1 and listed["total"] == 1, results
    loss = next(r for r in results if isinstance(r, BaseException))
    assert isinstance(loss, ValidationError | Conflict), repr(loss)
