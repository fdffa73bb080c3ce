"""Every annual-report figure against values computed by hand from tests/reports/dataset.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bargaining.errors import NotFound, ValidationError
from services.reports.annual import FIGURES, annual_report, cases_behind

from .dataset import build

D = Decimal

# Region "city" (the whole tree), 2025. See the table in dataset.py for where each number comes from.
CITY_2025 = {
    "signed_enterprise": 5,  # E1 E2 E3 R5 O1 (E4 not signed; E5 E6 signed in 2024)
    "signed_new": 4,
    "signed_renewal": 1,  # R5
    "renewal_due": 2,  # E5 (term ends 2025-11-30), E6 (2025-12-31)
    "renewal_opened": 1,  # E5
    "renewal_rate": D("50.0"),
    "covered_enterprises": 8,  # E1 E2 E3 E5 O1 + T0 T1 T2 (T0 by S1 and A0, counted once)
    "covered_workers": 1160,  # 120 + 200 + 300 + 400 + 50 + 3 × 30
    "avg_wage_before": D("5000.00"),  # (5000 + 5000 + 4000 + 6000) / 4
    "avg_wage_after": D("5490.00"),  # (5450 + 5400 + 4400 + 6480 + 5720) / 5
    "wage_growth": D("8.65"),  # 21730 / 20000 − 1 (O1 has no wage before)
    "avg_increase_pct": D("8.75"),  # (9 + 8 + 10 + 8) / 4
    "offer_rate": D("100.0"),  # 6 / 6: E1 E2 E3 R5 O1 S1 (adoptions have no offer)
    "response_rate": D("100.0"),
    "congress_rate": D("100.0"),  # 7 / 7 with A0
    "disclosure_rate": D("28.6"),  # E1 R5: 2 / 7
    "filing_rate": D("71.4"),  # E1 E2 R5 O1 S1: 5 / 7
    "review_opinion_rate": D("57.1"),  # E1 R5 O1 S1: 4 / 7 (E2 deemed approved)
    "sector_signed": 1,
    "sector_enterprises": 3,
    "sector_workers": 90,
    "adoption_signed": 1,
    # No compliance checks in this dataset (see test_compliance_figures.py): zeros and "—".
    "audit_inspected": 0,
    "audit_compliant_rate": None,
    "audit_arrears": 0,
    "audit_amount_owed": D("0.00"),
    "audit_rectified_rate": None,
}
STREET_2025 = {
    **CITY_2025,
    "signed_enterprise": 4,
    "signed_new": 3,
    "covered_enterprises": 7,
    "covered_workers": 1110,
    "avg_wage_after": D("5432.50"),  # 21730 / 4
    "disclosure_rate": D("33.3"),  # 2 / 6
    "filing_rate": D("66.7"),  # 4 / 6
    "review_opinion_rate": D("50.0"),  # 3 / 6
}
RATES = {
    "renewal_rate": (1, 2),
    "offer_rate": (6, 6),
    "response_rate": (6, 6),
    "congress_rate": (7, 7),
    "disclosure_rate": (2, 7),
    "filing_rate": (5, 7),
    "review_opinion_rate": (4, 7),
}


def _values(report):
    return {f.key: f.value for f in report.figures}


def test_every_figure_matches_the_hand_computed_values(db):
    data = build(db)
    w, n = data.world, data.numbers
    city = annual_report(db, w.admin, "city", 2025)
    assert set(_values(city)) == {spec.key for spec in FIGURES}
    assert _values(city) == CITY_2025
    for key, (numerator, denominator) in RATES.items():
        figure = city.figure(key)
        assert (figure.numerator, figure.denominator) == (numerator, denominator), key
    assert city.figure("avg_wage_after").basis == 5 and city.figure("wage_growth").basis == 4
    for figure in city.figures:
        assert figure.definition and figure.label and figure.unit

    assert _values(annual_report(db, w.admin, "street", 2025)) == STREET_2025
    other = _values(annual_report(db, w.admin, "other", 2025))
    assert other["signed_enterprise"] == 1 and other["covered_workers"] == 50
    assert other["avg_wage_before"] is None and other["wage_growth"] is None
    assert other["avg_wage_after"] == D("5720.00") and other["disclosure_rate"] == D("0.0")
    assert other["renewal_rate"] is None  # nothing expired there: no rate rather than 0 %

    # The year before: E5 and E6.
    y2024 = _values(annual_report(db, w.admin, "city", 2024))
    assert y2024["signed_enterprise"] == 2 and y2024["signed_new"] == 2
    assert y2024["avg_wage_after"] == D("5562.00") and y2024["wage_growth"] == D("8.00")

    # Trends agree with the headline figures.
    by_year = {r.key: r for r in city.by_year}
    assert list(by_year) == ["2021", "2022", "2023", "2024", "2025"]
    assert by_year["2025"].signed_enterprise == 5 and by_year["2025"].covered_workers == 1160
    assert by_year["2025"].avg_wage_after == D("5490.00") and by_year["2025"].wage_growth == D("8.65")
    assert by_year["2024"].signed_enterprise == 2 and by_year["2024"].covered_workers == 900
    assert by_year["2023"].signed_enterprise == 0 and by_year["2023"].avg_wage_after is None
    regions = {r.label: r for r in city.by_region}
    assert list(regions) == ["测试市总工会（本级）", "邻近街道总工会", "测试街道总工会"]
    assert (
        regions["测试街道总工会"].signed_enterprise == 4 and regions["测试街道总工会"].covered_workers == 1110
    )
    assert (
        regions["邻近街道总工会"].signed_enterprise == 1
        and regions["测试市总工会（本级）"].signed_enterprise == 0
    )
    sectors = {r.label: r for r in city.by_sector}
    assert sectors["茶叶"].sector_signed == 1 and sectors["茶叶"].adoption_signed == 1
    assert sectors["茶叶"].covered_enterprises == 3 and sectors["茶叶"].covered_workers == 90
    assert sectors["未分行业"].signed_enterprise == 5 and sectors["未分行业"].covered_workers == 1070

    # Drill-downs: the cases behind each figure, with the figure's own conditions.
    def numbers(key, part="all", region="city"):
        page = cases_behind(db, w.admin, region, 2025, key, limit=100, part=part)
        assert page.total == len(page.items)
        return {row.number for row in page.items}

    names = {v: k for k, v in n.items()}

    def keys(numbers_):
        return {names[x] for x in numbers_}

    assert keys(numbers("signed_enterprise")) == {"E1", "E2", "E3", "R5", "O1"}
    assert keys(numbers("signed_renewal")) == {"R5"}
    assert keys(numbers("signed_enterprise", region="street")) == {"E1", "E2", "E3", "R5"}
    assert keys(numbers("renewal_rate")) == {"E5", "E6"}
    assert keys(numbers("renewal_rate", "counted")) == {"E5"}
    assert keys(numbers("renewal_rate", "missing")) == {"E6"}
    assert keys(numbers("renewal_opened")) == {"E5"}
    assert keys(numbers("disclosure_rate", "counted")) == {"E1", "R5"}
    assert keys(numbers("disclosure_rate", "missing")) == {"E2", "E3", "O1", "S1", "A0"}
    assert keys(numbers("review_opinion_rate", "missing")) == {"E2", "E3", "A0"}
    assert keys(numbers("offer_rate")) == {"E1", "E2", "E3", "R5", "O1", "S1"}
    assert keys(numbers("covered_enterprises")) == {"E1", "E2", "E3", "R5", "O1", "S1", "A0"}
    assert keys(numbers("sector_enterprises")) == {"S1"}
    assert keys(numbers("adoption_signed")) == {"A0"}
    assert keys(numbers("wage_growth")) == {"E1", "E2", "E3", "R5"}
    page = cases_behind(db, w.admin, "city", 2025, "avg_wage_after", limit=2, offset=1)
    assert page.total == 5 and len(page.items) == 2
    every = cases_behind(db, w.admin, "city", 2025, "avg_wage_after", limit=100)
    assert sum(row.value for row in every.items) == D("27450.00")
    assert all(row.counted for row in every.items)
    # The drill-down of every count and rate has exactly the figure's number of cases.
    for figure in city.figures:
        page = cases_behind(db, w.admin, "city", 2025, figure.key, limit=1)
        if figure.denominator is not None:
            assert page.total == figure.denominator, figure.key
            assert (
                cases_behind(db, w.admin, "city", 2025, figure.key, part="counted").total == figure.numerator
            )
        elif figure.basis is not None:
            assert page.total == figure.basis, figure.key
        elif figure.key.startswith(("signed_", "renewal_", "sector_signed", "adoption_")):
            assert page.total == figure.value, figure.key


def test_region_scoping_and_bad_requests(db):
    data = build(db)
    w = data.world
    # A street instructor sees the street (the default) and nothing above or beside it.
    own = annual_report(db, w.instructor, None, 2025, trends=False)
    assert own.region_code == "street" and own.figure("signed_enterprise").value == 4
    with pytest.raises(NotFound):
        annual_report(db, w.instructor, "city", 2025)
    with pytest.raises(NotFound):
        annual_report(db, w.other_instructor, "street", 2025)
    with pytest.raises(NotFound):
        cases_behind(db, w.other_instructor, "street", 2025, "signed_enterprise")
    assert {
        r.number for r in cases_behind(db, w.other_instructor, None, 2025, "signed_enterprise").items
    } == {data.numbers["O1"]}
    with pytest.raises(ValidationError):
        cases_behind(db, w.admin, "city", 2025, "no_such_figure")
    with pytest.raises(ValidationError):
        annual_report(db, w.admin, "city", 25)
    # An empty year: zeros, and rates and means without a basis are "—", not 0.
    empty = annual_report(db, w.admin, "city", 2023)
    assert empty.figure("signed_enterprise").value == 0
    assert empty.figure("offer_rate").value is None and empty.figure("avg_wage_after").value is None
    assert empty.figure("offer_rate").display == "—"
