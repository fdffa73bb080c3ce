"""Checklist scoring, N/A rules and amounts owed (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.compliance import (
    WAGE_AGREEMENT_CHECKLIST_V1 as T,
)
from bargaining.rules.compliance import (
    CaseFacts,
    amount_owed,
    check_answer,
    compliance_rate,
    hourly_from_monthly,
    score,
    template_from_dict,
)

FACTS = CaseFacts(has_piece_rate=True, months_in_force=14)


def test_every_item_cites_law_and_clause() -> None:
    assert sum(i.weight for i in T.items) == 100
    codes = {i.code for i in T.items}
    assert {
        "wages_as_agreed",
        "minimum_wage",
        "no_arrears",
        "no_unlawful_deductions",
        "overtime_pay",
        "social_insurance",
        "pay_day",
        "piece_rates",
        "congress_report",
    } == codes
    for item in T.items:
        assert "《" in item.legal_basis and item.clause
    assert template_from_dict(T.as_dict()).sha256() == T.sha256()


def test_score_weights_and_na() -> None:
    answers = {i.code: "compliant" for i in T.items}
    full = score(T, answers, FACTS)
    assert full.score == Decimal("100.0") and full.compliant is True

    answers["minimum_wage"] = "noncompliant"
    answers["overtime_pay"] = "na"
    result = score(T, answers, FACTS)
    # applicable 100 − 10 (overtime N/A) = 90; earned 90 − 20 = 70 → 77.8
    assert (result.applicable, result.earned, result.score) == (90, 70, Decimal("77.8"))
    assert result.compliant is False
    assert result.critical_failed == ("minimum_wage",)


def test_derived_na_counts_as_answered_and_cannot_be_overridden() -> None:
    facts = CaseFacts(has_piece_rate=False, months_in_force=5)
    answers = {i.code: "compliant" for i in T.items if i.code not in ("piece_rates", "congress_report")}
    result = score(T, answers, facts)
    assert result.complete and set(result.na) == {"piece_rates", "congress_report"}
    assert result.applicable == 90
    problem = check_answer(T.item("piece_rates"), "compliant", facts, None)
    assert problem and "不适用" in problem


def test_na_only_under_its_rule_and_with_a_note_when_declared() -> None:
    assert "必须检查" in (check_answer(T.item("minimum_wage"), "na", FACTS, "x") or "")
    assert "写明依据" in (check_answer(T.item("overtime_pay"), "na", FACTS, "") or "")
    assert check_answer(T.item("overtime_pay"), "na", FACTS, "3月无加班，考勤表为证") is None
    assert "只有在" in (check_answer(T.item("piece_rates"), "na", FACTS, "x") or "")
    assert "检查发现" in (check_answer(T.item("pay_day"), "noncompliant", FACTS, "") or "")
    assert "结论应为" in (check_answer(T.item("pay_day"), "maybe", FACTS, "") or "")


def test_incomplete_checklist_has_no_verdict() -> None:
    result = score(T, {"minimum_wage": "compliant"}, FACTS)
    assert not result.complete and result.compliant is None and "pay_day" in result.unanswered


def test_minimum_wage_shortfall_uses_tier_on_the_date() -> None:
    rows = [
        {
            "label": "2025年12月",
            "on": "2025-12-31",
            "workers": 3,
            "basis": "monthly",
            "quantity": "1",
            "paid": "2200",
        },
        {
            "label": "2026年1月",
            "on": "2026-01-31",
            "workers": 3,
            "basis": "monthly",
            "quantity": "1",
            "paid": "2200",
        },
        {
            "label": "非全日制",
            "on": "2026-02-10",
            "workers": 2,
            "basis": "hourly",
            "quantity": "40",
            "paid": "20",
        },
    ]
    result = amount_owed("minimum_wage", rows, province="jiangsu", tier=1)
    owed = [line.owed for line in result.lines]
    # 2025: 2280 − 2200 = 80 × 3; 2026: 2660 − 2200 = 460 × 3; hourly 25 − 20 = 5 × 40 h × 2
    assert owed == [Decimal("240.00"), Decimal("1380.00"), Decimal("400.00")]
    assert result.total == Decimal("2020.00")
    assert "苏人社规〔2025〕3号" in result.lines[1].basis


def test_overtime_deduction_and_piece_rate_amounts() -> None:
    ot = amount_owed(
        "overtime",
        [{"workers": 10, "hours": "12", "base_hourly": "15.29", "day": "rest_day", "paid_hourly": "22.94"}],
    )
    # due 15.29 × 2 = 30.58; shortfall 7.64 × 12 h × 10
    assert ot.total == Decimal("916.80")
    deduction = amount_owed(
        "deduction",
        [{"on": "2026-02-01", "workers": 1, "months": "1", "monthly_pay": "3000", "deducted": "700"}],
        province="jiangsu",
        tier=1,
    )
    # cap = min(3000 × 20% = 600, 3000 − 2660 = 340) = 340 → 360 too much
    assert deduction.total == Decimal("360.00")
    piece = amount_owed(
        "piece_rate",
        [{"workers": 4, "units": "120.5", "unit": "斤", "agreed_rate": "15.00", "paid_rate": "13.50"}],
    )
    assert piece.total == Decimal("723.00") and piece.lines[0].unit == "斤"
    paid_more = amount_owed("arrears", [{"workers": 2, "months": "1", "due": "3000", "paid": "3100"}])
    assert paid_more.total == Decimal("0.00")


def test_amount_input_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="人数"):
        amount_owed("arrears", [{"workers": 0, "months": "1", "due": "1", "paid": "0"}])
    with pytest.raises(ValidationError, match="实发工资"):
        amount_owed("arrears", [{"workers": 1, "months": "1", "due": "1", "paid": "abc"}])
    with pytest.raises(ValidationError, match="工资数据"):
        amount_owed("arrears", [])
    with pytest.raises(ValidationError, match="不涉及金额"):
        amount_owed("none", [{"workers": 1}])
    with pytest.raises(ValidationError, match="地区"):
        amount_owed("minimum_wage", [{"on": "2026-01-01", "workers": 1, "quantity": "1", "paid": "1"}])


def test_rates_and_conversions() -> None:
    assert compliance_rate(7, 9) == Decimal("77.8")
    assert compliance_rate(0, 0) is None
    assert hourly_from_monthly(Decimal("2660")) == Decimal("15.29")


def test_template_validation() -> None:
    data = T.as_dict()
    data["items"][0]["legal_basis"] = ""
    with pytest.raises(ValidationError, match="法律依据"):
        template_from_dict(data)
    data = T.as_dict()
    data["items"][1]["code"] = data["items"][0]["code"]
    with pytest.raises(ValidationError, match="重复"):
        template_from_dict(data)
    data = T.as_dict()
    data["items"][0]["na_rule"] = "whenever"
    with pytest.raises(ValidationError, match="不适用规则"):
        template_from_dict(data)
