from __future__ import annotations

from dataclasses import fields
from fractions import Fraction
from typing import Any

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.jurisdictions import (
    DEADLINE_KINDS,
    DEFAULT_JURISDICTION,
    RULE_SETS,
    RuleSet,
    TimedRule,
    get_rule_set,
    timed_rule,
    timed_rules,
)
from bargaining.rules.periods import Period


def days(n: int) -> Period:
    return Period(n, "calendar_days")


def wd(n: int) -> Period:
    return Period(n, "working_days")


def months(n: int) -> Period:
    return Period(n, "months")


# The jurisdiction table of shared/domain.md, cell by cell. "—" cells take the national rule
# (national citation) or, for the negotiation cap, no cap. Henan's "pass" has no ratio of its own.
TABLE: dict[str, dict[str, Any]] = {
    "national": {
        "response": days(20),
        "negotiation_cap": (None, None),
        "reps": (3, None, None),
        "pass_rule": "at_least_half",
        "filing": (days(10), 3),
        "review": days(15),
        "disclosure": days(10),
        "renewal_window": months(3),
    },
    "shandong": {
        "response": days(10),
        "negotiation_cap": (days(60), "response"),
        "reps": (3, None, None),
        "pass_rule": "more_than_half",
        "filing": (days(10), 3),
        "review": days(15),
        "disclosure": days(7),
        "renewal_window": months(3),
    },
    "zhejiang": {
        "response": wd(10),
        "negotiation_cap": (None, None),
        "reps": (3, None, 5),
        "pass_rule": "more_than_half",
        "filing": (days(10), 5),
        "review": days(15),
        "disclosure": wd(5),
        "renewal_window": days(90),
    },
    "hangzhou": {
        "response": wd(10),
        "negotiation_cap": (days(60), "offer"),
        "reps": (3, 9, 5),
        "pass_rule": "more_than_half",
        "filing": (days(10), 5),
        "review": days(15),
        "disclosure": wd(5),
        "renewal_window": days(90),
    },
    "henan": {
        "response": wd(10),
        "negotiation_cap": (months(2), "offer"),
        "reps": (3, None, None),
        "pass_rule": "at_least_half",
        "filing": (wd(5), 3),
        "review": days(15),
        "disclosure": days(5),
        "renewal_window": months(2),
    },
    "shanghai": {
        "response": days(15),
        "negotiation_cap": (None, None),
        "reps": (3, None, None),
        "pass_rule": "at_least_half",
        "filing": (days(10), 3),
        "review": days(15),
        "disclosure": days(10),
        "renewal_window": months(3),
    },
    "chongqing": {
        "response": days(20),
        "negotiation_cap": (None, None),
        "reps": (3, 15, None),
        "pass_rule": "at_least_half",
        "filing": (days(10), 3),
        "review": days(15),
        "disclosure": days(10),
        "renewal_window": months(3),
    },
}

CELLS = [(code, column) for code, row in TABLE.items() for column in row]


@pytest.mark.parametrize(("code", "column"), CELLS, ids=[f"{c}-{k}" for c, k in CELLS])
def test_table_cell(code: str, column: str) -> None:
    rule_set = get_rule_set(code)
    expected = TABLE[code][column]
    if column == "negotiation_cap":
        period, start = expected
        assert (rule_set.negotiation_cap.period if rule_set.negotiation_cap else None) == period
        assert rule_set.negotiation_cap_from == start
    elif column == "reps":
        reps = rule_set.representatives
        assert (reps.min_per_side, reps.max_per_side, reps.min_per_side_large) == expected
    elif column == "pass_rule":
        assert rule_set.congress.pass_rule == expected
        assert rule_set.congress.quorum == Fraction(2, 3)
    elif column == "filing":
        assert (rule_set.filing.period, rule_set.filing_copies) == expected
    else:
        assert getattr(rule_set, column).period == expected


def test_table_covers_every_rule_set_but_jiangsu() -> None:
    assert set(TABLE) | {"jiangsu"} == set(RULE_SETS)


def _timed_rules_of(rule_set: RuleSet) -> list[tuple[str, TimedRule]]:
    return [
        (f.name, getattr(rule_set, f.name))
        for f in fields(rule_set)
        if isinstance(getattr(rule_set, f.name), TimedRule)
    ]


@pytest.mark.parametrize("code", RULE_SETS)
def test_every_number_has_a_citation(code: str) -> None:
    rule_set = RULE_SETS[code]
    assert rule_set.code == code
    assert rule_set.name and rule_set.source
    for name, rule in _timed_rules_of(rule_set):
        assert rule.basis.strip(), name
        assert "《" in rule.basis, name
        if not rule.statutory:
            assert "不是法定期限" in rule.basis, name
    assert "《" in rule_set.representatives.basis
    assert "《" in rule_set.congress.basis


def test_practice_defaults_are_marked() -> None:
    practice = {
        (code, name) for code, rs in RULE_SETS.items() for name, r in _timed_rules_of(rs) if not r.statutory
    }
    assert practice == {("national", "disclosure"), ("jiangsu", "disclosure"), ("shanghai", "disclosure")}
    assert "第四十八条" in get_rule_set("national").disclosure.basis
    assert "及时" in get_rule_set("national").disclosure.basis


def test_dash_cells_keep_the_national_citation() -> None:
    national = get_rule_set("national")
    assert get_rule_set("shandong").renewal_window is national.renewal_window
    assert get_rule_set("shanghai").renewal_window is national.renewal_window
    assert get_rule_set("shanghai").review is national.review
    assert "《集体合同规定》" in get_rule_set("henan").congress.basis


def test_national_citations() -> None:
    national = get_rule_set("national")
    assert national.response.basis.startswith("《集体合同规定》（劳动和社会保障部令第22号，2004）第三十二条")
    assert "第二十三条" in national.representatives.basis  # outside experts at most 1/3
    assert "第三十六条" in national.congress.basis
    assert "第四十二条" in national.filing.basis
    assert "第三十八条" in national.renewal_window.basis
    assert "第三十一条" in national.rep_vacancy.basis
    assert "第五十二条" in national.dispute.basis


def test_disclosure_order() -> None:
    assert get_rule_set("shanghai").disclosure_timing == "after_signing"
    assert "报送期限自该节点起算" in get_rule_set("shanghai").filing.basis
    others = {code for code, rs in RULE_SETS.items() if rs.disclosure_timing == "after_in_force"}
    assert others == set(RULE_SETS) - {"shanghai"}


def test_dispute_periods() -> None:
    chongqing = get_rule_set("chongqing")
    assert (chongqing.dispute.period, chongqing.dispute_extension.period) == (days(60), days(30))
    for code in set(RULE_SETS) - {"chongqing"}:
        rule_set = RULE_SETS[code]
        assert (rule_set.dispute.period, rule_set.dispute_extension.period) == (days(30), days(15)), code
    assert "《浙江省集体合同条例》" in get_rule_set("hangzhou").dispute.basis


def test_representative_shares() -> None:
    for rule_set in RULE_SETS.values():
        assert rule_set.representatives.outsider_max_share == Fraction(1, 3)
        assert rule_set.rep_vacancy.period == days(15)
    front_line = {code for code, rs in RULE_SETS.items() if rs.representatives.front_line_min_share}
    assert front_line == {"shandong", "henan"}
    assert get_rule_set("shandong").representatives.front_line_min_share == Fraction(1, 3)
    # 规模以上企业 is a statistical class, not a headcount.
    assert get_rule_set("zhejiang").representatives.large_headcount is None


def test_jiangsu_uses_the_national_numbers() -> None:
    national, jiangsu = get_rule_set("national"), get_rule_set("jiangsu")
    identity = {"code", "name", "source", "notes", "falls_back_to"}
    for f in fields(RuleSet):
        if f.name not in identity:
            assert getattr(jiangsu, f.name) == getattr(national, f.name), f.name
    assert jiangsu.falls_back_to == "national"
    assert "《江苏省集体协商条例》（2023）天数待确认，暂按国家规定执行" in jiangsu.notes
    assert all(rs.falls_back_to is None for code, rs in RULE_SETS.items() if code != "jiangsu")


def test_unconfirmed_articles_are_noted() -> None:
    shanghai = get_rule_set("shanghai")
    assert "条文序号待核" in shanghai.congress.basis
    assert any("暂不标注条号" in note for note in shanghai.notes)


def test_get_rule_set() -> None:
    assert DEFAULT_JURISDICTION == "national"
    assert get_rule_set(" Zhejiang ") is RULE_SETS["zhejiang"]
    with pytest.raises(ValidationError) as caught:
        get_rule_set("guangdong")
    message = caught.value.message
    assert message.startswith("未知的地区规则“guangdong”")
    for code, rule_set in RULE_SETS.items():
        assert f"{code}（{rule_set.name}）" in message
    assert caught.value.code == "unknown_jurisdiction"


@pytest.mark.parametrize("kind", DEADLINE_KINDS)
def test_timed_rule_for_every_kind(kind: str) -> None:
    hangzhou = get_rule_set("hangzhou")
    rule = timed_rule(hangzhou, kind)
    attribute = "renewal_window" if kind == "renewal" else kind
    assert rule is getattr(hangzhou, attribute)


def test_timed_rule_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        timed_rule(get_rule_set("national"), "signing")
    assert "未知的期限类型“signing”" in caught.value.message
    assert "renewal（续签提出期）" in caught.value.message
    with pytest.raises(ValidationError) as missing:
        timed_rule(get_rule_set("national"), "negotiation_cap")
    assert missing.value.code == "no_such_deadline"
    assert "国家规定未规定协商期限" in missing.value.message


def test_timed_rules_lists_only_what_the_jurisdiction_sets() -> None:
    assert "negotiation_cap" not in timed_rules(get_rule_set("national"))
    assert list(timed_rules(get_rule_set("shandong"))) == list(DEADLINE_KINDS)
