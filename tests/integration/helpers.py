"""Shared helpers for the integration tests: snapshots of a case, running callables at once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bargaining.db import Database
from bargaining.models import (
    Agreement,
    Case,
    CongressVote,
    Deadline,
    Document,
    Enterprise,
    Event,
    NegotiationRound,
    Representative,
)
from bargaining.rules.uscc import complete_credit_code
from services import cases as uc
from services.orgs import add_enterprise
from services.repository import get_org_unit
from services.uow import unit_of_work
from tests.support import World, at

PG_ADMIN_URL = os.environ.get("BARGAINING_TEST_POSTGRES_ADMIN_URL") or os.environ.get(
    "BARGAINING_TEST_POSTGRES_URL"
)
PG_APP_URL = os.environ.get("BARGAINING_TEST_POSTGRES_APP_URL")
PG_APP_ROLE = os.environ.get("BARGAINING_TEST_POSTGRES_APP_ROLE", "bargaining_app")


@dataclass(frozen=True)
class CaseSnapshot:
    """Everything a use case on one case may write, read back from the database."""

    state: str
    version: int
    events: tuple[tuple[int, str], ...]
    documents: tuple[tuple[int, str], ...]
    deadlines: tuple[tuple[Any, ...], ...]
    rounds: int
    votes: int
    representatives: int
    agreement: tuple[Any, ...] | None

    def triggers(self) -> list[str]:
        return [t for _, t in self.events]


def snapshot(db: Database, case_id: int) -> CaseSnapshot:
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = s.get(Case, case_id)
        assert case is not None
        agreement = s.scalar(select(Agreement).where(Agreement.case_id == case_id))

        def count(model: Any) -> int:
            return s.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) or 0

        return CaseSnapshot(
            state=case.state,
            version=case.version,
            events=tuple(
                (e.id, e.trigger)
                for e in s.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))
            ),
            documents=tuple(
                (d.id, d.kind)
                for d in s.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id))
            ),
            deadlines=tuple(
                (d.id, d.kind, d.due, d.provisional, d.fired_at, d.closed_at, d.paused_at)
                for d in s.scalars(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id))
            ),
            rounds=count(NegotiationRound),
            votes=count(CongressVote),
            representatives=count(Representative),
            agreement=None
            if agreement is None
            else (
                agreement.text_hash,
                agreement.approved_text_hash,
                agreement.signed_on,
                agreement.filed_on,
                agreement.disclosed_on,
                agreement.in_force_on,
            ),
        )


def run_at_once(calls: list[Callable[[], Any]], timeout: float = 60.0) -> list[Any]:
    """Run the callables in threads released together by a barrier; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def runner(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # collected and inspected by the test
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, fn), daemon=True) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a concurrent call did not finish"
    return results


def add_street_enterprise(world: World, *, headcount: int = 80) -> str:
    """One more enterprise in the instructor's street (a bargaining round is one per enterprise)."""
    with unit_of_work(world.db) as uow:
        s = uow.session
        n = s.scalar(select(func.count()).select_from(Enterprise)) or 0
        code = complete_credit_code(f"91320282MB{n:07d}")
        add_enterprise(
            s,
            credit_code=code,
            name=f"集成测试{n}号有限公司",
            org_unit=get_org_unit(s, "street"),
            headcount=headcount,
        )
    return code


def new_enterprise_case(world: World, day: date = date(2025, 11, 1), *, enterprise: str | None = None) -> int:
    """A new enterprise case (for a fresh enterprise of the street unless one is named)."""
    code = enterprise or add_street_enterprise(world)
    case = uc.create_case(world.db, world.instructor, kind="enterprise", enterprise=code, now=at(day))
    return int(case["id"])


def database_name(db: Database) -> str:
    name = make_url(db.url).database
    assert name
    return name
