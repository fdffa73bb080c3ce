"""The annual report (年度工资集体协商工作统计) of one region (a federation and its subtree) for one year.

Every figure is one SQL aggregate over the rows the workflow engines write — the append-only event
log (which stages a case went through), the agreement row (the legal dates the events recorded:
signing date, term), the case row (kind, round, region) and, for compliance checks, the audit
module's cases and findings — never a counter kept on the side.
A year is a calendar year of legal dates in China (Asia/Shanghai), e.g. the signing date the
``sign`` action recorded; a region is an org unit and everything below it (materialised path).

Each figure carries its definition in Chinese, and each can be opened: ``cases_behind`` lists the
case numbers it was computed from, with the very same conditions (the aggregate and the drill-down
are generated from one specification, ``FIGURES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    and_,
    exists,
    extract,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    text,
    true,
    union,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import NotFound, ValidationError
from bargaining.models import Agreement, Case, CaseCoverage, Enterprise, Event, OrgUnit, Sector
from bargaining.models.audit import AuditCase, Campaign, Finding
from workflows import audit_engine
from workflows.registry import definition

from .. import runtime
from ..repository import visible_org_units
from ..uow import unit_of_work

# A case counts as signed once it is at "signed" or later: a review objection sends it back to
# negotiation (and a later signing overwrites the date), so earlier states are not agreements.
SIGNED_STATES = ("signed", "disclosed", "under_review", "in_force", "expired")
KIND_LABELS = {
    "enterprise": "企业工资专项集体合同",
    "sector": "行业性工资集体协议",
    "adoption": "履约集体协议",
    "audit": "履约检查",
}
TREND_YEARS = 5
REPORT_WORK_MEM = "256MB"

# Stage flags read from the event log: (column, condition on the event row).
STAGE_FLAGS: tuple[tuple[str, str, str | None], ...] = (
    ("offer", "send_offer", None),
    ("response", "record_response", None),
    ("congress", "record_congress_vote", "awaiting_signature"),  # passed: the vote led to signing
    ("disclosure", "disclose", None),
    ("filing", "file_for_review", None),
    ("review_opinion", "record_review_opinion", None),
)

STAGE_FLAG_NAMES = tuple(name for name, _trigger, _to in STAGE_FLAGS)

Part = Literal["all", "counted", "missing"]
Rows = Select[*tuple[Any, ...]]  # a SELECT of any columns (a population, the details of a page)


# ---- the report's shape -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int | Decimal | None  # None: nothing to compute it from (e.g. a rate over zero cases)
    unit: str
    definition: str
    group: str
    numerator: int | None = None  # rates: the cases counted …
    denominator: int | None = None  # … out of these
    basis: int | None = None  # means and growth: how many agreements the figure is computed from

    @property
    def display(self) -> str:
        return "—" if self.value is None else f"{self.value:,}"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": None
            if self.value is None
            else str(self.value)
            if isinstance(self.value, Decimal)
            else self.value,
            "unit": self.unit,
            "definition": self.definition,
            "group": self.group,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "basis": self.basis,
        }


@dataclass(frozen=True)
class TrendRow:
    """One row of a breakdown (a year, a subordinate region or a sector)."""

    key: str
    label: str
    signed_enterprise: int
    signed_new: int
    signed_renewal: int
    sector_signed: int
    adoption_signed: int
    covered_enterprises: int
    covered_workers: int
    avg_wage_after: Decimal | None
    wage_growth: Decimal | None

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()}


TREND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("signed_enterprise", "企业合同签订数", "件"),
    ("signed_new", "其中新签", "件"),
    ("signed_renewal", "其中续签", "件"),
    ("sector_signed", "行业协议签订数", "件"),
    ("adoption_signed", "履约协议签订数", "件"),
    ("covered_enterprises", "覆盖企业数", "家"),
    ("covered_workers", "覆盖职工数", "人"),
    ("avg_wage_after", "协商后月平均工资", "元/月"),
    ("wage_growth", "月平均工资增长率", "%"),
)


@dataclass(frozen=True)
class AnnualReport:
    region_code: str
    region_name: str
    year: int
    generated_at: datetime
    figures: list[Figure]
    by_year: list[TrendRow] = field(default_factory=list)
    by_region: list[TrendRow] = field(default_factory=list)
    by_sector: list[TrendRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.region_name}{self.year}年度工资集体协商工作统计"

    def figure(self, key: str) -> Figure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(key)

    def groups(self) -> list[tuple[str, list[Figure]]]:
        out: dict[str, list[Figure]] = {}
        for f in self.figures:
            out.setdefault(f.group, []).append(f)
        return list(out.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "region": {"code": self.region_code, "name": self.region_name},
            "year": self.year,
            "generated_at": self.generated_at.isoformat(),
            "figures": [f.to_json() for f in self.figures],
            "by_year": [r.to_json() for r in self.by_year],
            "by_region": [r.to_json() for r in self.by_region],
            "by_sector": [r.to_json() for r in self.by_sector],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class CaseRow:
    number: str
    title: str
    kind: str
    state: str
    state_label: str
    org_unit: str
    enterprise: str | None
    credit_code: str | None
    signed_on: date | None
    term_end: date | None
    counted: bool
    value: Decimal | None = None
    inspected_on: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "kind": self.kind,
            "kind_label": KIND_LABELS.get(self.kind, self.kind),
            "state": self.state,
            "state_label": self.state_label,
            "org_unit": self.org_unit,
            "enterprise": self.enterprise,
            "credit_code": self.credit_code,
            "signed_on": self.signed_on.isoformat() if self.signed_on else None,
            "term_end": self.term_end.isoformat() if self.term_end else None,
            "inspected_on": self.inspected_on.isoformat() if self.inspected_on else None,
            "counted": self.counted,
            "value": None if self.value is None else str(self.value),
        }


@dataclass(frozen=True)
class CasesBehind:
    figure: Figure
    part: Part
    total: int
    limit: int
    offset: int
    items: list[CaseRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure.to_json(),
            "part": self.part,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": [i.to_json() for i in self.items],
        }


# ---- scope: the region and the year ----------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    region_id: int
    region_code: str
    region_name: str
    region_path: str
    year: int

    @property
    def first_day(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, 12, 31)


def resolve_scope(session: Session, actor: Actor, region_code: str | None, year: int) -> Scope:
    """The region (default: the actor's own federation) if the actor may see it, and the year."""
    if not 1990 <= year <= 2100:
        raise ValidationError(f"统计年度应为四位年份：{year}")
    if region_code:
        unit = session.scalar(visible_org_units(actor).where(OrgUnit.code == region_code.strip()))
        if unit is None:
            raise NotFound(f"找不到工会组织 {region_code}，或不在您的管辖范围内。")
    else:
        query = visible_org_units(actor).order_by(func.length(OrgUnit.path), OrgUnit.id).limit(1)
        unit = session.scalar(query)
        if unit is None:
            raise NotFound("没有可统计的工会组织。")
    return Scope(unit.id, unit.code, unit.name, unit.path, year)


def _in_region(scope: Scope) -> ColumnElement[bool]:
    return Case.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(scope.region_path)))


# ---- the populations the figures are computed over -------------------------------------------------


def _agreements_of_region(scope: Scope, *conds: ColumnElement[bool]) -> Rows:
    return (
        select(
            Case.id.label("case_id"),
            Case.kind,
            Case.round,
            Case.enterprise_id,
            Agreement.signed_on,
            Agreement.term_end,
            Agreement.avg_wage_before,
            Agreement.avg_wage_after,
            Agreement.increase_pct,
        )
        .join(Agreement, Agreement.case_id == Case.id)
        .where(_in_region(scope), *conds)
    )


def _signed_in(first: date, last: date) -> tuple[ColumnElement[bool], ...]:
    return (Agreement.signed_on.between(first, last), Case.state.in_(SIGNED_STATES))


def stage_event_condition() -> ColumnElement[bool]:
    """The events that mark a stage: one of the stage triggers, a congress vote only if it passed.

    The same condition as the partial index ``ix_events_stage_case`` (bargaining/models/timeline.py),
    so PostgreSQL answers from that index alone; the values are written into the statement, not
    bound, so that even a prepared statement's generic plan can prove the index's condition.
    """
    plain = sorted({t for _, t, to in STAGE_FLAGS if to is None} | {"open_renewal"})
    passed = [
        and_(Event.trigger == _const(t), Event.to_state == _const(to))
        for _, t, to in STAGE_FLAGS
        if to is not None
    ]
    return or_(Event.trigger.in_([_const(t) for t in plain]), *passed)


def _const(value: str) -> ColumnElement[str]:
    """A constant of the code (a trigger, a state) rendered into the SQL text, never bound."""
    return literal(value, literal_execute=True)


def _stage_flags(population: Rows) -> Any:
    """Per case of ``population``: 1 where the event log holds each stage (no row: none of them).

    Read from the stage events alone (``ix_events_stage_case``: the stage events' (case_id,
    trigger), an index-only scan) restricted to the population by a semi-join, and grouped by the
    event's case. The semi-join is on the population's query, not its CTE: the planner has
    statistics for base tables only (for a CTE it guesses 200 rows and probes the index half a
    million times); with them it hashes a federation's case ids and streams the index past them,
    and for a street probes the index case by case.
    """
    columns = [
        func.max(sql_case((Event.trigger == trigger, 1), else_=0)).label(name)
        for name, trigger, _to in STAGE_FLAGS
    ]
    return (
        select(Event.case_id.label("case_id"), *columns)
        .where(
            stage_event_condition(),
            Event.trigger != _const("open_renewal"),
            Event.case_id.in_(population.with_only_columns(Case.id)),
        )
        .group_by(Event.case_id)
        .subquery("flags")
    )


class _View:
    """One population (``signed``, ``expiring`` or ``audit``), its event flags among its columns
    (NULL: no such event); columns by name."""

    def __init__(self, cte: CTE) -> None:
        self.cte = cte
        self.from_: Any = cte

    def col(self, name: str) -> Any:
        return self.cte.c[name]

    def flag(self, name: str) -> ColumnElement[bool]:
        return func.coalesce(self.cte.c[name], 0) == 1

    def count(self, where: ColumnElement[bool]) -> Any:
        return func.count().filter(where)

    def grouped(self, name: str, keys: tuple[str, ...], flags: tuple[str, ...]) -> _Grouped:
        return _Grouped(self, name, keys, flags)


# The agreement columns the figures average or add up (their conditions only ask whether set).
SUMMED = ("avg_wage_before", "avg_wage_after", "increase_pct")


class _Grouped:
    """A population collapsed to one row per combination of what the figures' conditions read
    (``keys``, ``flags``, whether each of ``SUMMED`` is set) with its number of cases ``n`` and the
    sums of ``SUMMED``: the figures' filtered aggregates then run over a few hundred rows instead of
    half a million. Same results: a condition is true or false for a whole group, counts add up
    ``n`` and a group's sum of a column is NULL exactly when the column is unset in all its rows.
    """

    def __init__(self, view: _View, name: str, keys: tuple[str, ...], flags: tuple[str, ...]) -> None:
        exprs: list[tuple[str, Any]] = [(k, view.col(k)) for k in keys]
        exprs += [(f, func.coalesce(view.col(f), 0)) for f in flags]
        exprs += [(f"{c}__unset", view.col(c).is_(None)) for c in SUMMED if c in view.cte.c]
        sums = [func.sum(view.col(c)).label(c) for c in SUMMED if c in view.cte.c]
        self.sub = (
            select(*(e.label(n) for n, e in exprs), func.count().label("n"), *sums)
            .select_from(view.from_)
            .group_by(*(e for _n, e in exprs))
            .subquery(name)
        )
        self.from_: Any = self.sub

    def col(self, name: str) -> Any:
        return self.sub.c[name]

    def flag(self, name: str) -> ColumnElement[bool]:
        return self.sub.c[name] == 1

    def count(self, where: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(self.sub.c.n).filter(where), 0)


STAGE_TRIGGERS = {name: trigger for name, trigger, _to in STAGE_FLAGS}


class _Stages:
    """The signed population's (case, stage) pairs — each stage event of each agreement, once per
    case and stage — grouped by ``keys`` (what the stage rates' populations read: the kind) and
    ``trigger``, with their number ``n``: a stage rate's numerator is ``n`` summed over the groups
    of its stage.

    For a wide region the pairs come from the whole stage index in (case_id, trigger) order
    (duplicates dropped as it is read) and are joined to the population: no per-case aggregate
    of half a million groups. For a narrow one (``population`` given) they are restricted to the
    population's cases first, so the planner probes the index case by case — it cannot push the
    join into the de-duplicated pairs itself.
    """

    def __init__(self, view: _View, keys: tuple[str, ...], population: Rows | None = None) -> None:
        stage_events = select(Event.case_id, Event.trigger).where(
            stage_event_condition(), Event.trigger != _const("open_renewal")
        )
        if population is not None:
            stage_events = stage_events.where(Event.case_id.in_(population.with_only_columns(Case.id)))
        pairs = stage_events.distinct().subquery("stage_events")
        exprs: list[tuple[str, Any]] = [(k, view.col(k)) for k in keys] + [("trigger", pairs.c.trigger)]
        self.sub = (
            select(*(e.label(n) for n, e in exprs), func.count().label("n"))
            .select_from(view.cte.join(pairs, pairs.c.case_id == view.col("case_id")))
            .group_by(*(e for _n, e in exprs))
            .subquery("signed_stages")
        )
        self.from_: Any = self.sub

    def col(self, name: str) -> Any:
        return self.sub.c[name]

    def flag(self, name: str) -> ColumnElement[bool]:
        return self.sub.c.trigger == _const(STAGE_TRIGGERS[name])

    def count(self, where: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(self.sub.c.n).filter(where), 0)


class _Src:
    """The report's two populations for a scope.

    ``signed``: agreements of the region signed in the year (signing date in the year, case at
    signed or later). ``expiring``: agreements of the region in force whose term ends in the year.
    """

    def __init__(self, scope: Scope, *, with_flags: bool = True, stage_flags: bool = True) -> None:
        signed_in = _signed_in(scope.first_day, scope.last_day)
        expiring_in = (
            Agreement.term_end.between(scope.first_day, scope.last_day),
            Agreement.in_force_on.is_not(None),
        )
        signed = self.signed_query = _agreements_of_region(scope, *signed_in)
        # What the renewal figures and their drill-down read, all in ix_agreements_term_end.
        expiring = _agreements_of_region(scope, *expiring_in).with_only_columns(
            Case.id.label("case_id"), Agreement.signed_on, Agreement.term_end
        )
        if with_flags:
            if stage_flags:
                signed = _with_flags(signed, _stage_flags(signed), STAGE_FLAG_NAMES)
            expiring = expiring.add_columns(_renewed())
        self.views = {
            "signed": _View(signed.cte("signed")),
            "expiring": _View(expiring.cte("expiring")),
            "audit": _View(_audited(scope)),
        }


def _with_flags(population: Rows, flags: Any, names: tuple[str, ...]) -> Rows:
    """The population with its flags as columns, joined inside the population's CTE: the planner
    has no statistics on a CTE's columns and, joining outside it, estimates millions of rows."""
    return population.add_columns(*(flags.c[n] for n in names)).outerjoin(flags, flags.c.case_id == Case.id)


def _renewed() -> Any:
    """1 where the event log records the case's renewal (open_renewal): one probe of the stage
    index per agreement expiring in the year (a few per cent of the agreements)."""
    opened = exists().where(
        Event.case_id == Case.id,
        Event.trigger == _const("open_renewal"),  # implies the stage index's condition
    )
    return sql_case((opened, 1), else_=0).label("renewal")


def _audited(scope: Scope) -> CTE:
    """Compliance checks (履约检查) of the region whose inspection date is in the year."""
    findings = select(Finding.id).where(Finding.audit_case_id == AuditCase.id)
    arrears = findings.where(Finding.amount_kind.in_(ARREARS_KINDS))
    owed = (
        select(func.coalesce(func.sum(Finding.amount_owed), 0))
        .where(Finding.audit_case_id == AuditCase.id)
        .scalar_subquery()
    )
    return (
        select(
            AuditCase.id.label("case_id"),
            AuditCase.state,
            AuditCase.compliant,
            AuditCase.inspected_on,
            sql_case((exists(findings), 1), else_=0).label("has_findings"),
            sql_case((exists(arrears), 1), else_=0).label("has_arrears"),
            owed.label("owed"),
        )
        .where(
            AuditCase.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(scope.region_path))),
            AuditCase.inspected_on.between(scope.first_day, scope.last_day),
            AuditCase.state != "withdrawn",
        )
        .cte("audited")
    )


# ---- the figures -------------------------------------------------------------------------------------

Cond = Callable[[_View], ColumnElement[bool]]


def _kinds(*kinds: str) -> Cond:
    return lambda v: v.col("kind").in_(kinds) if kinds else true()


def _and(*conds: Cond) -> Cond:
    return lambda v: and_(*(c(v) for c in conds))


def _col_is(name: str, value: str) -> Cond:
    return lambda v: v.col(name) == value


def _not_null(*names: str) -> Cond:
    return lambda v: and_(*(v.col(n).is_not(None) for n in names))


def _flag(name: str) -> Cond:
    return lambda v: v.flag(name)


def _everything(_v: _View) -> ColumnElement[bool]:
    return true()


def _covers(v: _View) -> ColumnElement[bool]:
    has_coverage = exists().where(CaseCoverage.case_id == v.col("case_id"))
    return or_(
        and_(v.col("kind") != "sector", v.col("enterprise_id").is_not(None)),
        and_(v.col("kind") == "sector", has_coverage),
    )


def _sector_with_coverage(v: _View) -> ColumnElement[bool]:
    return and_(v.col("kind") == "sector", exists().where(CaseCoverage.case_id == v.col("case_id")))


Measure = Literal["count", "rate", "mean", "growth", "sum", "covered_enterprises", "covered_workers"]


@dataclass(frozen=True)
class FigureSpec:
    key: str
    label: str
    unit: str
    group: str
    measure: Measure
    population: Cond
    definition: str
    source: Literal["signed", "expiring", "audit"] = "signed"
    counted: Cond | None = None  # rates: the numerator within the population
    value: str | None = None  # means: the agreement column averaged
    needs_flags: bool = False
    sector_only: bool = False  # coverage figures of sector agreements only


ENTERPRISE = _kinds("enterprise")
GROUP_SIGNED, GROUP_RENEWAL, GROUP_COVERAGE = "协议签订", "续签", "覆盖面"
GROUP_WAGES, GROUP_STAGES, GROUP_SECTOR = "工资", "程序完成情况", "行业性工资集体协商"
GROUP_AUDIT = "履约检查"
AUDIT_DEF = "检查日期（record_inspection 登记的现场检查日期）在当年的"
ARREARS_KINDS = ("arrears", "deduction")
SIGNED_DEF = (
    "签字日期（sign 操作记录的签字日期，按中国日历日）在当年1月1日至12月31日之间、"
    "且目前处于已签字及以后阶段（已签字、已公示、审查中、生效、期满）的"
)
REGION_DEF = "本区域指所选工会组织及其全部下级组织。"

FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "signed_enterprise",
        "企业工资专项集体合同签订数",
        "件",
        GROUP_SIGNED,
        "count",
        ENTERPRISE,
        f"本区域内{SIGNED_DEF}企业工资专项集体合同件数。行业性协议、履约协议另计。{REGION_DEF}",
    ),
    FigureSpec(
        "signed_new",
        "其中：新签",
        "件",
        GROUP_SIGNED,
        "count",
        _and(ENTERPRISE, _col_is("round", "new")),
        "上述签订数中首次协商（非由续签开启）的件数。",
    ),
    FigureSpec(
        "signed_renewal",
        "其中：续签",
        "件",
        GROUP_SIGNED,
        "count",
        _and(ENTERPRISE, _col_is("round", "renewal")),
        "上述签订数中由上一份合同开启续签（open_renewal 操作）形成的件数。",
    ),
    FigureSpec(
        "renewal_due",
        "当年期满合同数",
        "件",
        GROUP_RENEWAL,
        "count",
        _everything,
        "本区域内已生效（有生效日期）的各类集体合同中，合同期限止日在当年的件数。",
        source="expiring",
    ),
    FigureSpec(
        "renewal_opened",
        "已开启续签数",
        "件",
        GROUP_RENEWAL,
        "count",
        _flag("renewal"),
        "当年期满合同中，截至统计时事件日志已记录开启续签协商（open_renewal）的件数。",
        source="expiring",
        needs_flags=True,
    ),
    FigureSpec(
        "renewal_rate",
        "续签率",
        "%",
        GROUP_RENEWAL,
        "rate",
        _everything,
        "已开启续签数 ÷ 当年期满合同数 × 100%（保留一位小数）。按合同期满年度统计，"
        "期满在次年、当年已进入续签窗口的合同计入次年。",
        source="expiring",
        counted=_flag("renewal"),
        needs_flags=True,
    ),
    FigureSpec(
        "covered_enterprises",
        "覆盖企业数",
        "家",
        GROUP_COVERAGE,
        "covered_enterprises",
        _covers,
        "当年签订的各类协议覆盖的企业数（同一企业只计一次）：企业工资专项集体合同和履约协议为签订企业本身，"
        "行业性协议为其登记的覆盖企业。",
    ),
    FigureSpec(
        "covered_workers",
        "覆盖职工数",
        "人",
        GROUP_COVERAGE,
        "covered_workers",
        _covers,
        "上述覆盖企业按企业登记的职工人数合计（每家企业计一次，取统计时的登记人数）。",
    ),
    FigureSpec(
        "avg_wage_before",
        "协商前月平均工资",
        "元/月",
        GROUP_WAGES,
        "mean",
        _and(ENTERPRISE, _not_null("avg_wage_before")),
        "当年签订的企业工资专项集体合同中，填写了协商前职工月平均工资的合同的算术平均（保留两位小数）。",
        value="avg_wage_before",
    ),
    FigureSpec(
        "avg_wage_after",
        "协商后月平均工资（平均协商工资）",
        "元/月",
        GROUP_WAGES,
        "mean",
        _and(ENTERPRISE, _not_null("avg_wage_after")),
        "当年签订的企业工资专项集体合同中，填写了协商后职工月平均工资的合同的算术平均（保留两位小数）。",
        value="avg_wage_after",
    ),
    FigureSpec(
        "wage_growth",
        "月平均工资增长率",
        "%",
        GROUP_WAGES,
        "growth",
        _and(ENTERPRISE, _not_null("avg_wage_before", "avg_wage_after")),
        "同时填写了协商前、后月平均工资的当年签订企业合同：(协商后合计 ÷ 协商前合计 − 1) × 100%（保留两位小数）。",
    ),
    FigureSpec(
        "avg_increase_pct",
        "平均协商工资增幅",
        "%",
        GROUP_WAGES,
        "mean",
        _and(ENTERPRISE, _not_null("increase_pct")),
        "当年签订的企业工资专项集体合同所定工资增幅（%）的算术平均（保留两位小数）。",
        value="increase_pct",
    ),
    FigureSpec(
        "offer_rate",
        "要约完成率",
        "%",
        GROUP_STAGES,
        "rate",
        _kinds("enterprise", "sector"),
        "当年签订的企业工资专项集体合同和行业性协议中，事件日志有发出要约（send_offer）的比例。"
        "履约协议没有要约环节，不计入。",
        counted=_flag("offer"),
        needs_flags=True,
    ),
    FigureSpec(
        "response_rate",
        "书面回应完成率",
        "%",
        GROUP_STAGES,
        "rate",
        _kinds("enterprise", "sector"),
        "当年签订的企业工资专项集体合同和行业性协议中，事件日志有记录书面回应（record_response）的比例。",
        counted=_flag("response"),
        needs_flags=True,
    ),
    FigureSpec(
        "congress_rate",
        "职代会审议通过率",
        "%",
        GROUP_STAGES,
        "rate",
        _everything,
        "当年签订的各类协议中，事件日志有职代会（或行业职代会）表决通过（record_congress_vote，结果为通过）的比例。",
        counted=_flag("congress"),
        needs_flags=True,
    ),
    FigureSpec(
        "disclosure_rate",
        "公示完成率",
        "%",
        GROUP_STAGES,
        "rate",
        _everything,
        "当年签订的各类协议中，截至统计时事件日志有公示（disclose）的比例。",
        counted=_flag("disclosure"),
        needs_flags=True,
    ),
    FigureSpec(
        "filing_rate",
        "报送审查率",
        "%",
        GROUP_STAGES,
        "rate",
        _everything,
        "当年签订的各类协议中，截至统计时事件日志有报送审查（file_for_review）的比例。",
        counted=_flag("filing"),
        needs_flags=True,
    ),
    FigureSpec(
        "review_opinion_rate",
        "审查意见书完成率",
        "%",
        GROUP_STAGES,
        "rate",
        _everything,
        "当年签订的各类协议中，截至统计时劳动行政部门出具审查意见书（record_review_opinion）的比例；"
        "审查期满视为生效（deem_approved）的不计入。",
        counted=_flag("review_opinion"),
        needs_flags=True,
    ),
    FigureSpec(
        "sector_signed",
        "行业性工资集体协议签订数",
        "件",
        GROUP_SECTOR,
        "count",
        _kinds("sector"),
        f"本区域内{SIGNED_DEF}行业性工资集体协议件数。",
    ),
    FigureSpec(
        "sector_enterprises",
        "行业协议覆盖企业数",
        "家",
        GROUP_SECTOR,
        "covered_enterprises",
        _sector_with_coverage,
        "当年签订的行业性协议登记的覆盖企业数（同一企业只计一次）。",
        sector_only=True,
    ),
    FigureSpec(
        "sector_workers",
        "行业协议覆盖职工数",
        "人",
        GROUP_SECTOR,
        "covered_workers",
        _sector_with_coverage,
        "上述覆盖企业按企业登记的职工人数合计。",
        sector_only=True,
    ),
    FigureSpec(
        "adoption_signed",
        "履约集体协议签订数",
        "件",
        GROUP_SECTOR,
        "count",
        _kinds("adoption"),
        f"企业采纳行业协议的履约集体协议中，{SIGNED_DEF}件数。",
    ),
    FigureSpec(
        "audit_inspected",
        "履约检查企业数",
        "家次",
        GROUP_AUDIT,
        "count",
        _everything,
        f"本区域内工资专项集体合同履约检查（专项抽查）中，{AUDIT_DEF}户次（同一企业在不同批次中各计一次；"
        "因注销、迁出等被替换出样本的不计）。",
        source="audit",
    ),
    FigureSpec(
        "audit_compliant_rate",
        "检查合格率",
        "%",
        GROUP_AUDIT,
        "rate",
        _everything,
        "上述检查中，检查表全部适用项目均为“符合”（record_inspection 记录的检查结论为合格）的比例。",
        source="audit",
        counted=lambda v: v.col("compliant") == true(),
    ),
    FigureSpec(
        "audit_arrears",
        "发现拖欠、克扣工资的企业数",
        "家次",
        GROUP_AUDIT,
        "count",
        lambda v: v.col("has_arrears") == 1,
        "上述检查中，认定了拖欠工资或克扣工资问题（检查发现的金额类别为拖欠、克扣）的户次。",
        source="audit",
    ),
    FigureSpec(
        "audit_amount_owed",
        "查出应补发工资",
        "元",
        GROUP_AUDIT,
        "sum",
        _everything,
        "上述检查认定的各项检查发现应补发（应支付）金额合计（保留两位小数）。",
        source="audit",
        value="owed",
    ),
    FigureSpec(
        "audit_rectified_rate",
        "整改完成率",
        "%",
        GROUP_AUDIT,
        "rate",
        lambda v: v.col("has_findings") == 1,
        "上述检查中认定了问题的，整改事项已全部复查合格（已复查或已结案）的比例。",
        source="audit",
        counted=lambda v: v.col("state").in_(("rechecked", "closed")),
    ),
)
SPECS = {spec.key: spec for spec in FIGURES}


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _coverage(v: _View, name: str, *, sector_only: bool) -> Any:
    """One row: distinct enterprises covered by the year's signed agreements, and their headcount."""
    via_sector = (
        select(CaseCoverage.enterprise_id.label("enterprise_id"))
        .join(v.cte, v.cte.c.case_id == CaseCoverage.case_id)
        .where(v.col("kind") == "sector")
    )
    if sector_only:
        covered = via_sector.distinct().subquery()
    else:
        own = select(v.col("enterprise_id").label("enterprise_id")).where(
            v.col("kind") != "sector", v.col("enterprise_id").is_not(None)
        )
        covered = union(own, via_sector).subquery()
    return (
        select(
            func.count().label(f"{name}_enterprises"),
            func.coalesce(func.sum(Enterprise.headcount), 0).label(f"{name}_workers"),
        )
        .select_from(covered.join(Enterprise, Enterprise.id == covered.c.enterprise_id))
        .subquery(name)
    )


def tune_session(session: Session) -> None:
    """Per-transaction settings for the report's read-only transaction on PostgreSQL.

    ``work_mem``: the hash tables of a large federation's year (half a million agreements) need
    tens of megabytes; with the 4 MB default they spill to disk in batches. ``jit``: compiling
    pays off for long analytical queries, not these (it added ~0.2 s). ``enable_mergejoin``: see
    below.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
        # The planner has no statistics for a CTE's columns; it then prefers sort-merge joins
        # that sort millions of event rows on disk where a hash join streams them.
        session.execute(text("SET LOCAL enable_mergejoin = off"))


WIDE_REGION = 0.25


def _wide(session: Session, scope: Scope) -> bool:
    """Whether the region holds more than ``WIDE_REGION`` of all org units (then reading the whole
    stage index beats probing it case by case)."""
    inside = func.count().filter(OrgUnit.path.startswith(scope.region_path))
    row = session.execute(select(inside, func.count()).select_from(OrgUnit)).one()
    return bool(row[1]) and row[0] > WIDE_REGION * row[1]


def _figures(session: Session, scope: Scope) -> list[Figure]:
    src = _Src(scope, stage_flags=False)
    views: dict[str, _View | _Grouped | _Stages] = {
        "signed": src.views["signed"].grouped("signed_groups", ("kind", "round"), ()),
        "stages": _Stages(
            src.views["signed"], ("kind",), None if _wide(session, scope) else src.signed_query
        ),
        "expiring": src.views["expiring"].grouped("expiring_groups", (), ("renewal",)),
        "audit": src.views["audit"],
    }
    columns: dict[str, list[Any]] = {"signed": [], "stages": [], "expiring": [], "audit": []}
    for spec in FIGURES:
        if spec.measure in ("covered_enterprises", "covered_workers"):
            continue  # _coverage
        v = views[spec.source]
        out = columns[spec.source]
        k = spec.key
        pop = spec.population(v)  # type: ignore[arg-type]  # a _Grouped reads like its _View
        if spec.measure == "count":
            out.append(v.count(pop).label(k))
        elif spec.measure == "rate":
            assert spec.counted is not None
            out.append(v.count(pop).label(f"{k}__d"))
            if spec.source == "signed" and spec.needs_flags:  # a stage: counted from the pairs
                stages = views["stages"]
                counted = and_(spec.population(stages), spec.counted(stages))  # type: ignore[arg-type]
                columns["stages"].append(stages.count(counted).label(f"{k}__n"))
            else:
                out.append(v.count(and_(pop, spec.counted(v))).label(f"{k}__n"))  # type: ignore[arg-type]
        elif spec.measure == "mean":
            assert spec.value is not None
            out.append(v.count(pop).label(f"{k}__n"))
            out.append(func.sum(v.col(spec.value)).filter(pop).label(f"{k}__sum"))
        elif spec.measure == "sum":
            assert spec.value is not None
            out.append(func.coalesce(func.sum(v.col(spec.value)).filter(pop), 0).label(k))
        elif spec.measure == "growth":
            out.append(v.count(pop).label(f"{k}__n"))
            out.append(func.sum(v.col("avg_wage_before")).filter(pop).label(f"{k}__before"))
            out.append(func.sum(v.col("avg_wage_after")).filter(pop).label(f"{k}__after"))
    parts = [
        select(*cols).select_from(views[name].from_).subquery(f"{name}_agg") for name, cols in columns.items()
    ]
    cov_all = _coverage(src.views["signed"], "cov_all", sector_only=False)
    cov_sector = _coverage(src.views["signed"], "cov_sector", sector_only=True)
    joined: FromClause = parts[0]
    for part in (*parts[1:], cov_all, cov_sector):
        joined = joined.join(part, true())
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Every join with a CTE is estimated at millions of rows (no statistics on its columns);
        # grouping those, the planner would sort them where a hash table of a few groups suffices.
        session.execute(text("SET LOCAL enable_sort = off"))
    row = session.execute(select(joined)).one()._mapping
    if postgresql:
        session.execute(text("SET LOCAL enable_sort = on"))
    figures = []
    for spec in FIGURES:
        k = spec.key
        value: int | Decimal | None
        numerator = denominator = basis = None
        if spec.measure == "count":
            value = int(row[k] or 0)
        elif spec.measure == "sum":
            value = _q(_dec(row[k]) or Decimal(0), "0.01")
        elif spec.measure in ("covered_enterprises", "covered_workers"):
            prefix = "cov_sector" if spec.sector_only else "cov_all"
            suffix = "enterprises" if spec.measure == "covered_enterprises" else "workers"
            value = int(row[f"{prefix}_{suffix}"] or 0)
        elif spec.measure == "rate":
            numerator, denominator = int(row[f"{k}__n"]), int(row[f"{k}__d"])
            value = _q(Decimal(numerator) * 100 / Decimal(denominator), "0.1") if denominator else None
        elif spec.measure == "mean":
            basis = int(row[f"{k}__n"])
            total = _dec(row[f"{k}__sum"])
            value = _q(total / basis, "0.01") if basis and total is not None else None
        else:
            basis = int(row[f"{k}__n"])
            before, after = _dec(row[f"{k}__before"]), _dec(row[f"{k}__after"])
            value = _q((after / before - 1) * 100, "0.01") if basis and before and after is not None else None
        figures.append(
            Figure(
                key=k,
                label=spec.label,
                value=value,
                unit=spec.unit,
                definition=spec.definition,
                group=spec.group,
                numerator=numerator,
                denominator=denominator,
                basis=basis,
            )
        )
    return figures


# ---- breakdowns: by year, by subordinate region, by sector ------------------------------------------


def _breakdown(
    session: Session,
    scope: Scope,
    *,
    first: date,
    last: date,
    key: Callable[[], ColumnElement[Any]],
    with_enterprise: bool = False,
) -> dict[Any, dict[str, Any]]:
    """Signed-agreement figures of the region grouped by ``key()`` (an expression over the case,
    its agreement, its org unit and — ``with_enterprise`` — its enterprise).

    The same definitions as the headline figures (signed = signing date in range and at signed
    or later), so the row for the report's year equals the headline figures.
    """
    signed = (
        select(
            Case.id.label("case_id"),
            Case.kind,
            Case.round,
            Case.enterprise_id,
            Agreement.avg_wage_before,
            Agreement.avg_wage_after,
            key().label("k"),
        )
        .join(Agreement, Agreement.case_id == Case.id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(OrgUnit.path.startswith(scope.region_path), *_signed_in(first, last))
    )
    if with_enterprise:
        signed = signed.outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
    s = signed.cte("signed")
    ent = s.c.kind == "enterprise"
    both = and_(ent, s.c.avg_wage_before.is_not(None), s.c.avg_wage_after.is_not(None))
    after = and_(ent, s.c.avg_wage_after.is_not(None))
    rows = session.execute(
        select(
            s.c.k,
            func.count().filter(ent).label("signed_enterprise"),
            func.count().filter(and_(ent, s.c.round == "new")).label("signed_new"),
            func.count().filter(and_(ent, s.c.round == "renewal")).label("signed_renewal"),
            func.count().filter(s.c.kind == "sector").label("sector_signed"),
            func.count().filter(s.c.kind == "adoption").label("adoption_signed"),
            func.count().filter(after).label("n_after"),
            func.sum(s.c.avg_wage_after).filter(after).label("sum_after"),
            func.sum(s.c.avg_wage_before).filter(both).label("g_before"),
            func.sum(s.c.avg_wage_after).filter(both).label("g_after"),
        ).group_by(s.c.k)
    ).all()
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        m = r._mapping
        n_after, sum_after = int(m["n_after"]), _dec(m["sum_after"])
        g_before, g_after = _dec(m["g_before"]), _dec(m["g_after"])
        out[m["k"]] = {
            "signed_enterprise": int(m["signed_enterprise"]),
            "signed_new": int(m["signed_new"]),
            "signed_renewal": int(m["signed_renewal"]),
            "sector_signed": int(m["sector_signed"]),
            "adoption_signed": int(m["adoption_signed"]),
            "avg_wage_after": _q(sum_after / n_after, "0.01") if n_after and sum_after is not None else None,
            "wage_growth": _q((g_after / g_before - 1) * 100, "0.01")
            if g_before and g_after is not None
            else None,
            "covered_enterprises": 0,
            "covered_workers": 0,
        }
    own = select(s.c.k, s.c.enterprise_id).where(s.c.kind != "sector", s.c.enterprise_id.is_not(None))
    via = (
        select(s.c.k, CaseCoverage.enterprise_id)
        .join(CaseCoverage, CaseCoverage.case_id == s.c.case_id)
        .where(s.c.kind == "sector")
    )
    covered = union(own, via).subquery()
    for k, count, workers in session.execute(
        select(covered.c.k, func.count(), func.coalesce(func.sum(Enterprise.headcount), 0))
        .join(Enterprise, Enterprise.id == covered.c.enterprise_id)
        .group_by(covered.c.k)
    ):
        entry = out.get(k)
        if entry is not None:
            entry["covered_enterprises"], entry["covered_workers"] = int(count), int(workers)
    return out


def _empty_row(key: str, label: str) -> TrendRow:
    return TrendRow(key, label, 0, 0, 0, 0, 0, 0, 0, None, None)


def _row(key: str, label: str, data: dict[str, Any] | None) -> TrendRow:
    return TrendRow(key, label, **data) if data else _empty_row(key, label)


def _by_year(session: Session, scope: Scope) -> list[TrendRow]:
    first_year = scope.year - TREND_YEARS + 1
    data = _breakdown(
        session,
        scope,
        first=date(first_year, 1, 1),
        last=scope.last_day,
        key=lambda: extract("year", Agreement.signed_on),
    )
    by_int = {int(k): v for k, v in data.items() if k is not None}
    return [_row(str(y), f"{y}年", by_int.get(y)) for y in range(first_year, scope.year + 1)]


def _by_region(session: Session, scope: Scope) -> list[TrendRow]:
    children = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path)
        .where(OrgUnit.parent_id == scope.region_id)
        .order_by(OrgUnit.code)
    ).all()
    if not children:
        return []
    whens = [(OrgUnit.path.startswith(path), literal(uid)) for uid, _name, path in children]

    def bucket() -> ColumnElement[Any]:
        return sql_case(*whens, else_=literal(scope.region_id))

    data = _breakdown(session, scope, first=scope.first_day, last=scope.last_day, key=bucket)
    rows = [_row(str(scope.region_id), f"{scope.region_name}（本级）", data.get(scope.region_id))]
    rows += [_row(str(uid), name, data.get(uid)) for uid, name, _path in children]
    return rows


def _by_sector(session: Session, scope: Scope) -> list[TrendRow]:
    data = _breakdown(
        session,
        scope,
        first=scope.first_day,
        last=scope.last_day,
        key=lambda: func.coalesce(Case.sector_id, Enterprise.sector_id),
        with_enterprise=True,
    )
    names: dict[Any, str] = {sid: name for sid, name in session.execute(select(Sector.id, Sector.name))}
    rows = [
        _row(str(sid), names.get(sid, str(sid)), d)
        for sid, d in sorted(data.items(), key=lambda kv: (kv[0] is None, names.get(kv[0], "")))
        if sid is not None
    ]
    if None in data:
        rows.append(_row("", "未分行业", data[None]))
    return rows


# ---- the use cases ------------------------------------------------------------------------------------


def annual_report(
    db: Database,
    actor: Actor,
    region_code: str | None,
    year: int,
    *,
    trends: bool = True,
    now: datetime | None = None,
) -> AnnualReport:
    """The annual report of ``region_code`` (default: the actor's federation) for ``year``."""
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        tune_session(s)
        scope = resolve_scope(s, actor, region_code, year)
        figures = _figures(s, scope)
        report = AnnualReport(
            region_code=scope.region_code,
            region_name=scope.region_name,
            year=year,
            generated_at=now,
            figures=figures,
            by_year=_by_year(s, scope) if trends else [],
            by_region=_by_region(s, scope) if trends else [],
            by_sector=_by_sector(s, scope) if trends else [],
        )
    return report


def cases_behind(
    db: Database,
    actor: Actor,
    region_code: str | None,
    year: int,
    figure_key: str,
    limit: int = 50,
    offset: int = 0,
    part: Part = "all",
) -> CasesBehind:
    """The cases a figure was computed from, in case order (oldest first).

    ``part``: ``all`` — the figure's population (for a rate, its denominator; for a mean, the
    agreements averaged); ``counted`` — for a rate, the numerator; ``missing`` — for a rate, the
    cases not counted (e.g. the agreements not disclosed). Each row says whether it is counted.
    The conditions are the figure's own (``FIGURES``), so ``total`` equals the figure's count.
    """
    spec = SPECS.get(figure_key)
    if spec is None:
        raise ValidationError(f"未知的统计指标：{figure_key}。可选：{'、'.join(SPECS)}")
    if part not in ("all", "counted", "missing"):
        raise ValidationError("part 应为 all（全部）、counted（计入）或 missing（未计入）。")
    limit = max(1, min(int(limit), 1000))
    offset = max(0, int(offset))
    with unit_of_work(db, write=False) as uow:
        session = uow.session
        tune_session(session)
        scope = resolve_scope(session, actor, region_code, year)
        v = _Src(scope, with_flags=spec.needs_flags).views[spec.source]
        where = spec.population(v)
        counted: ColumnElement[bool] = spec.counted(v) if spec.counted is not None else true()
        if part == "counted":
            where = and_(where, counted)
        elif part == "missing":
            where = and_(where, not_(counted)) if spec.counted is not None else false()
        behind = (
            select(
                v.col("case_id").label("case_id"),
                sql_case((counted, 1), else_=0).label("counted"),
                (v.col(spec.value) if spec.value else null()).label("value"),
                *(
                    (v.col(name) if name in v.cte.c else null()).label(name)
                    for name in ("signed_on", "term_end", "inspected_on")
                ),
            )
            .select_from(v.from_)
            .where(where)
        )
        total = session.scalar(select(func.count()).select_from(behind.subquery())) or 0
        page = {
            r.case_id: r
            for r in session.execute(behind.order_by(v.col("case_id")).limit(limit).offset(offset))
        }
        details = {r[0]: r for r in session.execute(_details(spec.source == "audit", list(page)))}
        items = []
        for case_id, p in page.items():
            d = details[case_id]
            items.append(
                CaseRow(
                    number=d[1],
                    title=d[2],
                    kind=d[3],
                    state=d[4],
                    state_label=_state_label(spec.source == "audit", d[5], d[6], d[4]),
                    org_unit=d[7],
                    enterprise=d[8],
                    credit_code=d[9],
                    signed_on=p.signed_on,
                    term_end=p.term_end,
                    inspected_on=p.inspected_on,
                    counted=bool(p.counted),
                    value=_dec(p.value),
                )
            )
    return CasesBehind(
        figure=_figure_stub(spec),
        part=part,
        total=total,
        limit=limit,
        offset=offset,
        items=items,
    )


def _state_label(audit: bool, name: str, version: int, state: str) -> str:
    found = audit_engine.definition(name, version) if audit else definition(name, version)
    return found.state_label(state)


def _details(audit: bool, ids: list[int]) -> Rows:
    """(id, number, title, kind, state, definition name, version, org unit, enterprise, credit code)."""
    if audit:
        return (
            select(
                AuditCase.id,
                AuditCase.number,
                Campaign.title,
                literal("audit"),
                AuditCase.state,
                AuditCase.definition_name,
                AuditCase.definition_version,
                OrgUnit.name,
                Enterprise.name,
                Enterprise.credit_code,
            )
            .join(Campaign, Campaign.id == AuditCase.campaign_id)
            .join(OrgUnit, OrgUnit.id == AuditCase.org_unit_id)
            .join(Enterprise, Enterprise.id == AuditCase.enterprise_id)
            .where(AuditCase.id.in_(ids))
        )
    return (
        select(
            Case.id,
            Case.number,
            Case.title,
            Case.kind,
            Case.state,
            Case.definition_name,
            Case.definition_version,
            OrgUnit.name,
            Enterprise.name,
            Enterprise.credit_code,
        )
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
        .where(Case.id.in_(ids))
    )


def _figure_stub(spec: FigureSpec) -> Figure:
    return Figure(spec.key, spec.label, None, spec.unit, spec.definition, spec.group)


def figure_specs() -> list[dict[str, str]]:
    """Every figure with its definition (for documentation and the API)."""
    return [
        {"key": s.key, "label": s.label, "unit": s.unit, "group": s.group, "definition": s.definition}
        for s in FIGURES
    ]
