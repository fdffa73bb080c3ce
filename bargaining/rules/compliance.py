"""Compliance checks (履约检查): checklist templates, scoring, amounts owed, the supervision ladder.

Pure functions and data, no database. Money is ``Decimal`` end to end and every line owed is
rounded half-up to the fen (分) before it is summed, so a total always equals the sum of the
lines printed.

Checklist items cite the law they test and the agreement clause they check. Each item has a
weight; an item may be not applicable (N/A) only under its N/A rule, and N/A items leave both
the numerator and the denominator of the score. A case is compliant (履约) when every applicable
item is compliant.

The supervision ladder follows 《浙江省工会劳动法律监督条例》 (2016) Arts 21–23 (the same ladder:
杭州 Art 43, 山东 Art 49, 浙江省集体合同条例 Art 41): a 工会劳动法律监督意见书; the employer answers
in writing within 15 working days; otherwise a 劳动法律监督建议书 goes to the labour administration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, get_args

from bargaining.errors import ValidationError
from bargaining.rules.minimum_wage import MONTHLY_PAY_DAYS, minimum_wage
from bargaining.rules.periods import Period

FEN = Decimal("0.01")
HOURS_PER_DAY = Decimal(8)

Answer = Literal["compliant", "noncompliant", "na"]
ANSWERS: tuple[Answer, ...] = get_args(Answer)
ANSWER_LABELS = {"compliant": "符合", "noncompliant": "不符合", "na": "不适用"}

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_LABELS = {"low": "轻微", "medium": "一般", "high": "严重"}

# N/A rules: when an item may be answered "not applicable", and how that is decided.
# ``derived``: decided from the agreement's data (the inspector cannot override it);
# ``declared``: the inspectors declare it, with a note, on the checklist form.
NA_RULES: dict[str, tuple[str, Literal["derived", "declared"]]] = {
    "no_piece_rate": ("集体合同未约定计件单价（无计件单价表）", "derived"),
    "in_force_under_one_year": ("集体合同生效未满一年，尚未到向职代会报告履约情况的期限", "derived"),
    "no_overtime": ("检查期间未安排加班（经查阅考勤记录）", "declared"),
}

# What a finding's amount owed is computed from (the wage data entered on the finding).
AmountKind = Literal[
    "none",
    "agreed_wage",
    "minimum_wage",
    "arrears",
    "deduction",
    "overtime",
    "social_insurance",
    "piece_rate",
]
AMOUNT_KINDS: tuple[AmountKind, ...] = get_args(AmountKind)
AMOUNT_LABELS = {
    "none": "不涉及金额",
    "agreed_wage": "未按协议工资标准支付的差额",
    "minimum_wage": "低于最低工资标准的差额",
    "arrears": "拖欠工资",
    "deduction": "超出法定限度的扣除",
    "overtime": "加班工资差额",
    "social_insurance": "社会保险费欠缴",
    "piece_rate": "计件单价差额",
}


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    title: str
    legal_basis: str
    clause: str  # the agreement clause the item checks
    weight: int
    critical: bool = False
    na_rule: str | None = None
    amount_kind: AmountKind = "none"
    default_severity: Severity = "medium"
    guidance: str = ""


@dataclass(frozen=True)
class ChecklistTemplate:
    code: str
    version: int
    title: str
    legal_basis: str
    items: tuple[ChecklistItem, ...]

    def item(self, code: str) -> ChecklistItem:
        for item in self.items:
            if item.code == code:
                return item
        raise ValidationError(f"检查表“{self.title}”第{self.version}版没有检查项 {code}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "version": self.version,
            "title": self.title,
            "legal_basis": self.legal_basis,
            "items": [asdict(item) for item in self.items],
        }

    def sha256(self) -> str:
        text = json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_from_dict(data: Mapping[str, Any]) -> ChecklistTemplate:
    """A template from JSON, checked: unique codes, positive weights, citations present."""
    try:
        raw_items = list(data["items"])
        template = ChecklistTemplate(
            code=str(data["code"]).strip(),
            version=int(data.get("version") or 1),
            title=str(data["title"]).strip(),
            legal_basis=str(data.get("legal_basis") or "").strip(),
            items=tuple(_item(raw) for raw in raw_items),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"检查表格式不正确：{exc}") from None
    if not template.code or not template.title:
        raise ValidationError("检查表须有代码和名称")
    if not template.items:
        raise ValidationError("检查表至少需要一个检查项")
    codes = [i.code for i in template.items]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValidationError(f"检查项代码重复：{'、'.join(duplicates)}")
    return template


def _item(raw: Mapping[str, Any]) -> ChecklistItem:
    item = ChecklistItem(
        code=str(raw["code"]).strip(),
        title=str(raw["title"]).strip(),
        legal_basis=str(raw.get("legal_basis") or "").strip(),
        clause=str(raw.get("clause") or "").strip(),
        weight=int(raw.get("weight", 1)),
        critical=bool(raw.get("critical", False)),
        na_rule=raw.get("na_rule") or None,
        amount_kind=raw.get("amount_kind") or "none",
        default_severity=raw.get("default_severity") or "medium",
        guidance=str(raw.get("guidance") or ""),
    )
    if not item.code or not item.title:
        raise ValidationError("每个检查项须有代码和名称")
    if not item.legal_basis:
        raise ValidationError(f"检查项“{item.title}”须注明法律依据")
    if not item.clause:
        raise ValidationError(f"检查项“{item.title}”须注明所检查的集体合同条款")
    if item.weight < 1:
        raise ValidationError(f"检查项“{item.title}”的权重须为正整数")
    if item.na_rule is not None and item.na_rule not in NA_RULES:
        raise ValidationError(
            f"检查项“{item.title}”的不适用规则“{item.na_rule}”无效，可选：{'、'.join(NA_RULES)}"
        )
    if item.amount_kind not in AMOUNT_KINDS:
        raise ValidationError(f"检查项“{item.title}”的金额类别“{item.amount_kind}”无效")
    if item.default_severity not in SEVERITIES:
        raise ValidationError(f"检查项“{item.title}”的严重程度“{item.default_severity}”无效")
    return item


# The default template: the wage-agreement performance check (工资专项集体合同履约检查), version 1.
WAGE_AGREEMENT_CHECKLIST_V1 = ChecklistTemplate(
    code="wage-agreement",
    version=1,
    title="工资专项集体合同履约情况检查表",
    legal_basis="《劳动合同法》第五十四条至第五十六条；《集体合同规定》；《浙江省工会劳动法律监督条例》第九条",
    items=(
        ChecklistItem(
            "wages_as_agreed",
            "按集体合同约定的工资标准和增长幅度支付工资",
            "《劳动合同法》第五十四条、第五十五条（集体合同对用人单位和劳动者具有约束力；劳动合同报酬不得低于集体合同标准）",
            "工资标准与工资增长条款",
            20,
            critical=True,
            amount_kind="agreed_wage",
            default_severity="high",
            guidance="抽查工资台账与工资清单，核对协商后工资标准是否执行。",
        ),
        ChecklistItem(
            "minimum_wage",
            "支付的工资不低于企业所在地所属档次的最低工资标准（按检查所涉日期）",
            "《最低工资规定》第十二条；《劳动合同法》第五十五条",
            "最低工资条款",
            20,
            critical=True,
            amount_kind="minimum_wage",
            default_severity="high",
            guidance="按企业最低工资档次和工资所属月份适用的标准核对；非全日制用工按小时最低工资标准。",
        ),
        ChecklistItem(
            "no_arrears",
            "无拖欠工资",
            "《工资支付暂行规定》第七条、第十八条；《保障农民工工资支付条例》",
            "工资支付条款",
            15,
            critical=True,
            amount_kind="arrears",
            default_severity="high",
        ),
        ChecklistItem(
            "no_unlawful_deductions",
            "无克扣工资；赔偿扣除每月不超过工资的20%，扣除后不低于最低工资",
            "《工资支付暂行规定》第十五条、第十六条",
            "工资支付条款",
            10,
            amount_kind="deduction",
            default_severity="high",
        ),
        ChecklistItem(
            "overtime_pay",
            "加班工资按不低于150%、200%、300%支付",
            "《劳动法》第四十四条；《工资支付暂行规定》第十三条",
            "加班加点工资条款",
            10,
            na_rule="no_overtime",
            amount_kind="overtime",
            default_severity="high",
        ),
        ChecklistItem(
            "social_insurance",
            "依法参加社会保险并足额缴费",
            "《社会保险法》第五十八条、第六十条；《劳动保障监察条例》第十一条",
            "保险福利条款",
            10,
            amount_kind="social_insurance",
            default_severity="high",
        ),
        ChecklistItem(
            "pay_day",
            "在约定的工资支付日足额支付工资",
            "《工资支付暂行规定》第七条",
            "工资支付日条款",
            5,
            amount_kind="none",
            default_severity="medium",
        ),
        ChecklistItem(
            "piece_rates",
            "按集体合同约定的劳动定额和计件单价计发工资",
            "《劳动法》第三十七条；《最低工资规定》第十二条",
            "劳动定额与计件单价（计件单价表）",
            5,
            na_rule="no_piece_rate",
            amount_kind="piece_rate",
            default_severity="high",
        ),
        ChecklistItem(
            "congress_report",
            "每年至少一次向职工代表大会报告集体合同履行情况",
            "《浙江省集体合同条例》第三十七条；《山东省企业工资集体协商条例》第三十一条；《杭州市企业工资集体协商条例》第四十二条",
            "集体合同履行监督条款",
            5,
            na_rule="in_force_under_one_year",
            amount_kind="none",
            default_severity="low",
        ),
    ),
)

DEFAULT_TEMPLATES = (WAGE_AGREEMENT_CHECKLIST_V1,)


# ---- N/A and scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What the N/A rules read, taken from the enterprise's agreement in force."""

    has_piece_rate: bool
    months_in_force: int | None


def derived_na(item: ChecklistItem, facts: CaseFacts) -> str | None:
    """The reason an item is N/A by the agreement's data, or None when it must be answered."""
    if item.na_rule == "no_piece_rate" and not facts.has_piece_rate:
        return NA_RULES["no_piece_rate"][0]
    if (
        item.na_rule == "in_force_under_one_year"
        and facts.months_in_force is not None
        and facts.months_in_force < 12
    ):
        return NA_RULES["in_force_under_one_year"][0]
    return None


def check_answer(item: ChecklistItem, answer: str, facts: CaseFacts, note: str | None) -> str | None:
    """Why an answer is not acceptable for an item (None when it is)."""
    if answer not in ANSWERS:
        return f"检查项“{item.title}”的结论应为：" + "、".join(f"{a}（{ANSWER_LABELS[a]}）" for a in ANSWERS)
    derived = derived_na(item, facts)
    if derived is not None and answer != "na":
        return f"检查项“{item.title}”不适用：{derived}"
    if answer == "na" and derived is None:
        if item.na_rule is None:
            return f"检查项“{item.title}”必须检查，不能标为不适用"
        rule_text, how = NA_RULES[item.na_rule]
        if how == "derived":
            return f"检查项“{item.title}”只有在“{rule_text}”时才不适用，本企业不符合该条件"
        if not (note or "").strip():
            return f"检查项“{item.title}”标为不适用时，请在说明中写明依据（{rule_text}）"
    if answer == "noncompliant" and not (note or "").strip():
        return f"检查项“{item.title}”不符合时，请填写检查发现"
    return None


@dataclass(frozen=True)
class ScoreResult:
    score: Decimal | None  # 0–100, one decimal; None when nothing applicable is answered
    earned: int
    applicable: int
    complete: bool
    compliant: bool | None  # None until complete
    unanswered: tuple[str, ...]
    noncompliant: tuple[str, ...]
    critical_failed: tuple[str, ...]
    na: tuple[str, ...]


def score(template: ChecklistTemplate, answers: Mapping[str, str], facts: CaseFacts) -> ScoreResult:
    """Weighted score: weight of compliant items ÷ weight of applicable items × 100."""
    earned = applicable = 0
    unanswered: list[str] = []
    noncompliant: list[str] = []
    critical: list[str] = []
    na: list[str] = []
    for item in template.items:
        answer = "na" if derived_na(item, facts) is not None else answers.get(item.code)
        if answer is None:
            unanswered.append(item.code)
            continue
        if answer == "na":
            na.append(item.code)
            continue
        applicable += item.weight
        if answer == "compliant":
            earned += item.weight
        else:
            noncompliant.append(item.code)
            if item.critical:
                critical.append(item.code)
    value = (
        (Decimal(earned) * 100 / Decimal(applicable)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if applicable
        else None
    )
    complete = not unanswered
    return ScoreResult(
        score=value,
        earned=earned,
        applicable=applicable,
        complete=complete,
        compliant=(not noncompliant) if complete else None,
        unanswered=tuple(unanswered),
        noncompliant=tuple(noncompliant),
        critical_failed=tuple(critical),
        na=tuple(na),
    )


def compliance_rate(compliant: int, inspected: int) -> Decimal | None:
    """履约率: compliant cases ÷ inspected cases, in percent with one decimal."""
    if inspected <= 0:
        return None
    return (Decimal(compliant) * 100 / Decimal(inspected)).quantize(Decimal("0.1"), ROUND_HALF_UP)


# ---- amounts owed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwedLine:
    label: str
    workers: int
    quantity: Decimal
    unit: str
    due_rate: Decimal  # what each unit should have paid
    paid_rate: Decimal  # what it paid
    owed: Decimal  # workers × quantity × max(0, due − paid), to the fen
    basis: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "workers": self.workers,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "due_rate": str(self.due_rate),
            "paid_rate": str(self.paid_rate),
            "owed": str(self.owed),
            "basis": self.basis,
        }


@dataclass(frozen=True)
class OwedResult:
    kind: AmountKind
    lines: tuple[OwedLine, ...]
    formula: str

    @property
    def total(self) -> Decimal:
        return sum((line.owed for line in self.lines), Decimal("0.00"))

    @property
    def workers(self) -> int:
        return max((line.workers for line in self.lines), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "formula": self.formula,
            "lines": [line.as_dict() for line in self.lines],
            "total": str(self.total),
        }


# The wage data a finding's amount is computed from: (field, Chinese label) per amount kind.
AMOUNT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "none": (),
    "agreed_wage": (
        ("workers", "人数"),
        ("months", "月数"),
        ("agreed", "协议月工资（元）"),
        ("paid", "实发月工资（元）"),
    ),
    "minimum_wage": (
        ("on", "工资所属日期"),
        ("workers", "人数"),
        ("basis", "口径（monthly 按月 / hourly 按小时）"),
        ("quantity", "月数或工时"),
        ("paid", "实发月工资或小时工资（元）"),
    ),
    "arrears": (
        ("workers", "人数"),
        ("months", "月数"),
        ("due", "应发月工资（元）"),
        ("paid", "实发月工资（元）"),
    ),
    "deduction": (
        ("on", "工资所属日期"),
        ("workers", "人数"),
        ("months", "月数"),
        ("monthly_pay", "当月工资（元）"),
        ("deducted", "每月扣除（元）"),
    ),
    "overtime": (
        ("workers", "人数"),
        ("hours", "加班工时"),
        ("base_hourly", "小时工资基数（元）"),
        ("day", "加班类型（workday 工作日 / rest_day 休息日 / holiday 法定休假日）"),
        ("paid_hourly", "实付加班小时工资（元）"),
    ),
    "social_insurance": (
        ("workers", "人数"),
        ("months", "月数"),
        ("due", "应缴单位缴费（元/人·月）"),
        ("paid", "实缴（元/人·月）"),
    ),
    "piece_rate": (
        ("workers", "人数"),
        ("units", "产量"),
        ("unit", "计量单位（如 斤、件）"),
        ("agreed_rate", "协议计件单价（元）"),
        ("paid_rate", "实付计件单价（元）"),
    ),
}

OVERTIME_MULTIPLIERS = {
    "workday": (Decimal("1.5"), "工作日延长工作时间，不低于工资的150%"),
    "rest_day": (Decimal("2"), "休息日安排工作又不能安排补休，不低于工资的200%"),
    "holiday": (Decimal("3"), "法定休假日安排工作，不低于工资的300%"),
}
DEDUCTION_CAP = Decimal("0.20")


def _dec(raw: Any, label: str, *, positive: bool = False) -> Decimal:
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"“{label}”应为数字：{raw}") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ValidationError(f"“{label}”应为{'正数' if positive else '非负数'}：{raw}")
    return value


def _int(raw: Any, label: str) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"“{label}”应为正整数：{raw}") from None
    if value < 1:
        raise ValidationError(f"“{label}”应为正整数：{raw}")
    return value


def _date(raw: Any, label: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationError(f"“{label}”的日期格式应为 YYYY-MM-DD：{raw}") from None


def _line(
    label: str, workers: int, quantity: Decimal, unit: str, due: Decimal, paid: Decimal, basis: str = ""
) -> OwedLine:
    shortfall = max(Decimal(0), due - paid)
    owed = (Decimal(workers) * quantity * shortfall).quantize(FEN, ROUND_HALF_UP)
    return OwedLine(label, workers, quantity, unit, due, paid, owed, basis)


def amount_owed(
    kind: str, rows: Sequence[Mapping[str, Any]], *, province: str | None = None, tier: int | None = None
) -> OwedResult:
    """The amount owed from the wage data entered on a finding, line by line.

    Row fields by kind (all amounts in yuan):

    - ``agreed_wage``: workers, months, agreed (monthly wage per the agreement), paid
    - ``minimum_wage``: on (a date in the month checked), workers, basis ``monthly`` (quantity =
      months, paid = monthly wage) or ``hourly`` (part-time: quantity = hours, paid = per hour);
      the minimum is the enterprise's tier in force on that date
    - ``arrears``: workers, months, due (per month), paid
    - ``deduction``: on, workers, months, monthly_pay, deducted (per month); the lawful maximum is
      20% of the month's pay and never so much that less than the minimum wage remains
    - ``overtime``: workers, hours, base_hourly, day (workday | rest_day | holiday), paid_hourly
    - ``social_insurance``: workers, months, due (employer contribution per month), paid
    - ``piece_rate``: workers, units, unit (e.g. 斤), agreed_rate, paid_rate
    """
    if kind not in AMOUNT_KINDS:
        raise ValidationError(f"金额类别“{kind}”无效，可选：{'、'.join(AMOUNT_KINDS)}")
    if kind == "none":
        if rows:
            raise ValidationError("此检查项不涉及金额，无须填写工资数据")
        return OwedResult("none", (), "")
    lines: list[OwedLine] = []
    formula = ""
    for n, row in enumerate(rows, 1):
        label = str(row.get("label") or f"第{n}行")
        if kind == "agreed_wage":
            formula = "人数 × 月数 × （协议工资 − 实发工资）"
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("months"), "月数", positive=True),
                    "月",
                    _dec(row.get("agreed"), "协议工资"),
                    _dec(row.get("paid"), "实发工资"),
                    "集体合同约定工资标准",
                )
            )
        elif kind == "minimum_wage":
            if province is None or tier is None:
                raise ValidationError("企业所在地区或最低工资档次未知，无法计算最低工资差额")
            on = _date(row.get("on"), "工资所属日期")
            wage = minimum_wage(province, tier, on)
            basis = str(row.get("basis") or "monthly")
            if basis == "hourly":
                formula = "人数 × 工时 × （小时最低工资 − 实付小时工资）"
                lines.append(
                    _line(
                        label,
                        _int(row.get("workers"), "人数"),
                        _dec(row.get("quantity"), "工时", positive=True),
                        "小时",
                        wage.hourly,
                        _dec(row.get("paid"), "实付小时工资"),
                        wage.describe(),
                    )
                )
            elif basis == "monthly":
                formula = "人数 × 月数 × （月最低工资 − 实发月工资）"
                lines.append(
                    _line(
                        label,
                        _int(row.get("workers"), "人数"),
                        _dec(row.get("quantity"), "月数", positive=True),
                        "月",
                        wage.monthly,
                        _dec(row.get("paid"), "实发月工资"),
                        wage.describe(),
                    )
                )
            else:
                raise ValidationError(f"计算口径应为 monthly（月）或 hourly（小时）：{basis}")
        elif kind == "arrears":
            formula = "人数 × 月数 × （应发工资 − 实发工资）"
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("months"), "月数", positive=True),
                    "月",
                    _dec(row.get("due"), "应发工资"),
                    _dec(row.get("paid"), "实发工资"),
                    "《工资支付暂行规定》第七条",
                )
            )
        elif kind == "deduction":
            if province is None or tier is None:
                raise ValidationError("企业所在地区或最低工资档次未知，无法计算扣除限额")
            on = _date(row.get("on"), "工资所属日期")
            wage = minimum_wage(province, tier, on)
            pay = _dec(row.get("monthly_pay"), "当月工资", positive=True)
            deducted = _dec(row.get("deducted"), "扣除金额")
            lawful = max(
                Decimal(0), min((pay * DEDUCTION_CAP).quantize(FEN, ROUND_HALF_UP), pay - wage.monthly)
            )
            formula = (
                "人数 × 月数 × （实际扣除 − 法定扣除上限）；上限 = min(当月工资×20%, 当月工资 − 月最低工资)"
            )
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("months"), "月数", positive=True),
                    "月",
                    deducted,
                    lawful,
                    f"《工资支付暂行规定》第十六条；{wage.describe()}",
                )
            )
        elif kind == "overtime":
            day = str(row.get("day") or "workday")
            if day not in OVERTIME_MULTIPLIERS:
                raise ValidationError(
                    "加班类型应为 workday（工作日）、rest_day（休息日）或 holiday（法定休假日）"
                )
            multiplier, basis = OVERTIME_MULTIPLIERS[day]
            base = _dec(row.get("base_hourly"), "小时工资基数", positive=True)
            formula = "人数 × 加班工时 × （小时工资基数 × 倍数 − 实付加班小时工资）"
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("hours"), "加班工时", positive=True),
                    "小时",
                    (base * multiplier).quantize(FEN, ROUND_HALF_UP),
                    _dec(row.get("paid_hourly"), "实付加班小时工资"),
                    f"《劳动法》第四十四条：{basis}",
                )
            )
        elif kind == "social_insurance":
            formula = "人数 × 月数 × （应缴单位缴费 − 实缴单位缴费）"
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("months"), "月数", positive=True),
                    "月",
                    _dec(row.get("due"), "应缴费额"),
                    _dec(row.get("paid"), "实缴费额"),
                    "《社会保险法》第六十条",
                )
            )
        else:  # piece_rate
            unit = str(row.get("unit") or "件")
            formula = f"人数 × 产量（{unit}） × （协议计件单价 − 实付计件单价）"
            lines.append(
                _line(
                    label,
                    _int(row.get("workers"), "人数"),
                    _dec(row.get("units"), "产量", positive=True),
                    unit,
                    _dec(row.get("agreed_rate"), "协议计件单价"),
                    _dec(row.get("paid_rate"), "实付计件单价"),
                    "集体合同计件单价表",
                )
            )
    if not lines:
        raise ValidationError(f"请填写计算{AMOUNT_LABELS[kind]}所需的工资数据")
    return OwedResult(kind, tuple(lines), formula)


def hourly_from_monthly(monthly: Decimal) -> Decimal:
    """Hourly wage = monthly ÷ (21.75 × 8), to the fen (劳社部发〔2008〕3号)."""
    return (monthly / (MONTHLY_PAY_DAYS * HOURS_PER_DAY)).quantize(FEN, ROUND_HALF_UP)


# ---- supervision ladder ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderStep:
    kind: str  # the document it produces
    title: str
    basis: str


SUPERVISION_OPINION = LadderStep(
    "supervision_opinion",
    "工会劳动法律监督意见书",
    "《浙江省工会劳动法律监督条例》第二十一条：整改逾期未完成的，由工会向用人单位发出劳动法律监督意见书",
)
EMPLOYER_ANSWER = LadderStep(
    "employer_answer",
    "用人单位书面答复",
    "《浙江省工会劳动法律监督条例》第二十二条：用人单位应当在收到监督意见书之日起15个工作日内书面答复",
)
SUPERVISION_SUGGESTION = LadderStep(
    "supervision_suggestion",
    "工会劳动法律监督建议书",
    "《浙江省工会劳动法律监督条例》第二十三条：用人单位拒不答复、逾期未答复或者不予整改的，工会向人力资源社会保障部门发出劳动法律监督建议书",
)
LADDER = (SUPERVISION_OPINION, EMPLOYER_ANSWER, SUPERVISION_SUGGESTION)
EMPLOYER_ANSWER_PERIOD = Period(15, "working_days")
MIN_INSPECTORS = 2  # 《浙江省工会劳动法律监督条例》第二十条：调查时监督员不得少于二人

__all__ = [
    "AMOUNT_FIELDS",
    "AMOUNT_KINDS",
    "AMOUNT_LABELS",
    "ANSWERS",
    "ANSWER_LABELS",
    "DEFAULT_TEMPLATES",
    "EMPLOYER_ANSWER",
    "EMPLOYER_ANSWER_PERIOD",
    "LADDER",
    "MIN_INSPECTORS",
    "NA_RULES",
    "SEVERITIES",
    "SEVERITY_LABELS",
    "SUPERVISION_OPINION",
    "SUPERVISION_SUGGESTION",
    "WAGE_AGREEMENT_CHECKLIST_V1",
    "Answer",
    "CaseFacts",
    "ChecklistItem",
    "ChecklistTemplate",
    "LadderStep",
    "OwedLine",
    "OwedResult",
    "ScoreResult",
    "amount_owed",
    "check_answer",
    "compliance_rate",
    "derived_na",
    "hourly_from_monthly",
    "score",
    "template_from_dict",
]
