"""The audit case workflow: compliant path, findings and rectification, the supervision ladder
(opinion → written answer or suggestion), guards with reasons, optimistic locking."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bargaining.db import Database
from bargaining.errors import Conflict, Forbidden, NotFound, TransitionRefused, ValidationError
from bargaining.models.audit import AuditCase, AuditDeadline, AuditDocument, AuditEvent, Rectification
from bargaining.rules.periods import Period, due_date
from services import runtime
from services.audits import cases as ac
from services.audits.documents import document_for, render_document_pdf
from services.audits.evidence import store_evidence
from services.audits.queries import audit_case_detail
from services.audits.sweep import sweep_audits
from services.uow import unit_of_work
from tests.audits.support import (
    TODAY,
    AuditWorld,
    all_compliant_answers,
    build_audit_world,
    case_with_inspectors,
    started_campaign,
)
from tests.support import at

DAY = TODAY + timedelta(days=8)  # 2026-03-10, inside field work
PDF = b"%PDF-1.4\n% test evidence\n%%EOF\n"


def _inspect(
    w: AuditWorld, number: str, inspector: object, answers: dict[str, tuple[str, str | None]]
) -> None:
    ac.fire_action(w.db, inspector, number, "notify", values={"method": "written"}, now=at(DAY))  # type: ignore[arg-type]
    ac.save_answers(w.db, inspector, number, answers, now=at(DAY + timedelta(days=1)))  # type: ignore[arg-type]
    ac.fire_action(w.db, inspector, number, "record_inspection", now=at(DAY + timedelta(days=1)))  # type: ignore[arg-type]


def _case(db: Database, number: str) -> AuditCase:
    with unit_of_work(db, write=False) as uow:
        case = uow.session.scalar(select(AuditCase).where(AuditCase.number == number))
        assert case is not None
        return case


def _triggers(db: Database, number: str) -> list[str]:
    with unit_of_work(db, write=False) as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent.trigger)
                .join(AuditCase, AuditCase.id == AuditEvent.audit_case_id)
                .where(AuditCase.number == number)
                .order_by(AuditEvent.id)
            )
        )


def _to_rectification(w: AuditWorld, number: str, inspector: object, due: date) -> int:
    answers = all_compliant_answers(w, number)
    answers["minimum_wage"] = ("noncompliant", "3名职工2026年1月工资2400元，低于一类最低工资2660元")
    _inspect(w, number, inspector, answers)
    finding = ac.add_finding(
        w.db,
        inspector,  # type: ignore[arg-type]
        number,
        item_code="minimum_wage",
        severity=None,
        description="3名职工1月工资低于最低工资标准",
        rows=[{"on": "2026-01-31", "workers": 3, "basis": "monthly", "quantity": "1", "paid": "2400"}],
        now=at(DAY + timedelta(days=1)),
    )
    assert finding["finding_amount"] == "780.00"
    ac.fire_action(w.db, inspector, number, "confirm_findings", now=at(DAY + timedelta(days=2)))  # type: ignore[arg-type]
    item = ac.add_rectification(
        w.db,
        inspector,  # type: ignore[arg-type]
        number,
        finding_id=finding["finding_id"],
        action="补发3名职工1月最低工资差额",
        owner="人事经理王某",
        due=due,
        required_evidence="补发工资的银行转账记录",
        now=at(DAY + timedelta(days=2)),
    )
    ac.fire_action(w.db, inspector, number, "order_rectification", now=at(DAY + timedelta(days=2)))  # type: ignore[arg-type]
    return int(item["rectification_id"])


def test_compliant_path_closes_after_inspection(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, second), _ = case_with_inspectors(w)
    ac.fire_action(w.db, first, number, "notify", values={"method": "onsite"}, now=at(DAY))
    with pytest.raises(TransitionRefused, match="检查表尚未填写完毕"):
        ac.fire_action(w.db, first, number, "record_inspection", now=at(DAY))
    ac.save_answers(w.db, second, number, all_compliant_answers(w, number), now=at(DAY))
    ac.fire_action(w.db, first, number, "record_inspection", now=at(DAY))
    case = _case(db, number)
    assert case.compliant is True and case.score == Decimal("100.0")
    with pytest.raises(TransitionRefused, match="可直接结案"):
        ac.fire_action(w.db, first, number, "confirm_findings", now=at(DAY))
    ac.fire_action(w.db, first, number, "close_compliant", now=at(DAY))
    assert _case(db, number).state == "closed"
    assert _triggers(db, number) == [
        "create",
        "notify",
        "answer_checklist",
        "record_inspection",
        "close_compliant",
    ]
    with unit_of_work(db, write=False) as uow:
        kinds = set(uow.session.scalars(select(AuditDocument.kind)))
    assert kinds == {"inspection_notice", "inspection_record", "inspection_conclusion"}
    # A year later the agreement is old enough for the congress-report item, but the checklist is
    # read as of the inspection: still complete, the item still N/A.
    later = audit_case_detail(db, w.lead, number, now=at(DAY + timedelta(days=365)))
    assert later["checklist"]["complete"]
    congress = next(i for i in later["checklist"]["items"] if i["code"] == "congress_report")
    assert congress["derived_na"] and later["score"] == "100.0"


def test_only_the_drawn_inspectors_record_the_inspection(db: Database) -> None:
    w = build_audit_world(db, auditors=4)
    started_campaign(w, sample_size=2)
    number, inspectors, _ = case_with_inspectors(w)
    stranger = w.lead  # a city auditor: sees the case, but was not drawn for it
    with pytest.raises(Forbidden, match="检查组成员"):
        ac.save_answers(w.db, stranger, number, all_compliant_answers(w, number), now=at(DAY))
    ac.fire_action(w.db, inspectors[0], number, "notify", values={"method": "written"}, now=at(DAY))
    ac.save_answers(w.db, inspectors[0], number, all_compliant_answers(w, number), now=at(DAY))
    with pytest.raises(TransitionRefused, match="只有抽中的检查组成员"):
        ac.fire_action(w.db, stranger, number, "record_inspection", now=at(DAY))
    ac.fire_action(w.db, w.admin, number, "record_inspection", now=at(DAY))  # the admin may


def test_a_tie_declared_after_the_draw_still_makes_the_inspector_stand_aside(db: Database) -> None:
    from services.audits.campaigns import declare_link

    w = build_audit_world(db)
    started_campaign(w)
    number, (first, second), code = case_with_inspectors(w)
    names = {"督查员0": "aud0", "督查员1": "aud1", "督查员2": "aud2", "督查员3": "aud3"}
    declare_link(w.db, w.lead, username=names[first.name], enterprise=code, relation="配偶在该企业任财务")
    ac.fire_action(w.db, second, number, "notify", values={"method": "written"}, now=at(DAY))
    with pytest.raises(Forbidden, match="须回避"):
        ac.save_answers(w.db, first, number, all_compliant_answers(w, number), now=at(DAY))
    ac.save_answers(w.db, second, number, all_compliant_answers(w, number), now=at(DAY))
    with pytest.raises(TransitionRefused, match="配偶在该企业任财务"):
        ac.fire_action(w.db, first, number, "record_inspection", now=at(DAY))
    # One of the two stood aside: the other may not inspect alone.
    with pytest.raises(TransitionRefused, match="检查组（回避后）只有1人"):
        ac.fire_action(w.db, second, number, "record_inspection", now=at(DAY))


def test_findings_rectification_recheck_and_close(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, second), _ = case_with_inspectors(w)
    answers = all_compliant_answers(w, number)
    answers["minimum_wage"] = ("noncompliant", "低于最低工资")
    answers["pay_day"] = ("noncompliant", "推迟10天发放")
    _inspect(w, number, first, answers)
    with pytest.raises(TransitionRefused, match="有不符合项"):
        ac.fire_action(w.db, first, number, "close_compliant", now=at(DAY + timedelta(days=1)))
    with pytest.raises(ValidationError, match="不是“不符合”"):
        ac.add_finding(
            w.db, first, number, item_code="no_arrears", severity=None, description="x", now=at(DAY)
        )
    wage = ac.add_finding(
        w.db,
        first,
        number,
        item_code="minimum_wage",
        severity="high",
        description="5名职工2月工资2500元",
        rows=[{"on": "2026-02-28", "workers": 5, "basis": "monthly", "quantity": "1", "paid": "2500"}],
        now=at(DAY + timedelta(days=1)),
    )
    with pytest.raises(TransitionRefused, match="尚未登记检查发现：在约定的工资支付日足额支付工资"):
        ac.fire_action(w.db, first, number, "confirm_findings", now=at(DAY + timedelta(days=1)))
    late = ac.add_finding(
        w.db,
        first,
        number,
        item_code="pay_day",
        severity="medium",
        description="2月工资推迟10天",
        now=at(DAY + timedelta(days=1)),
    )
    assert _case(db, number).amount_owed == Decimal("800.00")  # (2660 − 2500) × 5
    ac.fire_action(w.db, first, number, "confirm_findings", now=at(DAY + timedelta(days=2)))
    items = []
    for finding_id in (wage["finding_id"], late["finding_id"]):
        with pytest.raises(TransitionRefused, match="没有整改事项"):
            ac.fire_action(w.db, first, number, "order_rectification", now=at(DAY + timedelta(days=2)))
        items.append(
            ac.add_rectification(
                w.db,
                first,
                number,
                finding_id=finding_id,
                action="整改",
                owner="财务负责人",
                due=DAY + timedelta(days=30),
                required_evidence="工资发放记录",
                now=at(DAY + timedelta(days=2)),
            )["rectification_id"]
        )
    ac.fire_action(w.db, first, number, "order_rectification", now=at(DAY + timedelta(days=2)))
    with unit_of_work(db, write=False) as uow:
        open_deadlines = list(
            uow.session.scalars(select(AuditDeadline).where(AuditDeadline.closed_at.is_(None)))
        )
        assert sorted(d.due for d in open_deadlines) == [DAY + timedelta(days=30)] * 2

    with pytest.raises(ValidationError, match="请先上传整改证据"):
        ac.submit_rectification(
            w.db, first, number, rectification_id=items[0], note="已补发", now=at(DAY + timedelta(days=5))
        )
    for item_id in items:
        store_evidence(
            w.db,
            first,
            number,
            filename="补发流水.pdf",
            content=PDF,
            rectification_id=item_id,
            now=at(DAY + timedelta(days=5)),
        )
        ac.submit_rectification(
            w.db, first, number, rectification_id=item_id, note="已整改", now=at(DAY + timedelta(days=5))
        )
    ac.verify_rectification(
        w.db,
        second,
        number,
        rectification_id=items[0],
        passed=True,
        note="流水核对无误",
        now=at(DAY + timedelta(days=6)),
    )
    ac.verify_rectification(
        w.db,
        second,
        number,
        rectification_id=items[1],
        passed=False,
        note="缺3月发放记录",
        now=at(DAY + timedelta(days=6)),
    )
    with pytest.raises(TransitionRefused, match="还有1项整改尚未复查合格"):
        ac.fire_action(w.db, first, number, "recheck", now=at(DAY + timedelta(days=6)))
    ac.submit_rectification(
        w.db, first, number, rectification_id=items[1], note="补交3月记录", now=at(DAY + timedelta(days=7))
    )
    ac.verify_rectification(
        w.db,
        second,
        number,
        rectification_id=items[1],
        passed=True,
        note="已核对",
        now=at(DAY + timedelta(days=8)),
    )
    ac.record_recovery(
        w.db, first, number, finding_id=wage["finding_id"], amount="800", now=at(DAY + timedelta(days=8))
    )
    with pytest.raises(ValidationError, match="超过应补发金额"):
        ac.record_recovery(
            w.db, first, number, finding_id=wage["finding_id"], amount="801", now=at(DAY + timedelta(days=8))
        )
    ac.fire_action(w.db, first, number, "recheck", now=at(DAY + timedelta(days=8)))
    ac.fire_action(w.db, first, number, "close", now=at(DAY + timedelta(days=9)))
    case = _case(db, number)
    assert case.state == "closed" and case.amount_recovered == Decimal("800.00")
    with unit_of_work(db, write=False) as uow:
        assert not list(
            uow.session.scalars(
                select(AuditDeadline).where(
                    AuditDeadline.closed_at.is_(None), AuditDeadline.fired_at.is_(None)
                )
            )
        )
    # Nothing fires later: every clock was closed by the re-check.
    assert sweep_audits(db, at(DAY + timedelta(days=90))).opinions == 0


def test_overdue_item_escalates_opinion_then_answer(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, _second), _ = case_with_inspectors(w)
    due = DAY + timedelta(days=14)
    item_id = _to_rectification(w, number, first, due)
    assert sweep_audits(db, at(due, 23)).opinions == 0  # the last day runs until 24:00
    report = sweep_audits(db, at(due + timedelta(days=1), 0))
    assert report.opinions == 1
    assert sweep_audits(db, at(due + timedelta(days=1), 1)).opinions == 0  # once only
    with unit_of_work(db) as uow:
        s = uow.session
        item = s.get(Rectification, item_id)
        assert item is not None and item.escalation == "opinion_issued"
        answer = s.scalar(select(AuditDeadline).where(AuditDeadline.kind == "employer_answer"))
        assert answer is not None
        served = due + timedelta(days=1)
        assert answer.due == due_date(served, Period(15, "working_days"), runtime.calendar(s)).due
        doc = s.scalar(select(AuditDocument).where(AuditDocument.kind == "supervision_opinion"))
        assert doc is not None and doc.data["answer_due"] == answer.due.isoformat()
        assert "第二十一条" in doc.data["basis"]
    ac.record_employer_answer(
        w.db,
        first,
        number,
        rectification_id=item_id,
        answered_on=due + timedelta(days=5),
        summary="承认少发，承诺月底补发",
        now=at(due + timedelta(days=5)),
    )
    assert sweep_audits(db, at(due + timedelta(days=60))).suggestions == 0  # answered in time: no 建议书
    assert _case(db, number).state == "rectification"
    assert "record_employer_answer" in _triggers(db, number)


def test_no_answer_sends_the_suggestion_and_escalates(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, second), _ = case_with_inspectors(w)
    due = DAY + timedelta(days=14)
    item_id = _to_rectification(w, number, first, due)
    sweep_audits(db, at(due + timedelta(days=1), 1))
    report = sweep_audits(db, at(due + timedelta(days=40)))
    assert report.suggestions == 1
    case = _case(db, number)
    assert case.state == "escalated"
    triggers = _triggers(db, number)
    assert triggers[-3:] == ["supervision_opinion_issued", "supervision_suggestion_sent", "escalate"]
    with unit_of_work(db, write=False) as uow:
        documents = list(uow.session.scalars(select(AuditDocument).order_by(AuditDocument.id)))
        assert [d.kind for d in documents][-2:] == ["supervision_opinion", "supervision_suggestion"]
    opinion, suggestion = (document_for(db, first, d.id) for d in documents[-2:])
    assert opinion["d"]["answer_due"] and opinion["org"] == "无锡市总工会"
    if shutil.which("pdftotext"):
        for context, phrases in (
            (opinion, ("工会劳动法律监督意见书", "15个工作日", opinion["d"]["answer_due"], "780.00")),
            (suggestion, ("工会劳动法律监督建议书", "人力资源和社会保障部门", "建议依法调查处理")),
        ):
            pdf = render_document_pdf(context)
            text = subprocess.run(
                ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
            ).stdout.decode()
            flat = "".join(text.split())
            for phrase in phrases:
                assert phrase in flat, phrase
    with pytest.raises(NotFound):
        document_for(db, w.outsider, documents[-1].id)
    with unit_of_work(db, write=False) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "escalate"))
        assert event is not None and event.role == "system" and event.actor_id is None
    # Rectified after all: evidence, re-check, close from escalated.
    store_evidence(
        w.db,
        first,
        number,
        filename="流水.pdf",
        content=PDF,
        rectification_id=item_id,
        now=at(due + timedelta(days=41)),
    )
    ac.submit_rectification(
        w.db, first, number, rectification_id=item_id, note="已补发", now=at(due + timedelta(days=41))
    )
    ac.verify_rectification(
        w.db,
        second,
        number,
        rectification_id=item_id,
        passed=True,
        note="核实",
        now=at(due + timedelta(days=42)),
    )
    ac.fire_action(w.db, first, number, "recheck", now=at(due + timedelta(days=42)))
    ac.fire_action(w.db, first, number, "close", now=at(due + timedelta(days=42)))
    assert _case(db, number).state == "closed"


def test_submitted_before_due_is_not_escalated(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, _), _ = case_with_inspectors(w)
    due = DAY + timedelta(days=14)
    item_id = _to_rectification(w, number, first, due)
    store_evidence(
        w.db, first, number, filename="流水.pdf", content=PDF, rectification_id=item_id, now=at(due)
    )
    ac.submit_rectification(w.db, first, number, rectification_id=item_id, note="已补发", now=at(due))
    report = sweep_audits(db, at(due + timedelta(days=2)))
    assert (report.opinions, report.pending_recheck) == (0, 1)


def test_stale_version_and_wrong_stage(db: Database) -> None:
    w = build_audit_world(db)
    started_campaign(w)
    number, (first, _), _ = case_with_inspectors(w)
    seen = _case(db, number).version
    ac.fire_action(
        w.db, first, number, "notify", values={"method": "written"}, expected_version=seen, now=at(DAY)
    )
    with pytest.raises(Conflict, match="已被他人修改"):
        ac.save_answers(
            w.db, first, number, all_compliant_answers(w, number), expected_version=seen, now=at(DAY)
        )
    with pytest.raises(TransitionRefused, match="当前阶段为“已通知企业”"):
        ac.fire_action(w.db, first, number, "close", now=at(DAY))
    with pytest.raises(ValidationError, match="不能登记检查发现"):
        ac.add_finding(w.db, first, number, item_code="pay_day", severity=None, description="x", now=at(DAY))
    with pytest.raises(TransitionRefused, match="不能晚于今天"):
        ac.fire_action(
            w.db, first, number, "record_inspection", values={"inspected_on": "2026-12-01"}, now=at(DAY)
        )
    with pytest.raises(ValidationError, match="抽样替换程序"):
        ac.fire_action(w.db, first, number, "withdraw", reason="x", now=at(DAY))
