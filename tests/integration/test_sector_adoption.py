"""A sector agreement (行业性工资集体协议) with the enterprises it binds, walked to in force, and the
covered enterprises' adoption cases (履约集体协议), which wait for the sector agreement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bargaining.db import Database
from bargaining.errors import NotFound, TransitionRefused, ValidationError
from services import cases as uc
from services.queries import case_detail, list_cases
from tests.integration.helpers import snapshot
from tests.support import TERMS, World, add_reps, at, build_world, fire

START = date(2025, 11, 3)


def _adopt(w: World, case_id: int, day: date) -> date:
    """From a prepared adoption (representatives and terms in place) to in force."""
    fire(w, case_id, "submit_draft", day)
    day += timedelta(days=3)
    fire(w, case_id, "record_congress_vote", day, total=30, present=25, votes_for=20, against=3, abstain=2)
    day += timedelta(days=1)
    fire(w, case_id, "sign", day)
    day += timedelta(days=2)
    fire(w, case_id, "file_for_review", day, authority="人社局", copies=3)
    day += timedelta(days=5)
    fire(w, case_id, "record_review_opinion", day, w.reviewer, has_objections="否", opinion="合法有效")
    return day


def test_sector_case_with_coverage_and_adoptions(db: Database) -> None:
    w = build_world(db)
    covered, not_covered = w.tea_codes[:2], w.tea_codes[2]
    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(START))
    sid = sector["id"]
    assert sector["definition"] == "sector@1" and sector["state"] == "preparation"

    # Coverage: only visible enterprises, only a sector case.
    with pytest.raises(NotFound, match="或您无权查看"):  # the same answer as for no such enterprise
        uc.add_coverage(db, w.instructor, sid, [w.other_enterprise_code], now=at(START))
    uc.add_coverage(db, w.instructor, sid, covered[:1], now=at(START))

    # Adoptions: covered enterprises only, and only of a sector case.
    early = uc.create_case(
        db, w.instructor, kind="adoption", enterprise=covered[0], parent=sid, now=at(START)
    )
    assert early["definition"] == "adoption@1" and early["state"] == "preparation"
    with pytest.raises(ValidationError, match="覆盖范围"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=not_covered, parent=sid, now=at(START))
    with pytest.raises(ValidationError, match="覆盖范围"):
        uc.create_case(
            db, w.instructor, kind="adoption", enterprise=w.enterprise_code, parent=sid, now=at(START)
        )
    enterprise_case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(START)
    )
    with pytest.raises(ValidationError, match="不是行业协商"):
        uc.create_case(
            db,
            w.instructor,
            kind="adoption",
            enterprise=covered[0],
            parent=enterprise_case["id"],
            now=at(START),
        )
    with pytest.raises(ValidationError, match="parent"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=covered[1], now=at(START))

    # The sector case walks the statutory path with a sector congress.
    day = START
    add_reps(w, sid, now=at(day))
    fire(w, sid, "send_offer", day, from_side="worker", subjects="茶叶行业采摘工价")
    day += timedelta(days=5)
    fire(w, sid, "record_response", day)
    uc.add_coverage(db, w.instructor, sid, covered, now=at(day))  # the second one; the first is kept once
    day += timedelta(days=3)
    fire(w, sid, "record_round", day, chair_side="worker", minutes="行业协商第一次会议")
    uc.set_agreement_terms(db, w.instructor, sid, TERMS, now=at(day))
    fire(w, sid, "submit_draft", day)
    detail = case_detail(db, w.admin, sid)
    assert sorted(c["credit_code"] for c in detail["coverage"]) == sorted(covered)
    assert detail["coverage"][0]["headcount"] == 30
    with pytest.raises(ValidationError, match="不能变更覆盖企业"):
        uc.add_coverage(db, w.instructor, sid, [not_covered], now=at(day))

    # Before the sector agreement is in force an adoption cannot go to its congress.
    add_reps(w, early["id"], now=at(day))
    uc.set_agreement_terms(db, w.instructor, early["id"], TERMS, now=at(day))
    before = snapshot(db, early["id"])
    with pytest.raises(TransitionRefused, match="行业集体合同尚未生效") as refused:
        fire(w, early["id"], "submit_draft", day)
    assert refused.value.details["reasons"] == ["行业集体合同尚未生效"]
    assert snapshot(db, early["id"]) == before
    allowed = {a["trigger"]: a for a in case_detail(db, w.admin, early["id"])["actions"]}
    assert allowed["submit_draft"]["allowed"] is False
    assert allowed["submit_draft"]["reasons"] == ["行业集体合同尚未生效"]

    day += timedelta(days=4)
    fire(w, sid, "record_congress_vote", day, total=90, present=70, votes_for=60, against=6, abstain=4)
    day += timedelta(days=1)
    fire(w, sid, "sign", day)
    day += timedelta(days=2)
    fire(w, sid, "file_for_review", day, authority="人社局", copies=3)
    assert case_detail(db, w.admin, early["id"])["state"] == "preparation"
    with pytest.raises(TransitionRefused, match="尚未生效"):
        fire(w, early["id"], "submit_draft", day)  # under review is not yet in force
    day += timedelta(days=6)
    fire(w, sid, "record_review_opinion", day, w.reviewer, has_objections="否", opinion="合法有效")
    assert case_detail(db, w.admin, sid)["state"] == "in_force"

    # Now the adoptions walk to in force on their own.
    day += timedelta(days=1)
    _adopt(w, early["id"], day)
    late = uc.create_case(db, w.instructor, kind="adoption", enterprise=covered[1], parent=sid, now=at(day))
    add_reps(w, late["id"], now=at(day))
    uc.set_agreement_terms(db, w.instructor, late["id"], TERMS, now=at(day))
    day = _adopt(w, late["id"], day)

    for adoption in (early, late):
        detail = case_detail(db, w.admin, adoption["id"])
        assert detail["state"] == "in_force" and detail["parent_id"] == sid
        assert detail["kind"] == "adoption" and detail["sector"] == "茶叶"
        triggers = [e["trigger"] for e in detail["timeline"]]
        assert "send_offer" not in triggers and triggers.count("submit_draft") == 1
        assert {"congress_resolution", "signed_agreement", "filing_form", "review_opinion"} <= {
            d["kind"] for d in detail["documents"]
        }
    listed = list_cases(db, w.instructor, kind="adoption")
    assert listed["total"] == 2 and {c["state"] for c in listed["items"]} == {"in_force"}
    # In force, an enterprise may open its next adoption round, but only one at a time.
    again = uc.create_case(db, w.instructor, kind="adoption", enterprise=covered[0], parent=sid, now=at(day))
    assert again["state"] == "preparation"
    with pytest.raises(ValidationError, match="进行中"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=covered[0], parent=sid, now=at(day))
