"""Approving a sector agreement enterprise by enterprise (各企业职代会通过 / 法定代表人认可、盖章).

Where the rule set allows it, each covered enterprise's congress votes (and, in Shanghai and
Shandong, the enterprise accepts or seals); the round then concludes. Where the agreement binds
only the enterprises that accepted it, it passes if at least one did and binds just those;
otherwise every covered enterprise must approve.
"""

from __future__ import annotations

from sqlalchemy import select

from bargaining.agreement_text import agreement_text_hash
from bargaining.models import CaseCoverage, CongressVote, Enterprise
from bargaining.rules.congress import evaluate_vote

from .context import FireContext


def sector_congress_allowed(ctx: FireContext) -> str | None:
    if ctx.case.kind == "sector" and "sector_congress" not in ctx.rule_set.sector_approval:
        return (
            f"按{ctx.rule_set.name}，行业协议须由各企业逐一认可并表决（{ctx.rule_set.sector_approval_basis}）"
        )
    return None


def each_enterprise_allowed(ctx: FireContext) -> str | None:
    if "each_enterprise" not in ctx.rule_set.sector_approval:
        return (
            f"按{ctx.rule_set.name}，行业协议由行业职工代表大会表决（{ctx.rule_set.sector_approval_basis}）"
        )
    return None


def _covered(ctx: FireContext) -> dict[int, str]:
    return dict(
        ctx.session.execute(
            select(Enterprise.id, Enterprise.name)
            .join(CaseCoverage, CaseCoverage.enterprise_id == Enterprise.id)
            .where(CaseCoverage.case_id == ctx.case.id)
        ).all()
    )


def _latest_votes(ctx: FireContext) -> dict[int, CongressVote]:
    latest: dict[int, CongressVote] = {}
    for vote in ctx.session.scalars(
        select(CongressVote)
        .where(CongressVote.case_id == ctx.case.id, CongressVote.enterprise_id.is_not(None))
        .order_by(CongressVote.id)
    ):
        assert vote.enterprise_id is not None
        latest[vote.enterprise_id] = vote
    return latest


def enterprise_is_covered(ctx: FireContext) -> str | None:
    code = (ctx.values.get("enterprise") or "").strip().upper()
    if not code:
        return None  # the field check reports it
    enterprise_id = ctx.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code))
    if enterprise_id is None or enterprise_id not in _covered(ctx):
        return f"企业 {code} 不在本行业协议的覆盖范围内"
    return None


def record_enterprise_vote(ctx: FireContext) -> None:
    v = ctx.values
    enterprise_id = ctx.session.scalar(
        select(Enterprise.id).where(Enterprise.credit_code == v["enterprise"].strip().upper())
    )
    outcome = evaluate_vote(
        ctx.rule_set.congress,
        total=v["total"],
        present=v["present"],
        votes_for=v["votes_for"],
        against=v["against"],
        abstain=v["abstain"],
    )
    accepted = bool(v["accepted"])
    agreement = ctx.agreement()
    ctx.session.add(
        CongressVote(
            case_id=ctx.case.id,
            enterprise_id=enterprise_id,
            accepted=accepted,
            held_on=v["held_on"],
            total=v["total"],
            present=v["present"],
            votes_for=v["votes_for"],
            against=v["against"],
            abstain=v["abstain"],
            quorum_met=outcome.quorum_met,
            passed=outcome.passed and accepted,
            reason=outcome.reason if accepted else f"企业未认可（盖章确认）；{outcome.reason}",
            rule_basis=ctx.rule_set.sector_approval_basis,
            text_hash=agreement_text_hash(ctx.session, agreement) if agreement else None,
            created_at=ctx.now,
        )
    )
    ctx.computed["outcome_reason"] = outcome.reason


def all_enterprises_voted(ctx: FireContext) -> str | None:
    covered = _covered(ctx)
    if not covered:
        return "行业协商尚未登记覆盖的企业"
    missing = [name for eid, name in covered.items() if eid not in _latest_votes(ctx)]
    return f"尚未表决的企业：{'、'.join(missing)}" if missing else None


def approval_passes(ctx: FireContext) -> bool:
    votes = _latest_votes(ctx)
    passed = [eid for eid in _covered(ctx) if votes.get(eid) and votes[eid].passed]
    if ctx.rule_set.sector_binds_only_accepting:
        return bool(passed)
    return len(passed) == len(_covered(ctx))


def conclude(ctx: FireContext) -> None:
    """Freeze the approved text and record which enterprises the agreement binds."""
    votes = _latest_votes(ctx)
    bound = []
    for row in ctx.session.scalars(select(CaseCoverage).where(CaseCoverage.case_id == ctx.case.id)):
        vote = votes.get(row.enterprise_id)
        row.bound = bool(vote and vote.passed) if ctx.rule_set.sector_binds_only_accepting else True
        if row.bound:
            bound.append(row.enterprise_id)
    agreement = ctx.agreement()
    if agreement is not None:
        agreement.approved_text_hash = (
            agreement_text_hash(ctx.session, agreement) if ctx.dest == "awaiting_signature" else None
        )
    ctx.computed["bound_enterprises"] = len(bound)
