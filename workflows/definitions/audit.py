"""The audit case (履约检查) of one sampled enterprise, version 1.

planned → notified → inspected → findings → rectification → rechecked → closed, or closed
straight after the inspection when every applicable item complies; a rectification that runs
through the supervision ladder ends escalated (监督建议书 sent to the labour administration) and
may still be re-checked and closed later.

Guards and effects read an ``AuditFireContext`` (workflows/audit_engine.py); ``_guard`` and
``_effect`` adapt them to the shared spec types, which name the bargaining context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, cast

from bargaining.rules.compliance import ANSWER_LABELS, MIN_INSPECTORS, score

from ..fields import Field
from ..spec import Action, Branch, Effect, Guard, State, WorkflowDefinition

if TYPE_CHECKING:
    from ..audit_engine import AuditFireContext

AuditGuard = Callable[["AuditFireContext"], "str | None"]
AuditEffect = Callable[["AuditFireContext"], None]

PEOPLE = frozenset({"auditor", "federation_admin"})
SYSTEM_OR_PEOPLE = frozenset({"auditor", "federation_admin", "system"})

STATES = (
    State("planned", "已列入抽查", description="抽中企业，检查组已确定，尚未通知企业"),
    State("notified", "已通知企业", description="已向企业发出检查通知书，待现场检查"),
    State("inspected", "已现场检查", description="检查表已填写完毕，待认定问题或结案"),
    State("findings", "已认定问题", description="检查发现已认定并告知企业，待下达整改"),
    State("rectification", "整改中", description="整改事项在期限内进行，逾期按监督程序升级"),
    State("rechecked", "已复查", description="整改事项均已复查合格，待结案"),
    State("closed", "已结案", terminal=True),
    State(
        "withdrawn",
        "已替换出样本",
        terminal=True,
        description="企业注销、迁出等原因无法检查，已由同层下一家企业替换",
    ),
    State("escalated", "已移送劳动行政部门", description="已发出劳动法律监督建议书；整改完成后仍可复查结案"),
)

DOCUMENTS = {
    "inspection_notice": "检查通知书",
    "inspection_record": "现场检查记录",
    "inspection_conclusion": "检查结论书（履约）",
    "findings_notice": "检查问题告知书",
    "rectification_notice": "整改通知书",
    "supervision_opinion": "工会劳动法律监督意见书",
    "employer_answer": "用人单位书面答复",
    "supervision_suggestion": "工会劳动法律监督建议书",
    "recheck_record": "整改复查记录",
    "case_closure": "结案登记表",
}


def _guard(fn: AuditGuard) -> Guard:
    return cast(Guard, fn)


def _effect(fn: AuditEffect) -> Effect:
    return cast(Effect, fn)


# ---- guards ---------------------------------------------------------------------------------------


def checklist_complete(ctx: AuditFireContext) -> str | None:
    result = score(ctx.template(), {c: a.answer for c, a in ctx.answers().items()}, ctx.facts())
    if result.unanswered:
        titles = "、".join(ctx.template().item(code).title for code in result.unanswered[:3])
        more = f"等{len(result.unanswered)}项" if len(result.unanswered) > 3 else ""
        return f"检查表尚未填写完毕：{titles}{more}"
    return None


def enough_inspectors(ctx: AuditFireContext) -> str | None:
    from ..audit_engine import recusal_reason

    drawn = ctx.inspector_ids()
    count = sum(1 for user_id in drawn if recusal_reason(ctx.session, user_id, ctx.case) is None)
    if count < MIN_INSPECTORS:
        recused = "（回避后）" if count < len(drawn) else ""
        return (
            f"检查组{recused}只有{count}人，检查须由至少{MIN_INSPECTORS}名监督员共同进行"
            "（《浙江省工会劳动法律监督条例》第二十条）"
        )
    return None


def actor_is_inspector(ctx: AuditFireContext) -> str | None:
    from ..audit_engine import recusal_reason

    if ctx.actor.is_system:
        return None
    recused = recusal_reason(ctx.session, ctx.actor.user_id, ctx.case)
    if recused:
        return recused
    if "federation_admin" not in ctx.actor.roles and ctx.actor.user_id not in ctx.inspector_ids():
        return "只有抽中的检查组成员才能登记现场检查"
    return None


def not_in_future(name: str, label: str) -> AuditGuard:
    def guard(ctx: AuditFireContext) -> str | None:
        value = ctx.values.get(name)
        if isinstance(value, date) and value > ctx.today:
            return f"{label}（{value.isoformat()}）不能晚于今天（{ctx.today.isoformat()}）"
        return None

    return guard


def _noncompliant(ctx: AuditFireContext) -> list[str]:
    return [code for code, a in ctx.answers().items() if a.answer == "noncompliant"]


def all_compliant(ctx: AuditFireContext) -> str | None:
    bad = _noncompliant(ctx)
    if bad:
        titles = "、".join(ctx.template().item(code).title for code in bad)
        return f"有不符合项（{titles}），须认定问题并下达整改"
    return None


def findings_cover_noncompliance(ctx: AuditFireContext) -> str | None:
    bad = _noncompliant(ctx)
    if not bad:
        return f"检查表没有“{ANSWER_LABELS['noncompliant']}”的检查项，可直接结案"
    covered = {f.item_code for f in ctx.findings()}
    missing = [code for code in bad if code not in covered]
    if missing:
        titles = "、".join(ctx.template().item(code).title for code in missing)
        return f"以下不符合项尚未登记检查发现：{titles}"
    return None


def every_finding_has_rectification(ctx: AuditFireContext) -> str | None:
    with_items = {r.finding_id for r in ctx.rectifications()}
    missing = [f for f in ctx.findings() if f.id not in with_items]
    if missing:
        return f"还有{len(missing)}项检查发现没有整改事项（责任人、期限、须提交的证据）"
    return None


def all_rectifications_verified(ctx: AuditFireContext) -> str | None:
    items = ctx.rectifications()
    if not items:
        return "没有整改事项"
    open_items = [r for r in items if r.status != "verified"]
    if open_items:
        return f"还有{len(open_items)}项整改尚未复查合格"
    return None


# ---- effects --------------------------------------------------------------------------------------


def save_score(ctx: AuditFireContext) -> None:
    result = score(ctx.template(), {c: a.answer for c, a in ctx.answers().items()}, ctx.facts())
    ctx.case.score = result.score
    ctx.case.compliant = result.compliant
    inspected_on = ctx.values.get("inspected_on")
    ctx.case.inspected_on = inspected_on if isinstance(inspected_on, date) else ctx.today
    ctx.computed["score"] = str(result.score) if result.score is not None else ""
    ctx.computed["compliant"] = bool(result.compliant)


def open_rectification_deadlines(ctx: AuditFireContext) -> None:
    from ..audit_engine import open_rectification_deadline

    for item in ctx.rectifications():
        open_rectification_deadline(ctx.session, ctx.case, item, now=ctx.now, calendar=ctx.calendar)


def close_case_deadlines(ctx: AuditFireContext) -> None:
    from ..audit_engine import close_deadlines

    close_deadlines(ctx.session, ctx.case.id, now=ctx.now)


# ---- the definition -------------------------------------------------------------------------------


def _date_field(name: str, label: str) -> Field:
    return Field(name, label, "date", default_today=True)


AUDIT_V1 = WorkflowDefinition(
    name="audit",
    version=1,
    label="工资专项集体合同履约检查",
    states=STATES,
    initial="planned",
    documents=DOCUMENTS,
    actions=(
        Action(
            "notify",
            "通知企业",
            ("planned",),
            "notified",
            PEOPLE,
            fields=(
                _date_field("notified_on", "通知日期"),
                Field(
                    "method",
                    "通知方式",
                    "choice",
                    choices=(
                        ("written", "书面送达"),
                        ("onsite", "现场告知"),
                        ("unannounced", "不预先通知（突击检查）"),
                    ),
                ),
            ),
            guards=(_guard(not_in_future("notified_on", "通知日期")),),
            produces_document="inspection_notice",
            description="向企业送达检查通知书，告知检查事项、依据和须备查的工资台账、考勤记录等资料。",
        ),
        Action(
            "record_inspection",
            "登记现场检查",
            ("notified",),
            "inspected",
            PEOPLE,
            fields=(
                _date_field("inspected_on", "检查日期"),
                Field("participants", "企业方参加人员", "str", required=False),
            ),
            guards=(
                _guard(checklist_complete),
                _guard(enough_inspectors),
                _guard(actor_is_inspector),
                _guard(not_in_future("inspected_on", "检查日期")),
            ),
            effects=(_effect(save_score),),
            produces_document="inspection_record",
            description="检查表全部填写后登记，系统按权重计算得分。",
        ),
        Action(
            "close_compliant",
            "履约结案",
            ("inspected",),
            "closed",
            PEOPLE,
            guards=(_guard(all_compliant),),
            produces_document="inspection_conclusion",
            description="所有适用检查项均符合时，出具检查结论书并结案。",
        ),
        Action(
            "confirm_findings",
            "认定检查问题",
            ("inspected",),
            "findings",
            PEOPLE,
            guards=(_guard(findings_cover_noncompliance),),
            produces_document="findings_notice",
            description="每个不符合项都须登记检查发现（严重程度、涉及人数、应补发金额）。",
        ),
        Action(
            "order_rectification",
            "下达整改",
            ("findings",),
            "rectification",
            PEOPLE,
            guards=(_guard(every_finding_has_rectification),),
            effects=(_effect(open_rectification_deadlines),),
            produces_document="rectification_notice",
            description="每项检查发现须有整改事项：责任人、整改期限、须提交的证据；逾期未整改的按监督程序升级。",
        ),
        Action(
            "escalate",
            "移送劳动行政部门",
            ("rectification",),
            "escalated",
            SYSTEM_OR_PEOPLE,
            reason_required=True,
            description="用人单位拒不整改或逾期未答复的，向人力资源社会保障部门发出劳动法律监督建议书。",
        ),
        Action(
            "recheck",
            "整改复查",
            ("rectification", "escalated"),
            (Branch("rechecked", "复查合格"),),
            PEOPLE,
            fields=(_date_field("rechecked_on", "复查日期"),),
            guards=(_guard(all_rectifications_verified), _guard(not_in_future("rechecked_on", "复查日期"))),
            effects=(_effect(close_case_deadlines),),
            produces_document="recheck_record",
            description="所有整改事项均逐项复查合格后登记。",
        ),
        Action(
            "withdraw",
            "替换出样本",
            ("planned",),
            "withdrawn",
            PEOPLE,
            reason_required=True,
            description="企业已注销、迁出等无法检查时，由抽样替换程序触发，同层按密钥顺序递补下一家企业。",
        ),
        Action(
            "close",
            "结案",
            ("rechecked",),
            "closed",
            PEOPLE,
            produces_document="case_closure",
        ),
    ),
)

AUDIT_DEFINITIONS = (AUDIT_V1,)

__all__ = ["AUDIT_DEFINITIONS", "AUDIT_V1", "DOCUMENTS", "STATES"]
