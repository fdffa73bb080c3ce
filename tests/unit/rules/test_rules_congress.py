from __future__ import annotations

from fractions import Fraction

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.congress import evaluate_vote, required_for, required_present
from bargaining.rules.jurisdictions import CongressRule

AT_LEAST_HALF = CongressRule(Fraction(2, 3), "at_least_half", "《集体合同规定》第三十六条")
MORE_THAN_HALF = CongressRule(Fraction(2, 3), "more_than_half", "《浙江省集体合同条例》第二十四条")


def test_quorum_exactly_two_thirds_is_met() -> None:
    outcome = evaluate_vote(AT_LEAST_HALF, total=60, present=40, votes_for=35, against=3, abstain=2)
    assert outcome.quorum_met and outcome.passed
    assert outcome.required_present == 40
    assert "达到三分之二（至少40人）" in outcome.reason
    assert outcome.reason.endswith("草案通过")


def test_one_below_quorum_fails_whatever_the_votes() -> None:
    outcome = evaluate_vote(AT_LEAST_HALF, total=60, present=39, votes_for=39, against=0, abstain=0)
    assert not outcome.quorum_met and not outcome.passed
    assert outcome.reason.startswith("应到代表60人，实到39人，不足应到代表的三分之二（至少40人）")
    assert "表决无效" in outcome.reason


@pytest.mark.parametrize(
    ("total", "need_present"),
    [(3, 2), (4, 3), (5, 4), (7, 5), (8, 6), (10, 7), (61, 41), (62, 42), (1, 1)],
)
def test_quorum_with_totals_not_divisible_by_three(total: int, need_present: int) -> None:
    # "三分之二以上" includes 2/3: the smallest attendance with present * 3 >= total * 2.
    assert required_present(AT_LEAST_HALF, total) == need_present
    assert need_present * 3 >= total * 2 > (need_present - 1) * 3
    below = evaluate_vote(
        AT_LEAST_HALF, total=total, present=need_present - 1, votes_for=0, against=0, abstain=0
    )
    assert not below.quorum_met


def test_exactly_half_passes_at_least_half() -> None:
    outcome = evaluate_vote(AT_LEAST_HALF, total=60, present=50, votes_for=30, against=15, abstain=5)
    assert outcome.passed
    assert outcome.required_for == 30
    assert "全体代表半数以上（含半数，至少30人）" in outcome.reason


def test_exactly_half_fails_more_than_half() -> None:
    outcome = evaluate_vote(MORE_THAN_HALF, total=60, present=50, votes_for=30, against=15, abstain=5)
    assert outcome.quorum_met and not outcome.passed
    assert outcome.required_for == 31
    assert "赞成票未达到全体代表过半数（至少31人，按全体60名代表计算），草案未通过" in outcome.reason


def test_for_votes_count_against_all_representatives_not_those_present() -> None:
    # 25 of 41 present is a clear majority of the room but not half of all 60.
    outcome = evaluate_vote(AT_LEAST_HALF, total=60, present=41, votes_for=25, against=10, abstain=6)
    assert outcome.quorum_met and not outcome.passed


@pytest.mark.parametrize(
    ("total", "at_least_half", "more_than_half"),
    [(1, 1, 1), (2, 1, 2), (3, 2, 2), (7, 4, 4), (45, 23, 23), (60, 30, 31), (61, 31, 31)],
)
def test_required_for(total: int, at_least_half: int, more_than_half: int) -> None:
    assert required_for(AT_LEAST_HALF, total) == at_least_half
    assert required_for(MORE_THAN_HALF, total) == more_than_half


def test_odd_total_needs_the_same_count_under_both_rules() -> None:
    for rule in (AT_LEAST_HALF, MORE_THAN_HALF):
        assert evaluate_vote(rule, total=45, present=30, votes_for=23, against=7, abstain=0).passed
        assert not evaluate_vote(rule, total=45, present=30, votes_for=22, against=8, abstain=0).passed


def test_reason_always_filled() -> None:
    for votes_for in range(0, 31):
        outcome = evaluate_vote(
            MORE_THAN_HALF, total=30, present=30, votes_for=votes_for, against=0, abstain=0
        )
        assert outcome.reason
        assert f"赞成{votes_for}人" in outcome.reason


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"total": -1, "present": 0, "votes_for": 0, "against": 0, "abstain": 0}, "不能为负数：应到代表-1人"),
        ({"total": 10, "present": 8, "votes_for": -1, "against": 0, "abstain": 0}, "不能为负数：赞成-1人"),
        ({"total": 0, "present": 0, "votes_for": 0, "against": 0, "abstain": 0}, "应到代表人数不能为0"),
        (
            {"total": 10, "present": 11, "votes_for": 0, "against": 0, "abstain": 0},
            "实到代表11人，多于应到代表10人",
        ),
        (
            {"total": 10, "present": 8, "votes_for": 5, "against": 3, "abstain": 1},
            "赞成5人、反对3人、弃权1人，合计9人，多于实到代表8人",
        ),
    ],
)
def test_inconsistent_counts(counts: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        evaluate_vote(AT_LEAST_HALF, **counts)
    assert message in caught.value.message
    assert caught.value.code == "invalid_vote_counts"
