"""Region scoping: a user sees and acts on the subtree of their own federation only.

An invisible case is reported exactly like a case that does not exist, so its existence does
not leak; the city's federation administrator sees every street.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from bargaining.db import Database
from bargaining.errors import NotFound
from services import cases as uc
from services.queries import case_detail, list_cases
from tests.integration.helpers import new_enterprise_case, snapshot
from tests.support import TERMS, at, build_world, walk

DAY = date(2025, 11, 3)


def test_instructor_of_another_street_cannot_reach_the_case(db: Database) -> None:
    w = build_world(db)
    street_case = new_enterprise_case(w)
    walk(w, street_case, "offer_sent", start=DAY)
    other_case = uc.create_case(
        db, w.other_instructor, kind="enterprise", enterprise=w.other_enterprise_code, now=at(DAY)
    )["id"]
    before = snapshot(db, street_case)
    number = case_detail(db, w.admin, street_case)["number"]

    attempts: dict[str, Callable[[Any], Any]] = {
        "show": lambda ref: case_detail(db, w.other_instructor, ref),
        "fire": lambda ref: uc.fire_action(db, w.other_instructor, ref, "record_response", now=at(DAY)),
        "fire_versioned": lambda ref: uc.fire_action(
            db, w.other_instructor, ref, "record_response", expected_version=before.version, now=at(DAY)
        ),
        "rep": lambda ref: uc.add_representative(db, w.other_instructor, ref, side="worker", name="外人"),
        "terms": lambda ref: uc.set_agreement_terms(db, w.other_instructor, ref, TERMS),
    }
    for what, attempt in attempts.items():
        for ref, missing_ref in (
            (street_case, 999999),
            (str(street_case), "999999"),
            (number, "2025-E9999999"),
        ):
            with pytest.raises(NotFound) as hidden:
                attempt(ref)
            with pytest.raises(NotFound) as missing:
                attempt(missing_ref)
            # Word for word what a case that does not exist gives: its existence does not leak.
            assert hidden.value.message.replace(str(ref), "<ref>") == missing.value.message.replace(
                str(missing_ref), "<ref>"
            ), what
            assert hidden.value.details == missing.value.details == {}
    assert snapshot(db, street_case) == before  # nothing was written by any attempt

    # The street's own instructor cannot reach the neighbour's case either.
    with pytest.raises(NotFound):
        case_detail(db, w.instructor, other_case)
    with pytest.raises(NotFound):
        uc.fire_action(db, w.instructor, other_case, "terminate", reason="越权", now=at(DAY))

    # Nor create a case for an enterprise of the other street.
    with pytest.raises(NotFound, match="或您无权查看"):  # the same answer as for no such enterprise
        uc.create_case(db, w.instructor, kind="enterprise", enterprise=w.other_enterprise_code, now=at(DAY))

    # The city administrator reaches both and may act on them.
    assert case_detail(db, w.admin, street_case)["state"] == "offer_sent"
    assert case_detail(db, w.admin, other_case)["state"] == "preparation"
    done = uc.fire_action(db, w.admin, street_case, "record_response", now=at(DAY))
    assert done["state"] == "negotiating"


def test_list_totals_per_actor(db: Database) -> None:
    w = build_world(db)
    street_ids = [new_enterprise_case(w) for _ in range(3)]
    walk(w, street_ids[0], "offer_sent", start=DAY)
    other_ids = [
        uc.create_case(
            db, w.other_instructor, kind="enterprise", enterprise=w.other_enterprise_code, now=at(DAY)
        )["id"]
    ]
    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(DAY))["id"]
    street_ids.append(sector)

    def ids(actor: Any, **filters: Any) -> tuple[int, list[int]]:
        listed = list_cases(db, actor, now=at(DAY), **filters)
        return listed["total"], [c["id"] for c in listed["items"]]

    assert ids(w.admin) == (5, sorted(street_ids + other_ids))
    assert ids(w.instructor) == (4, sorted(street_ids))
    assert ids(w.auditor) == (4, sorted(street_ids))  # same street, another role
    assert ids(w.other_instructor) == (1, other_ids)
    assert ids(w.reviewer) == (5, sorted(street_ids + other_ids))  # city level
    # Filters never widen the scope.
    assert ids(w.other_instructor, state="offer_sent") == (0, [])
    assert ids(w.admin, state="offer_sent") == (1, [street_ids[0]])
    assert ids(w.other_instructor, kind="sector") == (0, [])
    assert ids(w.other_instructor, search="集成测试") == (0, [])
    assert ids(w.instructor, search="集成测试")[0] == 3
    assert ids(w.other_instructor, search=w.other_enterprise_code) == (1, other_ids)
    assert ids(w.instructor, search=w.other_enterprise_code) == (0, [])
    # Paging keeps the per-actor total.
    total, page = ids(w.instructor, limit=2, offset=2)
    assert total == 4 and page == sorted(street_ids)[2:]
