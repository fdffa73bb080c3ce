from __future__ import annotations

from fractions import Fraction

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.jurisdictions import RepresentativeRule, get_rule_set
from bargaining.rules.representatives import RepresentativeSpec, Side, check_representatives

NATIONAL = get_rule_set("national").representatives
SHANDONG = get_rule_set("shandong").representatives
HANGZHOU = get_rule_set("hangzhou").representatives
BY_HEADCOUNT = RepresentativeRule(3, None, 5, 100, None, Fraction(1, 3), "测试规则")


def rep(side: Side, n: int, **flags: bool) -> RepresentativeSpec:
    prefix = "W" if side == "worker" else "E"
    return RepresentativeSpec(
        side=side, person_key=f"{prefix}{n}", name=f"{'职工' if side == 'worker' else '企业'}{n}", **flags
    )


def side(side_: Side, count: int, *, front_line: int = 0, outsiders: int = 0) -> list[RepresentativeSpec]:
    """``count`` reps, the first a chief; front-line from the start, outsiders from the end."""
    return [
        rep(side_, i, chief=i == 1, front_line=i <= front_line, outsider=i > count - outsiders)
        for i in range(1, count + 1)
    ]


def valid(count: int = 3, front_line: int = 0) -> list[RepresentativeSpec]:
    return side("worker", count, front_line=front_line) + side("employer", count)


def test_valid_list_has_no_problems() -> None:
    assert check_representatives(NATIONAL, valid()) == []
    assert check_representatives(SHANDONG, valid(3, front_line=1)) == []
    assert check_representatives(HANGZHOU, valid(9)) == []


def test_too_few_per_side() -> None:
    problems = check_representatives(NATIONAL, valid(2))
    assert problems == [
        "职工方协商代表2人，少于每方至少3人的要求",
        "企业方协商代表2人，少于每方至少3人的要求",
    ]


def test_empty_side() -> None:
    problems = check_representatives(NATIONAL, side("worker", 3))
    assert "企业方协商代表0人，少于每方至少3人的要求" in problems
    assert "双方代表人数应当对等：职工方3人，企业方0人" in problems


def test_too_many_per_side() -> None:
    problems = check_representatives(HANGZHOU, valid(10))
    assert "职工方协商代表10人，多于每方至多9人的限制" in problems
    assert check_representatives(NATIONAL, valid(10)) == []  # no national maximum


def test_large_minimum_by_headcount() -> None:
    assert check_representatives(BY_HEADCOUNT, valid(3), headcount=99) == []
    problems = check_representatives(BY_HEADCOUNT, valid(3), headcount=100)
    assert "职工方协商代表3人，少于每方至少5人（规模以上企业）的要求" in problems
    assert check_representatives(BY_HEADCOUNT, valid(5), headcount=100) == []


def test_large_minimum_by_statistical_class() -> None:
    # Zhejiang/Hangzhou: "规模以上企业" is not a headcount, so it must be stated.
    assert check_representatives(HANGZHOU, valid(3), headcount=5000) == []
    assert check_representatives(HANGZHOU, valid(3), large_enterprise=True) != []
    assert check_representatives(HANGZHOU, valid(5), large_enterprise=True) == []
    assert check_representatives(BY_HEADCOUNT, valid(3), headcount=500, large_enterprise=False) == []


def test_unequal_sides() -> None:
    reps = side("worker", 4) + side("employer", 3)
    assert check_representatives(NATIONAL, reps) == ["双方代表人数应当对等：职工方4人，企业方3人"]


def test_missing_chief() -> None:
    reps = [rep("worker", i) for i in range(1, 4)] + side("employer", 3)
    assert check_representatives(NATIONAL, reps) == ["职工方未确定首席代表，每方应确定一名首席代表"]


def test_two_chiefs() -> None:
    reps = [
        *side("worker", 3),
        rep("employer", 1, chief=True),
        rep("employer", 2, chief=True),
        rep("employer", 3),
    ]
    assert check_representatives(NATIONAL, reps) == ["企业方有2名首席代表（企业1、企业2），每方只能确定一名"]


def test_same_person_on_both_sides() -> None:
    shared = RepresentativeSpec(side="employer", person_key="W2", name="职工2")
    reps = side("worker", 3) + side("employer", 2) + [shared]
    assert check_representatives(NATIONAL, reps) == [
        "职工2同时担任职工方和企业方协商代表，双方代表不得相互兼任"
    ]


def test_same_person_under_two_names_shows_both() -> None:
    shared = RepresentativeSpec(side="employer", person_key="W2", name="王二")
    problems = check_representatives(NATIONAL, side("worker", 3) + side("employer", 2) + [shared])
    assert problems == ["职工2（王二）同时担任职工方和企业方协商代表，双方代表不得相互兼任"]


def test_same_person_twice_on_one_side() -> None:
    reps = [*side("worker", 3), rep("worker", 3), *side("employer", 4)]
    assert check_representatives(NATIONAL, reps) == ["职工方名单中职工3重复出现"]


def test_outsiders_at_most_one_third() -> None:
    assert check_representatives(NATIONAL, side("worker", 3, outsiders=1) + side("employer", 3)) == []
    problems = check_representatives(NATIONAL, side("worker", 3) + side("employer", 3, outsiders=2))
    assert problems == ["企业方外聘专业人员2人（企业2、企业3），超过本方代表3人的三分之一（至多1人）"]
    # 6 reps: 2 outsiders is exactly one third and allowed.
    assert check_representatives(NATIONAL, side("worker", 6, outsiders=2) + side("employer", 6)) == []


def test_outsider_may_not_be_chief() -> None:
    reps = [
        rep("worker", 1, chief=True, outsider=True),
        rep("worker", 2),
        rep("worker", 3),
        *side("employer", 3),
    ]
    assert check_representatives(NATIONAL, reps) == [
        "职工方首席代表职工1为外聘人员，首席代表不得由非本单位人员担任"
    ]


def test_front_line_share() -> None:
    problems = check_representatives(SHANDONG, valid(3, front_line=0))
    assert problems == ["职工方一线职工代表0人，低于本方代表3人的三分之一（至少1人）"]
    assert check_representatives(SHANDONG, valid(6, front_line=2)) == []
    assert check_representatives(SHANDONG, valid(7, front_line=2)) == [
        "职工方一线职工代表2人，低于本方代表7人的三分之一（至少3人）"
    ]
    assert check_representatives(NATIONAL, valid(3, front_line=0)) == []  # no national share


def test_front_line_counts_only_the_worker_side() -> None:
    reps = [
        *side("worker", 3, front_line=1),
        rep("employer", 1, chief=True, front_line=True),
        rep("employer", 2),
        rep("employer", 3),
    ]
    assert check_representatives(SHANDONG, reps) == []


def test_every_problem_is_reported_at_once() -> None:
    reps = [rep("worker", 1, outsider=True), rep("worker", 2, outsider=True), rep("employer", 1, chief=True)]
    problems = check_representatives(SHANDONG, reps)
    assert len(problems) == 6
    assert all(isinstance(problem, str) and problem for problem in problems)


def test_negative_headcount_is_rejected() -> None:
    with pytest.raises(ValidationError, match="职工人数不能为负数"):
        check_representatives(NATIONAL, valid(), headcount=-1)
