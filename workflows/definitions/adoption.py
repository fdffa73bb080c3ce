"""An enterprise's adoption of a sector agreement (履约集体协议), version 1.

No offer or negotiation of its own: once the sector agreement is in force, the enterprise's
congress adopts it (possibly with higher standards), both sides sign, and it is filed and
reviewed like any collective agreement.
"""

from __future__ import annotations

from dataclasses import replace

from .. import guards as g
from ..spec import Action, WorkflowDefinition
from .common import DOCUMENTS, STAFF, STATES, congress_and_after

_ADOPTION_STATES = (
    "preparation",
    "awaiting_congress",
    "awaiting_signature",
    "signed",
    "disclosed",
    "under_review",
    "in_force",
    "expired",
    "terminated",
)


def _adoption_actions() -> tuple[Action, ...]:
    submit = Action(
        "submit_draft",
        "提交本企业职代会审议",
        ("preparation",),
        "awaiting_congress",
        STAFF,
        guards=(
            g.parent_in_force,
            g.representatives_valid,
            g.agreement_complete,
            g.adoption_not_below_sector,
        ),
    )
    rest = []
    for action in congress_and_after():
        if action.trigger == "record_congress_vote":
            # A failed vote sends an adoption back to preparation (there is no negotiation state).
            branches = tuple(
                replace(b, dest="preparation", label="未通过，重新准备") if b.dest == "negotiating" else b
                for b in action.branches
            )
            action = replace(action, dest=branches)
        if action.trigger == "record_review_opinion":
            branches = tuple(
                replace(b, dest="preparation", label="有异议，修改后重新审议")
                if b.dest == "negotiating"
                else b
                for b in action.branches
            )
            action = replace(action, dest=branches)
        if action.trigger == "sign":
            action = replace(action, guards=(*action.guards, g.adoption_not_below_sector))
        if action.trigger == "terminate":
            action = replace(action, sources=("preparation", "awaiting_congress"))
        rest.append(action)
    return (submit, *rest)


ADOPTION_V1 = WorkflowDefinition(
    name="adoption",
    version=1,
    label="企业履约集体协议（采纳行业协议）",
    states=tuple(STATES[name] for name in _ADOPTION_STATES),
    initial="preparation",
    actions=_adoption_actions(),
    documents=DOCUMENTS,
)
