"""Paths beside the main line: disputes, objections, termination, disclosure before filing, adoptions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bargaining.errors import TransitionRefused, ValidationError
from bargaining.models import Deadline
from services import cases as uc
from services.queries import case_detail
from services.uow import unit_of_work
from tests.support import TERMS, add_reps, at, build_world, fire, walk


def _open_deadlines(db, case_id):
    with unit_of_work(db, write=False) as uow:
        return {
            d.kind: d
            for d in uow.session.scalars(
                select(Deadline).where(Deadline.case_id == case_id, Deadline.closed_at.is_(None))
            )
        }


def _new(w, jurisdiction=None):
    return uc.create_case(
        w.db,
        w.instructor,
        kind="enterprise",
        enterprise=w.enterprise_code,
        jurisdiction=jurisdiction,
        now=at(date(2025, 11, 1)),
    )["id"]


def test_dispute_coordination_extends_once_and_returns_to_negotiation(db):
    w = build_world(db)
    ref = _new(w)
    day = walk(w, ref, "offer_sent")
    day += timedelta(days=25)
    fire(w, ref, "apply_coordination", day, authority="人社局", matter="企业未回应要约")
    deadlines = _open_deadlines(db, ref)
    assert "response" not in deadlines  # the coordination replaces the response clock
    dispute_due = deadlines["dispute"].due
    assert dispute_due >= day + timedelta(days=30)
    fire(w, ref, "extend_coordination", day + timedelta(days=20), reason="情况复杂")
    extended = _open_deadlines(db, ref)["dispute"].due
    assert extended >= dispute_due + timedelta(days=15)
    with pytest.raises(TransitionRefused, match="只能延长一次"):
        fire(w, ref, "extend_coordination", day + timedelta(days=21), reason="再延")
    result = fire(w, ref, "conclude_coordination", day + timedelta(days=30), result="企业同意协商")
    assert result["state"] == "negotiating"
    assert "dispute" not in _open_deadlines(db, ref)
    kinds = {d["kind"] for d in case_detail(db, w.admin, ref)["documents"]}
    assert "coordination_agreement" in kinds


def test_review_objections_send_the_case_back(db):
    w = build_world(db)
    ref = _new(w)
    day = walk(w, ref, "under_review")
    result = fire(
        w,
        ref,
        "record_review_opinion",
        day + timedelta(days=5),
        w.reviewer,
        has_objections="是",
        opinion="工资支付日条款不明确",
    )
    assert result["state"] == "negotiating"
    assert "review" not in _open_deadlines(db, ref) and "expiry" not in _open_deadlines(db, ref)


def test_termination_closes_every_open_deadline_and_needs_a_reason(db):
    w = build_world(db, jurisdiction="shandong")
    ref = _new(w)
    day = walk(w, ref, "negotiating")
    assert _open_deadlines(db, ref)
    with pytest.raises(TransitionRefused, match="原因"):
        fire(w, ref, "terminate", day)
    assert fire(w, ref, "terminate", day, reason="企业注销")["state"] == "terminated"
    assert _open_deadlines(db, ref) == {}
    actions = case_detail(db, w.admin, ref)["actions"]
    assert actions == []  # a terminal state offers nothing


def test_disclosure_before_filing_where_the_rule_set_says_so(db):
    w = build_world(db, jurisdiction="shanghai")
    ref = _new(w)
    day = walk(w, ref, "signed")
    deadlines = _open_deadlines(db, ref)
    assert "disclosure" in deadlines and "filing" not in deadlines
    with pytest.raises(TransitionRefused, match="先向全体职工公示"):
        fire(w, ref, "file_for_review", day, authority="人社局", copies=3)
    result = fire(w, ref, "disclose", day + timedelta(days=1), method="公告栏")
    assert result["state"] == "disclosed"
    assert "filing" in _open_deadlines(db, ref)
    assert fire(w, ref, "file_for_review", day + timedelta(days=2), authority="人社局", copies=3)[
        "state"
    ] == ("under_review")


def test_national_rule_files_before_disclosure(db):
    w = build_world(db)
    ref = _new(w)
    day = walk(w, ref, "signed")
    assert "filing" in _open_deadlines(db, ref) and "disclosure" not in _open_deadlines(db, ref)
    with pytest.raises(TransitionRefused, match="公示"):
        fire(w, ref, "disclose", day, method="公告栏")


def test_too_few_copies_for_the_jurisdiction(db):
    w = build_world(db, jurisdiction="zhejiang")  # Zhejiang: 5 copies
    ref = _new(w)
    day = walk(w, ref, "signed")
    with pytest.raises(TransitionRefused, match="5份"):
        fire(w, ref, "file_for_review", day, authority="人社局", copies=3)


def test_sector_coverage_and_adoption_only_for_covered_enterprises(db):
    w = build_world(db)
    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(date(2025, 11, 1)))["id"]
    day = walk(w, sector, "negotiating")
    fire(w, sector, "record_round", day, chair_side="worker", minutes="行业协商")
    uc.set_agreement_terms(db, w.instructor, sector, TERMS, now=at(day))
    with pytest.raises(TransitionRefused, match="覆盖的企业"):
        fire(w, sector, "submit_draft", day)
    uc.add_coverage(db, w.instructor, sector, w.tea_codes[:2], now=at(day))
    # An adoption before the sector agreement is in force is refused at submission.
    adoption = uc.create_case(
        db, w.instructor, kind="adoption", enterprise=w.tea_codes[0], parent=str(sector), now=at(day)
    )["id"]
    add_reps(w, adoption, now=at(day))
    uc.set_agreement_terms(db, w.instructor, adoption, TERMS, now=at(day))
    with pytest.raises(TransitionRefused, match="行业集体合同尚未生效"):
        fire(w, adoption, "submit_draft", day)
    with pytest.raises(ValidationError, match="覆盖范围"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=w.tea_codes[2], parent=str(sector))
    with pytest.raises(ValidationError, match="不是行业协商"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=w.tea_codes[0], parent=str(adoption))
    fire(w, sector, "submit_draft", day)
    fire(
        w,
        sector,
        "record_congress_vote",
        day + timedelta(days=3),
        total=40,
        present=36,
        votes_for=30,
        against=3,
        abstain=3,
    )
    fire(w, sector, "sign", day + timedelta(days=4))
    fire(w, sector, "file_for_review", day + timedelta(days=5), authority="人社局", copies=3)
    fire(
        w,
        sector,
        "record_review_opinion",
        day + timedelta(days=10),
        w.reviewer,
        has_objections="否",
        opinion="同意",
    )
    d = day + timedelta(days=11)
    # An adoption may only raise the sector's standards: a lower increase is refused and named.
    uc.set_agreement_terms(db, w.instructor, adoption, {"avg_wage_after": "5200"}, now=at(d))
    with pytest.raises(TransitionRefused, match=r"工资增幅4\.00%低于行业协议的9\.00%"):
        fire(w, adoption, "submit_draft", d)
    uc.set_agreement_terms(db, w.instructor, adoption, {"avg_wage_after": "5500"}, now=at(d))
    assert fire(w, adoption, "submit_draft", d)["state"] == "awaiting_congress"
    failed = fire(
        w, adoption, "record_congress_vote", d, total=30, present=30, votes_for=10, against=20, abstain=0
    )
    assert failed["state"] == "preparation"  # adoptions have no negotiation stage
    fire(w, adoption, "submit_draft", d + timedelta(days=1))
    fire(
        w,
        adoption,
        "record_congress_vote",
        d + timedelta(days=2),
        total=30,
        present=30,
        votes_for=25,
        against=5,
        abstain=0,
    )
    fire(w, adoption, "sign", d + timedelta(days=3))
    fire(w, adoption, "file_for_review", d + timedelta(days=4), authority="人社局", copies=3)
    done = fire(
        w,
        adoption,
        "record_review_opinion",
        d + timedelta(days=8),
        w.reviewer,
        has_objections="否",
        opinion="同意",
    )
    assert done["state"] == "in_force"
    detail = case_detail(db, w.admin, adoption)
    assert detail["parent_id"] == sector and detail["definition"] == "adoption@1"


def test_adoption_rate_below_sector_rate_is_refused_naming_the_cell(db):
    w = build_world(db)
    table = {
        "name": "茶叶采摘计件单价表",
        "unit": "斤",
        "periods": [{"code": "P01", "name": "明前一期", "start": "2026-03-10", "end": "2026-03-16"}],
        "rows": [{"code": "BUD", "name": "单芽", "quota": "3.5"}],
        "cells": {"BUD": {"P01": "42"}},
    }
    sector = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(date(2025, 11, 1)))["id"]
    uc.add_coverage(db, w.instructor, sector, w.tea_codes[:1], now=at(date(2025, 11, 1)))
    walk(w, sector, "in_force", terms={**TERMS, "rate_tables": [table]})
    adoption = uc.create_case(
        db, w.instructor, kind="adoption", enterprise=w.tea_codes[0], parent=str(sector)
    )["id"]
    add_reps(w, adoption)
    lower = {
        **table,
        "rows": [{"code": "BUD", "name": "单芽", "quota": "4"}],
        "cells": {"BUD": {"P01": "40"}},
    }
    uc.set_agreement_terms(db, w.instructor, adoption, {**TERMS, "rate_tables": [lower]})
    refused = case_detail(db, w.instructor, adoption)["actions"]
    submit = next(a for a in refused if a["trigger"] == "submit_draft")
    assert not submit["allowed"]
    text = "；".join(submit["reasons"])
    assert "“单芽/明前一期”单价40元低于行业协议的42元" in text
    assert "“单芽”劳动定额4高于行业协议的3.5" in text
    uc.set_agreement_terms(
        db, w.instructor, adoption, {"rate_tables": [{**table, "cells": {"BUD": {"P01": "45"}}}]}
    )
    submit = next(
        a for a in case_detail(db, w.instructor, adoption)["actions"] if a["trigger"] == "submit_draft"
    )
    assert submit["allowed"], submit["reasons"]


def test_special_agreements_share_the_round_and_adoptions_open_in_bulk(db):
    w = build_world(db)
    main = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(date(2025, 11, 1)))["id"]
    uc.add_coverage(db, w.instructor, main, w.tea_codes, now=at(date(2025, 11, 1)))
    special = uc.create_case(db, w.instructor, kind="sector", parent=str(main), now=at(date(2025, 11, 1)))
    assert "专项集体协议" in special["title"]
    with pytest.raises(ValidationError, match="不是行业协商主协议"):
        uc.create_case(db, w.instructor, kind="sector", parent=str(special["id"]))
    detail = case_detail(db, w.admin, main)
    assert [x["number"] for x in detail["special_agreements"]] == [special["number"]]
    assert len(case_detail(db, w.admin, special["id"])["coverage"]) == 3  # inherits the round's coverage
    with pytest.raises(ValidationError, match="生效后"):
        uc.open_adoptions(db, w.instructor, main)
    walk(w, main, "in_force")
    summary = case_detail(db, w.admin, main)["coverage_summary"]
    assert summary == {
        "enterprises": 3,
        "workers": 90,
        "adoptions_opened": 0,
        "adoptions_in_force": 0,
        "lagging": 3,
    }
    opened = uc.open_adoptions(db, w.instructor, main)["opened"]
    assert len(opened) == 3
    assert uc.open_adoptions(db, w.instructor, main)["opened"] == []  # idempotent
    coverage = case_detail(db, w.admin, main)["coverage"]
    assert all(row["adoption"] and row["lagging"] for row in coverage)
    adoption = case_detail(db, w.admin, opened[0])
    assert (
        adoption["kind"] == "adoption"
        and adoption["parent_id"] == main
        and adoption["state"] == "preparation"
    )


def test_sector_approved_enterprise_by_enterprise_binds_only_those_accepting(db):
    w = build_world(db, jurisdiction="shanghai")  # each enterprise accepts, then votes; binds only those
    ref = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(date(2025, 11, 1)))["id"]
    uc.add_coverage(db, w.instructor, ref, w.tea_codes, now=at(date(2025, 11, 1)))
    day = walk(w, ref, "awaiting_congress")
    actions = {a["trigger"]: a for a in case_detail(db, w.instructor, ref)["actions"]}
    assert not actions["record_congress_vote"]["allowed"]
    assert "各企业逐一认可" in actions["record_congress_vote"]["reasons"][0]
    with pytest.raises(TransitionRefused, match="尚未表决的企业"):
        fire(w, ref, "conclude_enterprise_approvals", day)
    votes = dict(total=30, present=30, against=0, abstain=0)
    fire(
        w,
        ref,
        "record_enterprise_approval",
        day,
        enterprise=w.tea_codes[0],
        votes_for=30,
        accepted="是",
        **votes,
    )
    fire(
        w,
        ref,
        "record_enterprise_approval",
        day,
        enterprise=w.tea_codes[1],
        votes_for=30,
        accepted="否",
        **votes,
    )
    with pytest.raises(TransitionRefused, match="不在本行业协议的覆盖范围内"):
        fire(
            w,
            ref,
            "record_enterprise_approval",
            day,
            enterprise=w.enterprise_code,
            votes_for=30,
            accepted="是",
            **votes,
        )
    fire(
        w,
        ref,
        "record_enterprise_approval",
        day,
        enterprise=w.tea_codes[2],
        votes_for=20,
        accepted="是",
        total=30,
        present=30,
        against=10,
        abstain=0,
    )
    result = fire(w, ref, "conclude_enterprise_approvals", day + timedelta(days=1))
    assert result["state"] == "awaiting_signature" and result["bound_enterprises"] == 2
    assert case_detail(db, w.admin, ref)["agreement"]["approved_text_hash"]
    with pytest.raises(ValidationError, match="覆盖范围"):
        uc.create_case(db, w.instructor, kind="adoption", enterprise=w.tea_codes[1], parent=str(ref))


def test_sector_congress_where_each_enterprise_is_not_an_option(db):
    w = build_world(db)  # national: the sector congress votes
    ref = uc.create_case(db, w.instructor, kind="sector", sector="tea", now=at(date(2025, 11, 1)))["id"]
    uc.add_coverage(db, w.instructor, ref, w.tea_codes, now=at(date(2025, 11, 1)))
    day = walk(w, ref, "awaiting_congress")
    with pytest.raises(TransitionRefused, match="行业职工代表大会表决"):
        fire(
            w,
            ref,
            "record_enterprise_approval",
            day,
            enterprise=w.tea_codes[0],
            total=30,
            present=30,
            votes_for=30,
            against=0,
            abstain=0,
            accepted="是",
        )
