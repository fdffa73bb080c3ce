"""Sector wage agreement (行业性工资集体协议), version 1.

The same statutory path as an enterprise agreement, between the sector union federation and the
industry association (or elected enterprise representatives), with a sector worker congress
(行业/集群职代会). It may not go to the congress before the enterprises it binds are listed.
"""

from __future__ import annotations

from dataclasses import replace

from .. import guards as g
from .. import sector_approval as sa
from ..fields import Field
from ..spec import Action, Branch, WorkflowDefinition
from .common import (
    DOCUMENTS,
    STAFF,
    STATES,
    congress_and_after,
    negotiation_actions,
    offer_actions,
    today_field,
)

ENTERPRISE_APPROVAL = (
    Action(
        "record_enterprise_approval",
        "记录企业职代会表决（逐企业）",
        ("awaiting_congress",),
        None,
        STAFF,
        fields=(
            Field("enterprise", "企业统一社会信用代码"),
            today_field("held_on", "会议日期"),
            Field("total", "应到代表人数", "int", minimum=1),
            Field("present", "实到代表人数", "int", minimum=0),
            Field("votes_for", "赞成票", "int", minimum=0),
            Field("against", "反对票", "int", minimum=0),
            Field("abstain", "弃权票", "int", minimum=0),
            Field("accepted", "企业认可（盖章确认）", "bool"),
        ),
        guards=(sa.each_enterprise_allowed, sa.enterprise_is_covered, g.agreement_complete),
        effects=(sa.record_enterprise_vote,),
        produces_document="congress_resolution",
        description="行业协议草案由各覆盖企业的职代会表决、企业认可（各地规定不同）",
    ),
    Action(
        "conclude_enterprise_approvals",
        "汇总各企业表决结果",
        ("awaiting_congress",),
        (
            Branch("awaiting_signature", "通过", sa.approval_passes),
            Branch("negotiating", "未通过，重新协商"),
        ),
        STAFF,
        guards=(sa.each_enterprise_allowed, sa.all_enterprises_voted),
        effects=(sa.conclude,),
    ),
)


def _sector_congress_actions() -> tuple[Action, ...]:
    out = []
    for action in congress_and_after(congress_label="行业职代会"):
        if action.trigger == "record_congress_vote":
            action = replace(action, guards=(sa.sector_congress_allowed, *action.guards))
        out.append(action)
    return tuple(out)


SECTOR_V1 = WorkflowDefinition(
    name="sector",
    version=1,
    label="行业性工资集体协议",
    states=tuple(STATES.values()),
    initial="preparation",
    actions=(
        *offer_actions(),
        *negotiation_actions(extra_draft_guards=(g.has_coverage,)),
        *_sector_congress_actions(),
        *ENTERPRISE_APPROVAL,
    ),
    documents=DOCUMENTS,
)
