"""Enterprise wage agreement (工资专项集体合同), version 1."""

from __future__ import annotations

from ..spec import WorkflowDefinition
from .common import DOCUMENTS, STATES, congress_and_after, negotiation_actions, offer_actions

ENTERPRISE_V1 = WorkflowDefinition(
    name="enterprise",
    version=1,
    label="企业工资专项集体合同",
    states=tuple(STATES.values()),
    initial="preparation",
    actions=(*offer_actions(), *negotiation_actions(), *congress_and_after()),
    documents=DOCUMENTS,
)
