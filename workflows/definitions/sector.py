"""Sector wage agreement (行业性工资集体协议), version 1.

The same statutory path as an enterprise agreement, between the sector union federation and the
industry association (or elected enterprise representatives), with a sector worker congress
(行业/集群职代会). It may not go to the congress before the enterprises it binds are listed.
"""

from __future__ import annotations

from .. import guards as g
from ..spec import WorkflowDefinition
from .common import DOCUMENTS, STATES, congress_and_after, negotiation_actions, offer_actions

SECTOR_V1 = WorkflowDefinition(
    name="sector",
    version=1,
    label="行业性工资集体协议",
    states=tuple(STATES.values()),
    initial="preparation",
    actions=(
        *offer_actions(),
        *negotiation_actions(extra_draft_guards=(g.has_coverage,)),
        *congress_and_after(congress_label="行业职代会"),
    ),
    documents=DOCUMENTS,
)
