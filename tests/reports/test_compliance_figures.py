"""The compliance-check figures (履约检查) against hand-computed values on audit cases walked
through the audit module's own use cases (tests/audits/support.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.audits import cases as ac
from services.audits.evidence import store_evidence
from services.reports.annual import annual_report, cases_behind
from tests.audits.support import (
    TODAY,
    all_compliant_answers,
    build_audit_world,
    case_with_inspectors,
    started_campaign,
)
from tests.support import at

DAY = TODAY + timedelta(days=8)  # 2026-03-10, inside the campaign's field work
PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"


def _inspect(w, number, inspector, answers):
    ac.fire_action(w.db, inspector, number, "notify", values={"method": "written"}, now=at(DAY))
    ac.save_answers(w.db, inspector, number, answers, now=at(DAY + timedelta(days=1)))
    ac.fire_action(w.db, inspector, number, "record_inspection", now=at(DAY + timedelta(days=1)))


def _finding(w, number, inspector, item, rows, description):
    answers = all_compliant_answers(w, number)
    answers[item] = ("noncompliant", description)
    _inspect(w, number, inspector, answers)
    finding = ac.add_finding(w.db, inspector, number, item_code=item, severity=None, description=description,
                             rows=rows, now=at(DAY + timedelta(days=1)))  # fmt: skip
    ac.fire_action(w.db, inspector, number, "confirm_findings", now=at(DAY + timedelta(days=2)))
    item_id = ac.add_rectification(w.db, inspector, number, finding_id=finding["finding_id"], action="补发",
                                   owner="财务负责人", due=DAY + timedelta(days=30), required_evidence="转账记录",
                                   now=at(DAY + timedelta(days=2)))["rectification_id"]  # fmt: skip
    ac.fire_action(w.db, inspector, number, "order_rectification", now=at(DAY + timedelta(days=2)))
    return item_id


def test_compliance_figures(db):
    w = build_audit_world(db)
    started_campaign(w)  # four enterprises drawn
    numbers = []
    # 0: every item complies; closed.
    number, (first, _second), _ = case_with_inspectors(w, 0)
    _inspect(w, number, first, all_compliant_answers(w, number))
    ac.fire_action(w.db, first, number, "close_compliant", now=at(DAY + timedelta(days=2)))
    numbers.append(number)
    # 1: wage arrears, 2 workers × 1 month × (5000 − 4000) = 2000.00; rectification still running.
    number, (first, _second), _ = case_with_inspectors(w, 1)
    _finding(
        w,
        number,
        first,
        "no_arrears",
        [{"workers": 2, "months": 1, "due": "5000", "paid": "4000"}],
        "拖欠工资",
    )
    numbers.append(number)
    # 2: below the minimum wage, 3 × (2660 − 2400) = 780.00; rectified and re-checked.
    number, (first, second), _ = case_with_inspectors(w, 2)
    item = _finding(w, number, first, "minimum_wage",
                    [{"on": "2026-01-31", "workers": 3, "basis": "monthly", "quantity": "1", "paid": "2400"}],
                    "低于最低工资")  # fmt: skip
    store_evidence(w.db, first, number, filename="流水.pdf", content=PDF, rectification_id=item,
                   now=at(DAY + timedelta(days=5)))  # fmt: skip
    ac.submit_rectification(
        w.db, first, number, rectification_id=item, note="已补发", now=at(DAY + timedelta(days=5))
    )
    ac.verify_rectification(w.db, second, number, rectification_id=item, passed=True, note="核对无误",
                            now=at(DAY + timedelta(days=6)))  # fmt: skip
    ac.fire_action(w.db, first, number, "recheck", now=at(DAY + timedelta(days=6)))
    numbers.append(number)
    # 3: notified, not inspected yet: not counted.
    number, (first, _second), _ = case_with_inspectors(w, 3)
    ac.fire_action(w.db, first, number, "notify", values={"method": "written"}, now=at(DAY))

    report = annual_report(db, w.admin, "wx", 2026)
    v = {f.key: f.value for f in report.figures}
    assert v["audit_inspected"] == 3
    assert v["audit_compliant_rate"] == Decimal("33.3")  # 1 / 3
    assert v["audit_arrears"] == 1
    assert v["audit_amount_owed"] == Decimal("2780.00")
    assert v["audit_rectified_rate"] == Decimal("50.0")  # 1 of the 2 with findings re-checked
    assert report.figure("audit_rectified_rate").denominator == 2
    assert {f.group for f in report.figures if f.key.startswith("audit_")} == {"履约检查"}
    empty = {f.key: f.value for f in annual_report(db, w.admin, "wx", 2025).figures}
    assert empty["audit_inspected"] == 0 and empty["audit_amount_owed"] == Decimal("0.00")
    assert empty["audit_compliant_rate"] is None

    def behind(key, part="all"):
        page = cases_behind(db, w.admin, "wx", 2026, key, part=part)
        return [row.number for row in page.items], page

    assert behind("audit_inspected")[0] == numbers
    assert behind("audit_arrears")[0] == [numbers[1]]
    assert behind("audit_rectified_rate", "missing")[0] == [numbers[1]]
    _, page = behind("audit_amount_owed")
    assert [r.value for r in page.items] == [Decimal("0.00"), Decimal("2000.00"), Decimal("780.00")]
    assert all(r.kind == "audit" and r.inspected_on == DAY + timedelta(days=1) for r in page.items)
