"""Worker-congress (职工代表大会, 职代会) vote on a draft agreement.

Quorum: at least ``rule.quorum`` of ALL representatives present ("三分之二以上" includes exactly two
thirds). Passing: for-votes counted against ALL representatives, not those present; "半数以上"
includes exactly half, "过半数" needs strictly more. Integer and Fraction arithmetic only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from bargaining.errors import ValidationError
from bargaining.rules._text import fraction_cn
from bargaining.rules.jurisdictions import CongressRule, PassRule

# "半数以上" includes exactly half; say so, since officials often read it as "more than half".
_PASS_WORDING: dict[PassRule, tuple[str, str]] = {
    "at_least_half": ("全体代表半数以上", "含半数，"),
    "more_than_half": ("全体代表过半数", ""),
}


@dataclass(frozen=True)
class VoteOutcome:
    passed: bool
    quorum_met: bool
    required_present: int
    required_for: int
    reason: str


def required_present(rule: CongressRule, total: int) -> int:
    """Smallest attendance that reaches the quorum: ceil(total × quorum)."""
    return math.ceil(Fraction(total) * rule.quorum)


def required_for(rule: CongressRule, total: int) -> int:
    """Smallest number of for-votes that passes, counted against all ``total`` representatives."""
    if rule.pass_rule == "at_least_half":
        return math.ceil(Fraction(total, 2))
    return total // 2 + 1


def _check_counts(total: int, present: int, votes_for: int, against: int, abstain: int) -> None:
    counts = {"应到代表": total, "实到代表": present, "赞成": votes_for, "反对": against, "弃权": abstain}
    negative = [f"{label}{value}人" for label, value in counts.items() if value < 0]
    if negative:
        raise ValidationError(f"表决人数不能为负数：{'、'.join(negative)}", code="invalid_vote_counts")
    if total == 0:
        raise ValidationError("应到代表人数不能为0", code="invalid_vote_counts")
    if present > total:
        raise ValidationError(f"实到代表{present}人，多于应到代表{total}人", code="invalid_vote_counts")
    cast = votes_for + against + abstain
    if cast > present:
        raise ValidationError(
            f"赞成{votes_for}人、反对{against}人、弃权{abstain}人，合计{cast}人，多于实到代表{present}人",
            code="invalid_vote_counts",
        )


def evaluate_vote(
    rule: CongressRule, *, total: int, present: int, votes_for: int, against: int, abstain: int
) -> VoteOutcome:
    """Evaluate a congress vote; inconsistent counts raise :class:`ValidationError`."""
    _check_counts(total, present, votes_for, against, abstain)
    need_present = required_present(rule, total)
    need_for = required_for(rule, total)
    quorum_text = fraction_cn(rule.quorum)
    tally = f"赞成{votes_for}人、反对{against}人、弃权{abstain}人"

    if present < need_present:
        reason = (
            f"应到代表{total}人，实到{present}人，不足应到代表的{quorum_text}（至少{need_present}人），"
            f"会议未达到法定出席人数，表决无效（{tally}）"
        )
        return VoteOutcome(False, False, need_present, need_for, reason)

    attendance = f"应到代表{total}人，实到{present}人，达到{quorum_text}（至少{need_present}人）"
    wording, qualifier = _PASS_WORDING[rule.pass_rule]
    if votes_for >= need_for:
        reason = f"{attendance}；{tally}，赞成票达到{wording}（{qualifier}至少{need_for}人），草案通过"
        return VoteOutcome(True, True, need_present, need_for, reason)
    reason = (
        f"{attendance}；{tally}，赞成票未达到{wording}"
        f"（{qualifier}至少{need_for}人，按全体{total}名代表计算），草案未通过"
    )
    return VoteOutcome(False, True, need_present, need_for, reason)
