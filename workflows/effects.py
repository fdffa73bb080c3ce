"""Effects: domain rows an action writes in the same transaction as its state change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import bindparam, func, insert, select

from bargaining.agreement_text import agreement_text_hash
from bargaining.models import Agreement, CongressVote, NegotiationRound, table_of
from bargaining.rules.congress import evaluate_vote

from .context import FireContext
from .deadlines import extend_deadline


def evaluate_congress(ctx: FireContext) -> None:
    """prepare step of the vote: the outcome decides the branch."""
    v = ctx.values
    ctx.computed["vote"] = evaluate_vote(
        ctx.rule_set.congress,
        total=v["total"],
        present=v["present"],
        votes_for=v["votes_for"],
        against=v["against"],
        abstain=v["abstain"],
    )


def vote_passed(ctx: FireContext) -> bool:
    return bool(ctx.computed["vote"].passed)


def save_congress_vote(ctx: FireContext) -> None:
    outcome = ctx.computed["vote"]
    agreement = ctx.agreement()
    text_hash = agreement_text_hash(ctx.session, agreement) if agreement else None
    ctx.session.add(
        CongressVote(
            case_id=ctx.case.id,
            held_on=ctx.values["held_on"],
            total=ctx.values["total"],
            present=ctx.values["present"],
            votes_for=ctx.values["votes_for"],
            against=ctx.values["against"],
            abstain=ctx.values["abstain"],
            quorum_met=outcome.quorum_met,
            passed=outcome.passed,
            reason=outcome.reason,
            rule_basis=ctx.rule_set.congress.basis,
            text_hash=text_hash,
            created_at=ctx.now,
        )
    )
    ctx.computed["outcome_reason"] = outcome.reason
    if agreement is not None:
        # Freeze the approved text; a failed vote clears any earlier approval.
        agreement.approved_text_hash = text_hash if outcome.passed else None


def set_agreement_date(attribute: str, field_name: str | None = None) -> Callable[[FireContext], None]:
    def effect(ctx: FireContext) -> None:
        agreement = ctx.agreement()
        if agreement is None:
            return
        value = ctx.values.get(field_name) if field_name else None
        setattr(agreement, attribute, value if isinstance(value, date) else ctx.today)

    effect.__name__ = f"set_{attribute}"
    return effect


def enter_in_force(ctx: FireContext) -> None:
    if ctx.dest != "in_force":
        return
    agreement = ctx.agreement()
    if agreement is not None and agreement.in_force_on is None:
        value = ctx.values.get("opinion_on")
        agreement.in_force_on = value if isinstance(value, date) else ctx.today


def clear_approval(ctx: FireContext) -> None:
    agreement = ctx.agreement()
    if agreement is not None:
        agreement.approved_text_hash = None


# Built once: building it cost more than running it. The round's number is the case's last plus
# one, counted by the INSERT itself (the case row is locked for the action: no two rounds race).
_ROUNDS = table_of(NegotiationRound)
_INSERT_ROUND = (
    insert(_ROUNDS)
    .values(
        number=select(func.coalesce(func.max(_ROUNDS.c.number), 0) + 1)
        .where(_ROUNDS.c.case_id == bindparam("round_case_id"))
        .scalar_subquery()
    )
    .returning(_ROUNDS.c.number)
)


def record_round(ctx: FireContext) -> None:
    v = ctx.values
    # An append-only row nothing else in the action links to: one prebuilt INSERT, not the ORM's
    # flush (and no autoflush: flushing the case here would split the action's writes).
    number = (
        ctx.session.connection()
        .execute(
            _INSERT_ROUND,
            {
                "round_case_id": ctx.case.id,
                "case_id": ctx.case.id,
                "held_on": v["held_on"],
                "place": v.get("place"),
                "chair_side": v["chair_side"],
                "recorder": v.get("recorder"),
                "attendees": v.get("attendees"),
                "minutes": v["minutes"],
                "outcome": v.get("outcome"),
                "created_at": ctx.now,
            },
        )
        .scalar_one()
    )
    ctx.computed["round_number"] = number


def extend_dispute(ctx: FireContext) -> None:
    extend_deadline(ctx, "dispute", ctx.rule_set.dispute_extension.period)


def open_renewal_case(ctx: FireContext) -> None:
    from .cases import start_case

    case = ctx.case
    renewal = start_case(
        ctx.session,
        actor=ctx.actor,
        kind=case.kind,
        title=case.title,
        org_unit_id=case.org_unit_id,
        jurisdiction=case.jurisdiction,
        enterprise_id=case.enterprise_id,
        sector_id=case.sector_id,
        parent_id=case.parent_id,
        instructor_id=case.instructor_id,
        previous_case_id=case.id,
        round="renewal",
        now=ctx.now,
        request_id=ctx.request_id,
    )
    ctx.computed["renewal_case"] = renewal.number


def ensure_agreement(ctx: FireContext) -> Agreement:
    agreement = ctx.agreement()
    if agreement is None:
        agreement = Agreement(case_id=ctx.case.id, title=ctx.case.title, clauses=[])
        ctx.session.add(agreement)
        ctx._cache["agreement"] = agreement
    return agreement
