"""Negotiation representatives (协商代表): who may sit on which side, and how many."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from bargaining.errors import ValidationError
from bargaining.rules._text import fraction_cn
from bargaining.rules.jurisdictions import RepresentativeRule

Side = Literal["worker", "employer"]
SIDES: tuple[Side, ...] = ("worker", "employer")
SIDE_NAMES: dict[Side, str] = {"worker": "职工方", "employer": "企业方"}


@dataclass(frozen=True)
class RepresentativeSpec:
    """One representative. ``person_key`` identifies the natural person (e.g. a normalized ID number);
    ``outsider``: an outside expert appointed by the chief representative (外聘专业人员)."""

    side: Side
    person_key: str
    name: str
    chief: bool = False
    outsider: bool = False
    front_line: bool = False


def is_large(rule: RepresentativeRule, headcount: int | None, large_enterprise: bool | None) -> bool:
    """Whether the larger minimum applies. ``large_enterprise`` (e.g. 规模以上企业, a statistical class
    that no headcount expresses) wins when given; otherwise the rule's headcount threshold decides."""
    if large_enterprise is not None:
        return large_enterprise
    return headcount is not None and rule.large_headcount is not None and headcount >= rule.large_headcount


def _names(reps: Sequence[RepresentativeSpec]) -> str:
    return "、".join(rep.name for rep in reps)


def _side_problems(
    rule: RepresentativeRule, side: Side, reps: list[RepresentativeSpec], minimum: int, large: bool
) -> list[str]:
    label = SIDE_NAMES[side]
    count = len(reps)
    problems: list[str] = []
    if count < minimum:
        which = "（规模以上企业）" if large else ""
        problems.append(f"{label}协商代表{count}人，少于每方至少{minimum}人{which}的要求")
    if rule.max_per_side is not None and count > rule.max_per_side:
        problems.append(f"{label}协商代表{count}人，多于每方至多{rule.max_per_side}人的限制")

    duplicated = [key for key, times in Counter(rep.person_key for rep in reps).items() if times > 1]
    for key in duplicated:
        name = next(rep.name for rep in reps if rep.person_key == key)
        problems.append(f"{label}名单中{name}重复出现")

    chiefs = [rep for rep in reps if rep.chief]
    if count and not chiefs:
        problems.append(f"{label}未确定首席代表，每方应确定一名首席代表")
    elif len(chiefs) > 1:
        problems.append(f"{label}有{len(chiefs)}名首席代表（{_names(chiefs)}），每方只能确定一名")
    for chief in chiefs:
        if chief.outsider:
            problems.append(f"{label}首席代表{chief.name}为外聘人员，首席代表不得由非本单位人员担任")

    outsiders = [rep for rep in reps if rep.outsider]
    if count and Fraction(len(outsiders), count) > rule.outsider_max_share:
        allowed = math.floor(count * rule.outsider_max_share)
        problems.append(
            f"{label}外聘专业人员{len(outsiders)}人（{_names(outsiders)}），"
            f"超过本方代表{count}人的{fraction_cn(rule.outsider_max_share)}（至多{allowed}人）"
        )

    share = rule.front_line_min_share
    if side == "worker" and share is not None and count:
        front_line = sum(1 for rep in reps if rep.front_line)
        if Fraction(front_line, count) < share:
            needed = math.ceil(count * share)
            problems.append(
                f"职工方一线职工代表{front_line}人，低于本方代表{count}人的{fraction_cn(share)}（至少{needed}人）"
            )
    return problems


def check_representatives(
    rule: RepresentativeRule,
    reps: Sequence[RepresentativeSpec],
    headcount: int | None = None,
    *,
    large_enterprise: bool | None = None,
) -> list[str]:
    """Every problem with the representatives, in Chinese; an empty list means valid."""
    if headcount is not None and headcount < 0:
        raise ValidationError(f"职工人数不能为负数：{headcount}")
    minimum, large = rule.min_per_side, False
    if rule.min_per_side_large is not None and is_large(rule, headcount, large_enterprise):
        minimum, large = rule.min_per_side_large, True
    by_side = {side: [rep for rep in reps if rep.side == side] for side in SIDES}

    problems: list[str] = []
    for side in SIDES:
        problems.extend(_side_problems(rule, side, by_side[side], minimum, large))

    worker_count, employer_count = len(by_side["worker"]), len(by_side["employer"])
    if worker_count != employer_count:
        problems.append(f"双方代表人数应当对等：职工方{worker_count}人，企业方{employer_count}人")

    employer_keys = {rep.person_key: rep for rep in by_side["employer"]}
    both = {rep.person_key: rep for rep in by_side["worker"] if rep.person_key in employer_keys}
    for key, worker_rep in both.items():
        employer_name = employer_keys[key].name
        shown = (
            worker_rep.name if worker_rep.name == employer_name else f"{worker_rep.name}（{employer_name}）"
        )
        problems.append(f"{shown}同时担任职工方和企业方协商代表，双方代表不得相互兼任")
    return problems
