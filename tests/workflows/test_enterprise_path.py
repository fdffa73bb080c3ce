"""The enterprise wage agreement walked end to end through the use cases, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bargaining.errors import Conflict, Forbidden, TransitionRefused, ValidationError
from bargaining.models import Deadline, Document, Event
from services import cases as uc
from services.deadlines import sweep
from services.queries import case_detail
from services.uow import unit_of_work
from tests.support import TERMS, at, build_world, fire, walk


def _deadlines(db, case_id):
    with unit_of_work(db, write=False) as uow:
        return {d.kind: d for d in uow.session.scalars(select(Deadline).where(Deadline.case_id == case_id))}


def _events(db, case_id):
    with unit_of_work(db, write=False) as uow:
        return list(uow.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)))


def test_full_path_offer_to_in_force_and_renewal(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    assert case["state"] == "preparation" and case["definition"] == "enterprise@1"
    day = walk(w, case["id"], "in_force")
    detail = case_detail(db, w.admin, case["id"], now=at(day))
    assert detail["state"] == "in_force"
    # Every step left its event, in order, with actor and role.
    triggers = [e["trigger"] for e in detail["timeline"]]
    for expected in (
        "create",
        "send_offer",
        "record_response",
        "record_round",
        "submit_draft",
        "record_congress_vote",
        "sign",
        "file_for_review",
        "record_review_opinion",
    ):
        assert expected in triggers
    review = next(e for e in detail["timeline"] if e["trigger"] == "record_review_opinion")
    assert review["role"] == "reviewer" and review["from"] == "under_review" and review["to"] == "in_force"
    # Documents of every stage exist.
    kinds = {d["kind"] for d in detail["documents"]}
    assert {
        "offer_letter",
        "response_letter",
        "minutes",
        "congress_resolution",
        "signed_agreement",
        "filing_form",
        "review_opinion",
    } <= kinds
    dls = _deadlines(db, case["id"])
    # Response (20 days, national) closed by the response; filing closed by filing; review closed by opinion.
    assert dls["response"].closed_at is not None and dls["response"].due == date(2025, 11, 24)
    assert dls["filing"].closed_at is not None and dls["review"].closed_at is not None
    # In force opens expiry at the term's end, disclosure (national: after effect) and the renewal window.
    assert dls["expiry"].due == date(2026, 12, 31) and dls["expiry"].on_expiry == "expire"
    assert dls["renewal"].due == date(2026, 9, 30) and dls["renewal"].on_expiry == "open_renewal"
    assert dls["disclosure"].closed_at is None
    fire(w, case["id"], "disclose", day + timedelta(days=2), method="公示栏张贴")
    assert _deadlines(db, case["id"])["disclosure"].closed_at is not None
    # The renewal window opens by itself: the sweep opens a renewal case pinned to the definition.
    report = sweep(db, at(date(2026, 9, 30), 1))
    assert report.fired == 1
    renewal = uc.case_summary  # keep name used below
    listing = [e for e in _events(db, case["id"]) if e.trigger == "open_renewal"]
    assert len(listing) == 1 and listing[0].actor_name == "系统"
    detail = case_detail(db, w.admin, listing[0].payload["renewal_case"])
    assert detail["round"] == "renewal" and detail["previous_case_id"] == case["id"]
    assert detail["state"] == "preparation"
    # Expiry: the day after term_end the case expires.
    sweep(db, at(date(2026, 12, 31), 23))
    assert case_detail(db, w.admin, case["id"])["state"] == "in_force"
    sweep(db, at(date(2027, 1, 1), 0))
    assert case_detail(db, w.admin, case["id"])["state"] == "expired"
    assert renewal


def test_deemed_approval_after_fifteen_days(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    day = walk(w, case["id"], "under_review")
    review = _deadlines(db, case["id"])["review"]
    assert review.due == day + timedelta(days=15) or review.due > day + timedelta(days=15)
    sweep(db, at(review.due, 23))  # still the last day: nothing happens
    assert case_detail(db, w.admin, case["id"])["state"] == "under_review"
    report = sweep(
        db,
        at(
            review.due + timedelta(days=1),
            0,
        ),
    )
    assert report.fired == 1
    detail = case_detail(db, w.admin, case["id"])
    assert detail["state"] == "in_force"
    deemed = [e for e in detail["timeline"] if e["trigger"] == "deem_approved"]
    assert len(deemed) == 1 and deemed[0]["role"] == "system"
    # Idempotent: a second sweep fires nothing again.
    again = sweep(db, at(review.due + timedelta(days=2)))
    assert again.fired == 0
    assert len([e for e in _events(db, case["id"]) if e.trigger == "deem_approved"]) == 1


def test_overdue_response_escalates_once(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    walk(w, case["id"], "offer_sent")
    due = _deadlines(db, case["id"])["response"].due
    assert sweep(db, at(due + timedelta(days=1), 1)).escalated == 1
    assert sweep(db, at(due + timedelta(days=3), 1)).escalated == 0
    overdue = [e for e in _events(db, case["id"]) if e.trigger == "deadline_overdue"]
    assert len(overdue) == 1 and overdue[0].payload["kind"] == "response"
    # The response still closes the (overdue) deadline.
    fire(w, case["id"], "record_response", due + timedelta(days=4))
    assert _deadlines(db, case["id"])["response"].closed_at is not None


def test_congress_vote_fails_and_returns_to_negotiation(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    day = walk(w, case["id"], "awaiting_congress")
    # 60 reps, 39 present: below the 2/3 quorum (40).
    result = fire(
        w, case["id"], "record_congress_vote", day, total=60, present=39, votes_for=39, against=0, abstain=0
    )
    assert result["state"] == "negotiating"
    assert "三分之二" in result["outcome_reason"]
    detail = case_detail(db, w.admin, case["id"])
    assert detail["congress_votes"][-1]["passed"] is False
    assert detail["agreement"]["approved_text_hash"] is None


def test_exactly_half_passes_nationally_but_not_where_more_than_half_is_required(db):
    w = build_world(db)
    national = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    day = walk(w, national["id"], "awaiting_congress")
    assert (
        fire(
            w,
            national["id"],
            "record_congress_vote",
            day,
            total=60,
            present=60,
            votes_for=30,
            against=30,
            abstain=0,
        )["state"]
        == "awaiting_signature"
    )
    shandong = uc.create_case(
        db,
        w.admin,
        kind="enterprise",
        enterprise=w.tea_codes[0],
        jurisdiction="shandong",
        now=at(date(2025, 11, 1)),
    )
    day = walk(w, shandong["id"], "awaiting_congress")
    assert (
        fire(
            w,
            shandong["id"],
            "record_congress_vote",
            day,
            total=60,
            present=60,
            votes_for=30,
            against=30,
            abstain=0,
        )["state"]
        == "negotiating"
    )


def test_text_changed_after_vote_sends_case_back_and_refuses_signing(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    day = walk(w, case["id"], "awaiting_signature")
    changed = uc.set_agreement_terms(db, w.instructor, case["id"], {"avg_wage_after": "5400"}, now=at(day))
    assert changed["state"] == "awaiting_congress"
    with pytest.raises(TransitionRefused):
        fire(w, case["id"], "sign", day)
    events = [e.trigger for e in _events(db, case["id"])]
    assert events[-2:] == ["update_agreement", "reopen_congress"]


def test_refused_paths_name_their_reasons(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    ref = case["id"]
    # No representatives yet: the offer is refused and says why.
    with pytest.raises(TransitionRefused) as refused:
        fire(w, ref, "send_offer", date(2025, 11, 3), from_side="worker", subjects="工资")
    assert "首席代表" in refused.value.message and "至少需要3人" in refused.value.message
    # Not an action of this state.
    with pytest.raises(TransitionRefused, match="当前阶段"):
        fire(w, ref, "sign", date(2025, 11, 3))
    # Unknown action and unknown field.
    with pytest.raises(ValidationError, match="未知的操作"):
        fire(w, ref, "jump", date(2025, 11, 3))
    walk(w, ref, "offer_sent")
    with pytest.raises(ValidationError, match="不认识的字段"):
        fire(w, ref, "record_response", date(2025, 11, 5), colour="red")
    # A reviewer may not record the response; an instructor of another street cannot even see the case.
    with pytest.raises(Forbidden, match="无权"):
        fire(w, ref, "record_response", date(2025, 11, 5), w.reviewer)
    from bargaining.errors import NotFound

    with pytest.raises(NotFound):
        fire(w, ref, "record_response", date(2025, 11, 5), w.other_instructor)
    # A response dated in the future is refused.
    with pytest.raises(TransitionRefused, match="不能晚于今天"):
        fire(w, ref, "record_response", date(2025, 11, 5), responded_on="2025-12-01")
    # Suspension needs a reason.
    fire(w, ref, "record_response", date(2025, 11, 6))
    with pytest.raises(TransitionRefused, match="原因"):
        fire(w, ref, "suspend", date(2025, 11, 7))
    # Draft without rounds or terms.
    with pytest.raises(TransitionRefused) as no_draft:
        fire(w, ref, "submit_draft", date(2025, 11, 7))
    assert "协商会议" in no_draft.value.message and "协议文本" in no_draft.value.message
    # Nothing refused left a trace: the only events are the successful ones.
    triggers = [e.trigger for e in _events(db, ref)]
    assert triggers.count("record_response") == 1 and "suspend" not in triggers


def test_stale_version_is_a_conflict(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    walk(w, case["id"], "offer_sent")
    seen = case_detail(db, w.instructor, case["id"])["version"]
    uc.fire_action(
        db,
        w.instructor,
        case["id"],
        "record_response",
        values={},
        expected_version=seen,
        now=at(date(2025, 11, 6)),
    )
    with pytest.raises(Conflict, match="已被他人修改"):
        uc.fire_action(
            db,
            w.instructor,
            case["id"],
            "record_round",
            expected_version=seen,
            now=at(date(2025, 11, 7)),
            values={"chair_side": "worker", "minutes": "x"},
        )


def test_suspension_pauses_the_negotiation_cap(db):
    w = build_world(db, jurisdiction="shandong")  # Shandong: 60 days from the response
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 3, 1))
    )
    day = walk(w, case["id"], "negotiating", start=date(2025, 3, 3))
    cap = _deadlines(db, case["id"])["negotiation_cap"]
    assert cap.start_date == day and cap.due == day + timedelta(days=60)
    fire(w, case["id"], "suspend", day + timedelta(days=10), reason="分歧较大")
    assert _deadlines(db, case["id"])["negotiation_cap"].paused_at is not None
    # While suspended the sweep leaves it alone even past its due date.
    assert sweep(db, at(cap.due + timedelta(days=5))).escalated == 0
    fire(w, case["id"], "resume", day + timedelta(days=40))
    resumed = _deadlines(db, case["id"])["negotiation_cap"]
    assert resumed.paused_at is None
    assert resumed.start_date == day + timedelta(days=30)  # moved by the 30 days it stood still
    assert resumed.due >= cap.due + timedelta(days=30)


def test_terms_validation_errors(db):
    w = build_world(db)
    case = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.enterprise_code, now=at(date(2025, 11, 1))
    )
    with pytest.raises(ValidationError, match="晚于起日"):
        uc.set_agreement_terms(db, w.instructor, case["id"], {**TERMS, "term_end": "2025-12-31"})
    with pytest.raises(ValidationError, match="应为数字"):
        uc.set_agreement_terms(db, w.instructor, case["id"], {"avg_wage_after": "很多"})
    with pytest.raises(ValidationError, match="不认识的条款字段"):
        uc.set_agreement_terms(db, w.instructor, case["id"], {"bonus": "1"})
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(Document.id)) is None
