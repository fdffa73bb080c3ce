"""Case lists (inbox, /api/cases): capped totals and the wide-scope plan give the same pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bargaining.actors import Actor
from bargaining.db import Database
from services import case_list, queries
from services.workbench import InboxFilter, inbox
from tests.integration.helpers import new_enterprise_case
from tests.support import World, at, build_world, walk


@pytest.fixture
def listed(db: Database) -> tuple[Database, World]:
    w = build_world(db)
    for n in range(9):
        case_id = new_enterprise_case(w, date(2025, 11, 1) + timedelta(days=n))
        if n % 3 == 0:
            walk(w, case_id, "offer_sent")  # a running deadline: next_due set
    return db, w


NOW = at(date(2025, 12, 1))


def _pages(db: Database, actor: Actor, sort: str, size: int) -> tuple[list[str], dict[str, Any]]:
    first = inbox(db, actor, InboxFilter(sort=sort, limit=size), now=NOW)
    numbers = []
    for offset in range(0, 9, size):
        page = inbox(db, actor, InboxFilter(sort=sort, limit=size, offset=offset), now=NOW)
        numbers += [item["number"] for item in page["items"]]
    return numbers, first


@pytest.mark.parametrize("sort", ["next_due", "number", "-next_due", "updated"])
def test_capped_total_and_wide_plan_list_the_same_cases(
    listed: tuple[Database, World], monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    db, w = listed
    exact, first = _pages(db, w.admin, sort, 4)
    assert first["total"] == 9 and first["total_capped"] is False
    assert len(exact) == len(set(exact)) == 9

    # A tiny cap and a tiny "wide" threshold: the same pages, through the other plan.
    monkeypatch.setattr(case_list, "TOTAL_CAP", 5)
    monkeypatch.setattr(case_list, "WIDE", 2)
    capped, first = _pages(db, w.admin, sort, 4)
    assert capped == exact
    assert (first["total"], first["total_capped"]) == (5, True)
    # A page beyond the cap still counts as far as it reaches.
    far = inbox(db, w.admin, InboxFilter(sort=sort, limit=4, offset=4), now=NOW)
    assert (far["total"], far["total_capped"]) == (8, True)


def test_due_order_puts_cases_without_deadline_last(
    listed: tuple[Database, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, w = listed
    monkeypatch.setattr(case_list, "WIDE", 0)  # the index walk on SQLite
    items = inbox(db, w.admin, InboxFilter(limit=50), now=NOW)["items"]
    dues = [i["next_due"] for i in items]
    with_due = [d for d in dues if d]
    assert dues == with_due + [None] * (len(dues) - len(with_due)) and with_due == sorted(with_due)
    assert len(with_due) == 3


def test_api_list_uses_the_same_page(listed: tuple[Database, World], monkeypatch: pytest.MonkeyPatch) -> None:
    db, w = listed
    whole = queries.list_cases(db, w.admin, limit=500)
    assert whole["total"] == 9 and not whole["total_capped"]
    ids = [i["id"] for i in whole["items"]]
    assert ids == sorted(ids)
    monkeypatch.setattr(case_list, "TOTAL_CAP", 3)
    monkeypatch.setattr(case_list, "WIDE", 1)
    page = queries.list_cases(db, w.admin, limit=2, offset=2)
    assert [i["id"] for i in page["items"]] == ids[2:4]
    assert (page["total"], page["total_capped"]) == (4, True)
    stage = queries.list_cases(db, w.admin, state="offer_sent", limit=50)
    assert stage["total"] == 3 and {i["state"] for i in stage["items"]} == {"offer_sent"}
