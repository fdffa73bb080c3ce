"""Guards: each returns None when satisfied, otherwise the reason in Chinese (shown on the button)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

from bargaining.agreement_text import agreement_text_hash
from bargaining.models import Case, CaseCoverage
from bargaining.rules.representatives import RepresentativeSpec, check_representatives

from .context import FireContext

SIDE_LABELS = {"worker": "职工方", "employer": "企业方"}


def _specs(ctx: FireContext) -> list[RepresentativeSpec]:
    return [
        RepresentativeSpec(
            side=r.side,  # type: ignore[arg-type]
            person_key=r.person_key,
            name=r.name,
            chief=r.chief,
            outsider=r.outsider,
            front_line=r.front_line,
        )
        for r in ctx.representatives()
    ]


def _headcount(ctx: FireContext) -> int | None:
    if ctx.case.enterprise_id is None:
        return None
    from bargaining.models import Enterprise

    return ctx.session.scalar(select(Enterprise.headcount).where(Enterprise.id == ctx.case.enterprise_id))


def representatives_valid(ctx: FireContext) -> str | None:
    """Both sides' representatives meet the rule set (count, parity, chiefs, outsiders…)."""
    problems = check_representatives(ctx.rule_set.representatives, _specs(ctx), _headcount(ctx))
    return "；".join(problems) if problems else None


def offering_side_ready(ctx: FireContext) -> str | None:
    """The side making the offer has named its representatives and its chief (要约书 lists them)."""
    side = ctx.values.get("from_side") or "worker"
    reps = [r for r in ctx.representatives() if r.side == side]
    minimum = ctx.rule_set.representatives.min_per_side
    problems = []
    if len(reps) < minimum:
        problems.append(f"{SIDE_LABELS[side]}协商代表{len(reps)}人，至少需要{minimum}人")
    if sum(1 for r in reps if r.chief) != 1:
        problems.append(f"{SIDE_LABELS[side]}须确定一名首席代表")
    return "；".join(problems) if problems else None


def has_rounds(ctx: FireContext) -> str | None:
    return None if ctx.rounds() else "尚未记录任何协商会议，请先记录协商会议及纪要"


def agreement_complete(ctx: FireContext) -> str | None:
    agreement = ctx.agreement()
    if agreement is None:
        return "尚未起草协议文本（合同期限、工资条款）"
    problems = []
    if agreement.term_start is None or agreement.term_end is None:
        problems.append("未填写合同期限")
    elif not _term_ok(agreement.term_start, agreement.term_end):
        problems.append("合同期限应为1至3年")
    if agreement.avg_wage_after is None and not agreement.clauses:
        problems.append("未填写工资条款（协商后平均工资或条款内容）")
    return "；".join(problems) if problems else None


def _term_ok(start: date, end: date) -> bool:
    # 1–3 years (集体合同规定 Art 38); a year counted as 365/366 days, end day included.
    days = (end - start).days + 1
    return 365 <= days <= 3 * 366 and end > start


def text_unchanged_since_vote(ctx: FireContext) -> str | None:
    agreement = ctx.agreement()
    if agreement is None or agreement.approved_text_hash is None:
        return "职代会尚未通过协议草案"
    if agreement_text_hash(ctx.session, agreement) != agreement.approved_text_hash:
        return "职代会通过后协议文本已被修改，须重新提交职代会审议"
    return None


def not_disclosed_yet(ctx: FireContext) -> str | None:
    agreement = ctx.agreement()
    if agreement is not None and agreement.disclosed_on is not None:
        return f"已于{agreement.disclosed_on.isoformat()}公示"
    return None


def filing_copies_enough(ctx: FireContext) -> str | None:
    copies = ctx.values.get("copies")
    need = ctx.rule_set.filing_copies
    if copies is not None and copies < need:
        return f"报送份数不足：本地规定须报送{need}份，填写的是{copies}份"
    return None


def in_renewal_window(ctx: FireContext) -> str | None:
    agreement = ctx.agreement()
    if agreement is None or agreement.term_end is None:
        return "协议没有合同期限"
    from bargaining.rules.periods import window_opens

    opens = window_opens(agreement.term_end, ctx.rule_set.renewal_window.period, ctx.calendar)
    if ctx.today < opens:
        return f"续签窗口自{opens.isoformat()}起开启（{ctx.rule_set.renewal_window.basis}）"
    return None


def no_renewal_open(ctx: FireContext) -> str | None:
    existing = ctx.session.scalar(select(Case.number).where(Case.previous_case_id == ctx.case.id))
    return f"已开启续签协商 {existing}" if existing else None


def not_extended_yet(ctx: FireContext) -> str | None:
    from sqlalchemy import and_

    from bargaining.models import Event

    extended = ctx.session.scalar(
        select(func.count())
        .select_from(Event)
        .where(and_(Event.case_id == ctx.case.id, Event.trigger == "extend_coordination"))
    )
    return "协调处理期限只能延长一次" if extended else None


def has_coverage(ctx: FireContext) -> str | None:
    count = ctx.session.scalar(
        select(func.count()).select_from(CaseCoverage).where(CaseCoverage.case_id == ctx.case.id)
    )
    return None if count else "行业协商尚未登记覆盖的企业"


def parent_in_force(ctx: FireContext) -> str | None:
    if ctx.case.parent_id is None:
        return "履约协议须关联行业集体合同"
    state = ctx.session.scalar(select(Case.state).where(Case.id == ctx.case.parent_id))
    return None if state == "in_force" else "行业集体合同尚未生效"


def reason_given(ctx: FireContext) -> str | None:
    return None if (ctx.reason or "").strip() else "请填写原因"


def field_after(
    later: str, earlier_anchor: Callable[[FireContext], date | None], what: str
) -> Callable[[FireContext], str | None]:
    """A date in the input may not precede an earlier step's date (e.g. signing before the vote)."""

    def guard(ctx: FireContext) -> str | None:
        value = ctx.values.get(later)
        before = earlier_anchor(ctx)
        if isinstance(value, date) and before is not None and value < before:
            return f"日期{value.isoformat()}早于{what}（{before.isoformat()}）"
        return None

    return guard


def not_in_future(name: str, label: str) -> Callable[[FireContext], str | None]:
    def guard(ctx: FireContext) -> str | None:
        value = ctx.values.get(name)
        if isinstance(value, date) and value > ctx.today:
            return f"{label}（{value.isoformat()}）不能晚于今天（{ctx.today.isoformat()}）"
        return None

    return guard


def disclosure_in_order(ctx: FireContext) -> str | None:
    """Disclosure comes where the jurisdiction puts it: after signing, or once in force."""
    timing = ctx.rule_set.disclosure_timing
    if ctx.case.state == "signed" and timing != "after_signing":
        return f"按{ctx.rule_set.name}，集体合同生效后再向全体职工公布"
    if ctx.case.state == "in_force" and timing != "after_in_force":
        return f"按{ctx.rule_set.name}，公示应在签字后、报送审查前进行"
    return None


def filing_in_order(ctx: FireContext) -> str | None:
    if ctx.case.state == "signed" and ctx.rule_set.disclosure_timing == "after_signing":
        return f"按{ctx.rule_set.name}，须先向全体职工公示，再报送审查"
    return None


def adoption_not_below_sector(ctx: FireContext) -> str | None:
    """An adoption may raise the sector agreement's standards, never lower them (names each lower term)."""
    from decimal import Decimal, InvalidOperation

    from bargaining.models import Agreement, RateTable

    if ctx.case.parent_id is None:
        return None
    own = ctx.agreement()
    sector = ctx.session.scalar(select(Agreement).where(Agreement.case_id == ctx.case.parent_id))
    if own is None or sector is None:
        return None
    problems = []
    if sector.increase_pct is not None and (
        own.increase_pct is None or own.increase_pct < sector.increase_pct
    ):
        cent = Decimal("0.01")
        mine = "未约定" if own.increase_pct is None else f"{own.increase_pct.quantize(cent)}%"
        problems.append(f"工资增幅{mine}低于行业协议的{sector.increase_pct.quantize(cent)}%")

    def num(text: object) -> Decimal | None:
        try:
            return Decimal(str(text))
        except (InvalidOperation, ValueError):
            return None

    own_tables = {
        t.name: t for t in ctx.session.scalars(select(RateTable).where(RateTable.agreement_id == own.id))
    }
    for table in ctx.session.scalars(select(RateTable).where(RateTable.agreement_id == sector.id)):
        mine_table = own_tables.get(table.name)
        if mine_table is None:
            continue  # the sector's table applies as it is
        rows = {r["code"]: r for r in mine_table.rows}
        periods = {p["code"]: p.get("name", p["code"]) for p in table.periods}
        for row in table.rows:
            label = row.get("name", row["code"])
            own_row = rows.get(row["code"])
            if own_row is not None:
                q_sector, q_own = num(row.get("quota")), num(own_row.get("quota"))
                if q_sector is not None and q_own is not None and q_own > q_sector:
                    problems.append(f"{table.name}“{label}”劳动定额{q_own}高于行业协议的{q_sector}")
            for period, rate in table.cells.get(row["code"], {}).items():
                own_rate = num(mine_table.cells.get(row["code"], {}).get(period))
                sector_rate = num(rate)
                if own_rate is not None and sector_rate is not None and own_rate < sector_rate:
                    problems.append(
                        f"{table.name}“{label}/{periods.get(period, period)}”单价{own_rate}元低于行业协议的{sector_rate}元"
                    )
    return "；".join(problems) if problems else None
