"""Actions and states shared by the enterprise, sector and adoption definitions.

National default order (集体合同规定 2004): offer → response → negotiation → worker congress →
signing → filing → review (or deemed approval after 15 days) → in force → disclosure. Where a
jurisdiction discloses before filing (``disclosure_timing == "after_signing"``, e.g. Shanghai and
the reference street federation's practice), the signed → disclosed → filed path is used instead;
both paths are in the one definition, chosen by the case's rule set.
"""

from __future__ import annotations

from bargaining.rules.jurisdictions import RuleSet

from .. import effects as fx
from .. import guards as g
from .. import rate_guards as rg
from ..fields import Field
from ..spec import Action, Branch, Guard, Opens, State

STAFF = frozenset({"instructor", "federation_admin"})
REVIEWER = frozenset({"reviewer"})
SYSTEM = frozenset({"system"})

SIDE_CHOICES = (("worker", "职工方"), ("employer", "企业方"))


def _after_signing(rule: RuleSet) -> bool:
    return rule.disclosure_timing == "after_signing"


def _after_in_force(rule: RuleSet) -> bool:
    return rule.disclosure_timing == "after_in_force"


def _cap_from(origin: str) -> object:
    def check(rule: RuleSet) -> bool:
        return rule.negotiation_cap is not None and rule.negotiation_cap_from == origin

    return check


STATES = {
    "preparation": State("preparation", "筹备", description="产生协商代表、收集工资等资料"),
    "offer_sent": State("offer_sent", "已发要约", description="等待对方书面回应"),
    "negotiating": State("negotiating", "协商中", description="召开协商会议，形成草案"),
    "suspended": State("suspended", "协商中止", description="协商中止，相关期限暂停计算"),
    "dispute": State("dispute", "争议协调中", description="劳动行政部门协调处理"),
    "awaiting_congress": State("awaiting_congress", "待职代会审议", description="草案提交职工代表大会审议"),
    "awaiting_signature": State(
        "awaiting_signature", "待签字", description="职代会已通过，待双方首席代表签字"
    ),
    "signed": State("signed", "已签字", description="已签字，待公示或报送审查"),
    "disclosed": State("disclosed", "已公示", description="已向全体职工公示，待报送审查"),
    "under_review": State("under_review", "审查中", description="已报送劳动行政部门审查"),
    "in_force": State("in_force", "生效", description="集体合同生效履行中"),
    "expired": State("expired", "期满", terminal=True, description="合同期限届满"),
    "terminated": State("terminated", "终止", terminal=True, description="协商终止"),
}

DOCUMENTS = {
    "offer_letter": "要约书",
    "response_letter": "回应书",
    "minutes": "协商会议记录",
    "congress_resolution": "职工代表大会决议",
    "signed_agreement": "集体合同文本（签字）",
    "disclosure_notice": "公示通知",
    "filing_form": "集体合同审查申请（报送表）",
    "review_opinion": "审查意见书",
    "coordination_agreement": "协调处理协议书",
}

IN_FORCE_OPENS = (
    Opens("expiry", "term_end", on_expiry="expire", if_dest="in_force"),
    Opens("renewal", "term_end", on_expiry="open_renewal", if_dest="in_force"),
    Opens("disclosure", "in_force_on", if_dest="in_force", if_rule=_after_in_force),
)


def today_field(name: str, label: str) -> Field:
    """A date that defaults to today (China time) when left empty."""
    return Field(name, label, "date", default_today=True)


def offer_actions() -> tuple[Action, ...]:
    return (
        Action(
            "send_offer",
            "发出要约",
            ("preparation",),
            "offer_sent",
            STAFF,
            fields=(
                Field("from_side", "要约方", "choice", choices=SIDE_CHOICES),
                today_field("sent_on", "要约日期"),
                Field("received_on", "对方收到日期", "date", required=False, help="不填则与要约日期相同"),
                Field("subjects", "协商议题", "text"),
                Field("proposed_time", "建议协商时间", required=False),
                Field("place", "建议协商地点", required=False),
            ),
            guards=(g.offering_side_ready, g.not_in_future("sent_on", "要约日期")),
            produces_document="offer_letter",
            opens=(
                Opens("response", "received_on|sent_on"),
                Opens("negotiation_cap", "sent_on", if_rule=_cap_from("offer")),  # type: ignore[arg-type]
            ),
            description="一方以书面形式向另一方提出集体协商要求（集体合同规定第32条）",
        ),
        Action(
            "record_response",
            "记录书面回应",
            ("offer_sent",),
            "negotiating",
            STAFF,
            fields=(
                today_field("responded_on", "回应日期"),
                Field("proposed_time", "商定协商时间", required=False),
                Field("place", "商定协商地点", required=False),
                Field("notes", "回应内容", "text", required=False),
            ),
            guards=(g.representatives_valid, g.not_in_future("responded_on", "回应日期")),
            requires_documents=("offer_letter",),
            produces_document="response_letter",
            closes=("response",),
            opens=(Opens("negotiation_cap", "responded_on", if_rule=_cap_from("response")),),  # type: ignore[arg-type]
        ),
    )


def negotiation_actions(*, extra_draft_guards: tuple[Guard, ...] = ()) -> tuple[Action, ...]:
    return (
        Action(
            "record_round",
            "记录协商会议",
            ("negotiating",),
            None,
            STAFF,
            fields=(
                today_field("held_on", "会议日期"),
                Field("place", "会议地点", required=False),
                Field("chair_side", "主持方", "choice", choices=SIDE_CHOICES),
                Field("recorder", "记录员", required=False),
                Field("attendees", "出席人员", "text", required=False),
                Field("minutes", "会议纪要", "text"),
                Field("outcome", "会议结果", "text", required=False),
            ),
            guards=(g.not_in_future("held_on", "会议日期"),),
            effects=(fx.record_round,),
            produces_document="minutes",
        ),
        Action(
            "suspend",
            "中止协商",
            ("negotiating",),
            "suspended",
            STAFF,
            fields=(Field("expected_resume_on", "预计恢复日期", "date", required=False),),
            reason_required=True,
            pauses=("negotiation_cap",),
            description="协商过程中发生严重分歧等情形时中止，期限暂停计算",
        ),
        Action("resume", "恢复协商", ("suspended",), "negotiating", STAFF, resumes=("negotiation_cap",)),
        Action(
            "apply_coordination",
            "申请协调处理",
            ("offer_sent", "negotiating", "suspended"),
            "dispute",
            STAFF,
            fields=(
                today_field("applied_on", "申请日期"),
                Field("authority", "受理的劳动行政部门"),
                Field("matter", "争议事项", "text"),
            ),
            closes=("response",),
            pauses=("negotiation_cap",),
            opens=(Opens("dispute", "applied_on"),),
            description="协商发生争议或无正当理由拒绝协商时，书面申请劳动行政部门协调处理（第49–54条）",
        ),
        Action(
            "extend_coordination",
            "延长协调期限",
            ("dispute",),
            None,
            STAFF,
            reason_required=True,
            guards=(g.not_extended_yet,),
            effects=(fx.extend_dispute,),
        ),
        Action(
            "conclude_coordination",
            "协调处理结束",
            ("dispute",),
            "negotiating",
            STAFF,
            fields=(
                today_field("concluded_on", "结束日期"),
                Field("result", "协调处理结果", "text"),
            ),
            closes=("dispute",),
            resumes=("negotiation_cap",),
            produces_document="coordination_agreement",
        ),
        Action(
            "submit_draft",
            "提交职代会审议",
            ("negotiating",),
            "awaiting_congress",
            STAFF,
            fields=(today_field("submitted_on", "提交日期"),),
            guards=(g.has_rounds, g.agreement_complete, *extra_draft_guards),
            closes=("negotiation_cap",),
        ),
    )


def congress_and_after(*, congress_label: str = "职代会") -> tuple[Action, ...]:
    return (
        Action(
            "record_congress_vote",
            f"记录{congress_label}表决",
            ("awaiting_congress",),
            (
                Branch("awaiting_signature", "通过", fx.vote_passed),
                Branch("negotiating", "未通过，重新协商"),
            ),
            STAFF,
            fields=(
                today_field("held_on", "会议日期"),
                Field("total", "应到代表人数", "int", minimum=1),
                Field("present", "实到代表人数", "int", minimum=0),
                Field("votes_for", "赞成票", "int", minimum=0),
                Field("against", "反对票", "int", minimum=0),
                Field("abstain", "弃权票", "int", minimum=0),
            ),
            guards=(g.agreement_complete, g.not_in_future("held_on", "会议日期")),
            prepare=fx.evaluate_congress,
            effects=(fx.save_congress_vote,),
            produces_document="congress_resolution",
            description="职代会全体代表三分之二以上出席，全体代表半数以上同意方获通过（第36条；各地规则不同）",
        ),
        Action(
            "reopen_congress",
            "文本修改，重新提交职代会",
            ("awaiting_signature",),
            "awaiting_congress",
            STAFF | SYSTEM,
            reason_required=True,
            effects=(fx.clear_approval,),
        ),
        Action(
            "sign",
            "双方首席代表签字",
            ("awaiting_signature",),
            "signed",
            STAFF,
            fields=(
                today_field("signed_on", "签字日期"),
                Field("worker_signatory", "职工方首席代表", required=False),
                Field("employer_signatory", "企业方首席代表", required=False),
            ),
            guards=(
                g.text_unchanged_since_vote,
                rg.piece_rates_above_floor,
                g.not_in_future("signed_on", "签字日期"),
            ),
            requires_documents=("congress_resolution",),
            effects=(fx.set_agreement_date("signed_on", "signed_on"),),
            produces_document="signed_agreement",
            opens=(
                Opens("filing", "signed_on", if_rule=_after_in_force),
                Opens("disclosure", "signed_on", if_rule=_after_signing),
            ),
        ),
        Action(
            "disclose",
            "公示",
            ("signed", "in_force"),
            (
                Branch("disclosed", "签字后公示", lambda ctx: ctx.case.state == "signed"),
                Branch("in_force", "生效后公布"),
            ),
            STAFF,
            fields=(
                today_field("disclosed_on", "公示日期"),
                Field("method", "公示方式", help="如：厂务公开栏张贴、企业内网"),
                Field("days", "公示天数", "int", required=False, minimum=1),
            ),
            guards=(
                g.disclosure_in_order,
                g.not_disclosed_yet,
                g.text_unchanged_since_vote,
                g.not_in_future("disclosed_on", "公示日期"),
            ),
            effects=(fx.set_agreement_date("disclosed_on", "disclosed_on"),),
            produces_document="disclosure_notice",
            closes=("disclosure",),
            opens=(Opens("filing", "disclosed_on", if_dest="disclosed"),),
            description="向全体职工公布集体合同文本（第48条；公示时点由各地规定）",
        ),
        Action(
            "file_for_review",
            "报送审查",
            ("signed", "disclosed"),
            "under_review",
            STAFF,
            fields=(
                today_field("filed_on", "报送日期"),
                Field("received_on", "审查机关收到日期", "date", required=False, help="不填则与报送日期相同"),
                Field("authority", "审查机关"),
                Field("copies", "报送份数", "int", minimum=1),
            ),
            guards=(
                g.filing_in_order,
                g.filing_copies_enough,
                g.text_unchanged_since_vote,
                g.not_in_future("filed_on", "报送日期"),
            ),
            requires_documents=("signed_agreement", "congress_resolution"),
            effects=(fx.set_agreement_date("filed_on", "filed_on"),),
            produces_document="filing_form",
            closes=("filing",),
            opens=(Opens("review", "received_on|filed_on", on_expiry="deem_approved"),),
        ),
        Action(
            "record_review_opinion",
            "出具审查意见书",
            ("under_review",),
            (
                Branch("in_force", "无异议，生效", lambda ctx: not ctx.values["has_objections"]),
                Branch("negotiating", "有异议，重新协商"),
            ),
            REVIEWER | STAFF,
            fields=(
                today_field("opinion_on", "审查意见日期"),
                Field("has_objections", "是否有异议", "bool"),
                Field("opinion", "审查意见", "text"),
                Field("reviewer_authority", "审查机关", required=False),
            ),
            guards=(g.not_in_future("opinion_on", "审查意见日期"),),
            effects=(fx.enter_in_force,),
            produces_document="review_opinion",
            closes=("review",),
            opens=IN_FORCE_OPENS,
            description="劳动行政部门自收到文本之日起15日内提出审查意见（第42–47条）",
        ),
        Action(
            "deem_approved",
            "审查期满视为生效",
            ("under_review",),
            "in_force",
            SYSTEM,
            effects=(fx.enter_in_force,),
            closes=("review",),
            opens=IN_FORCE_OPENS,
            description="劳动行政部门自收到文本之日起15日内未提出异议的，集体合同即行生效（第47条）",
        ),
        Action(
            "open_renewal",
            "开启续签协商",
            ("in_force", "expired"),
            None,
            STAFF | SYSTEM,
            guards=(g.in_renewal_window, g.no_renewal_open),
            effects=(fx.open_renewal_case,),
            closes=("renewal",),
            description="合同期满前3个月内可提出续签要求（第38条；各地规定不同）",
        ),
        Action(
            "expire",
            "合同期满",
            ("in_force",),
            "expired",
            SYSTEM,
            closes=("expiry", "disclosure"),
        ),
        Action(
            "terminate",
            "终止协商",
            ("preparation", "offer_sent", "negotiating", "suspended", "dispute", "awaiting_congress"),
            "terminated",
            STAFF,
            reason_required=True,
            closes=("*",),
        ),
    )
