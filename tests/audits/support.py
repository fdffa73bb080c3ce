"""Building blocks for the audit tests: a federation with enterprises whose agreements are in force,
auditors, and helpers that take a campaign from draft to started."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import Agreement, Case, Enterprise, OrgUnit, RateTable, User
from bargaining.rules.uscc import complete_credit_code
from services.audits import campaigns as camp
from services.audits.sweep import sweep_audits
from services.identity import actor_for, add_user
from services.orgs import add_enterprise, add_org_unit, add_sector
from services.uow import unit_of_work
from tests.support import at

# Test clock: "today" is Monday 2026-03-02 (China time); agreements came into force on 2025-06-01.
TODAY = date(2026, 3, 2)
IN_FORCE_ON = date(2025, 6, 1)


@dataclass
class AuditWorld:
    db: Database
    admin: Actor  # city federation admin (approves)
    lead: Actor  # city auditor who defines and draws
    auditors: list[Actor]  # inspectors in the pool (street and city auditors)
    outsider: Actor  # auditor of another city: sees nothing
    street_a: str
    street_b: str
    codes: list[str] = field(default_factory=list)  # credit codes of enterprises with agreements
    names: dict[str, str] = field(default_factory=dict)


def _agreement(s: Any, enterprise: Enterprise, *, in_force_on: date, piece_rates: bool = False) -> int:
    case = Case(
        number=f"T-{enterprise.credit_code}",
        title=f"{enterprise.name}工资专项集体合同",
        kind="enterprise",
        enterprise_id=enterprise.id,
        sector_id=enterprise.sector_id,
        org_unit_id=enterprise.org_unit_id,
        jurisdiction="national",
        definition_name="enterprise",
        definition_version=1,
        state="in_force",
    )
    s.add(case)
    s.flush()
    agreement = Agreement(
        case_id=case.id,
        title=case.title,
        term_start=in_force_on,
        term_end=in_force_on + timedelta(days=3 * 365),
        in_force_on=in_force_on,
        payment_day=15,
        clauses=[],
    )
    s.add(agreement)
    s.flush()
    if piece_rates:
        s.add(
            RateTable(
                agreement_id=agreement.id,
                name="采摘单价",
                unit="斤",
                periods=[{"code": "p1", "name": "明前"}],
                rows=[{"code": "bud", "name": "单芽", "quota": "4"}],
                cells={"bud": {"p1": "40.00"}},
            )
        )
    return case.id


def build_audit_world(
    db: Database,
    *,
    per_street: int = 6,
    auditors: int = 4,
    headcounts: tuple[int, ...] = (20, 80, 150, 400),
    without_agreement: int = 1,
) -> AuditWorld:
    """Two streets under a Jiangsu city, ``per_street`` enterprises each with an agreement in force
    (half of them tea, every third with a piece-rate table), plus enterprises without one."""
    with unit_of_work(db) as uow:
        s = uow.session
        city = add_org_unit(
            s, code="wx", name="无锡市总工会", level="city", jurisdiction="jiangsu", province="jiangsu"
        )
        street_a = add_org_unit(s, code="xj", name="新街街道总工会", level="street", parent=city)
        street_b = add_org_unit(s, code="dp", name="丁蜀镇总工会", level="street", parent=city)
        other_city = add_org_unit(s, code="sz", name="苏州市总工会", level="city", province="jiangsu")
        tea = add_sector(s, code="tea", name="茶叶")
        plastics = add_sector(s, code="plastics", name="塑化")
        admin = add_user(
            s, username="admin", display_name="市总管理员", org_unit=city, roles=["federation_admin"]
        )
        lead = add_user(s, username="lead", display_name="督查组长", org_unit=city, roles=["auditor"])
        pool = []
        for n in range(auditors):
            unit = street_a if n % 2 == 0 else street_b
            pool.append(
                add_user(s, username=f"aud{n}", display_name=f"督查员{n}", org_unit=unit, roles=["auditor"])
            )
        outsider = add_user(
            s, username="sz_aud", display_name="苏州督查员", org_unit=other_city, roles=["auditor"]
        )
        codes: list[str] = []
        names: dict[str, str] = {}
        serial = 0
        for unit in (street_a, street_b):
            for k in range(per_street + without_agreement):
                serial += 1
                code = complete_credit_code(f"91320282MA{serial:07d}")
                name = f"{unit.name[:2]}第{k + 1}企业有限公司"
                enterprise = add_enterprise(
                    s,
                    credit_code=code,
                    name=name,
                    org_unit=unit,
                    sector=tea if k % 2 == 0 else plastics,
                    headcount=headcounts[k % len(headcounts)],
                    min_wage_tier=1,
                )
                if k < per_street:
                    _agreement(s, enterprise, in_force_on=IN_FORCE_ON, piece_rates=k % 3 == 0)
                    codes.append(code)
                    names[code] = name
        actors = [actor_for(u) for u in (admin, lead, outsider)]
        pool_actors = [actor_for(u) for u in pool]
    return AuditWorld(
        db,
        admin=actors[0],
        lead=actors[1],
        auditors=pool_actors,
        outsider=actors[2],
        street_a="xj",
        street_b="dp",
        codes=sorted(codes),
        names=names,
    )


def create(world: AuditWorld, *, now: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "title": "2026年工资专项集体合同履约专项抽查",
        "legal_basis": "《浙江省工会劳动法律监督条例》第九条；《劳动合同法》第五十六条",
        "org": "wx",
        "start_on": TODAY + timedelta(days=7),
        "fieldwork_start": TODAY + timedelta(days=7),
        "fieldwork_end": TODAY + timedelta(days=37),
        "report_due": TODAY + timedelta(days=60),
        "method": "proportional",
        "sample_size": 4,
        "dimensions": ["region"],
        "min_months_in_force": 6,
        "inspectors": [f"aud{n}" for n in range(len(world.auditors))],
        "reminder_days": 3,
    }
    params.update(overrides)
    return camp.create_campaign(world.db, world.lead, now=now or at(TODAY), **params)


def prepare(
    world: AuditWorld,
    ref: Any,
    *,
    entropy: str = "2026-03-03 福彩3D 第2026056期 开奖号码 4 7 1",
    approve: bool = True,
    day: date = TODAY,
) -> None:
    """Freeze, seed (a public number the day after), draw and approve."""
    camp.freeze_frame(world.db, world.lead, ref, now=at(day, 9))
    camp.fix_seed(
        world.db,
        world.lead,
        ref,
        source="public",
        entropy=entropy,
        provenance="中国福利彩票3D游戏开奖公告",
        now=at(day + timedelta(days=1), 21),
    )
    camp.draw_sample(world.db, world.lead, ref, now=at(day + timedelta(days=1), 22))
    if approve:
        camp.approve_sampling(world.db, world.admin, ref, now=at(day + timedelta(days=2), 9))


def start(world: AuditWorld, ref: Any, *, day: date | None = None) -> dict[str, Any]:
    """Run the audit sweep on the campaign's start day."""
    with unit_of_work(world.db, write=False) as uow:
        from bargaining.models.audit import Campaign

        campaign = uow.session.scalars(
            select(Campaign).where(Campaign.number == str(ref))
        ).first() or uow.session.get(Campaign, int(ref))
        assert campaign is not None
        start_on = campaign.start_on
    report = sweep_audits(world.db, at(day or start_on, 12))
    return report.as_dict()


def enterprise_id(world: AuditWorld, code: str) -> int:
    with unit_of_work(world.db, write=False) as uow:
        value = uow.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code))
        assert value is not None
        return value


def org_id(world: AuditWorld, code: str) -> int:
    with unit_of_work(world.db, write=False) as uow:
        value = uow.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        assert value is not None
        return value


def case_with_inspectors(world: AuditWorld, index: int = 0) -> tuple[str, list[Actor], str]:
    """(audit case number, its two inspectors, enterprise credit code) of the index-th case."""
    from bargaining.models.audit import AuditCase, SamplingInspector
    from services.identity import actor_by_username

    with unit_of_work(world.db, write=False) as uow:
        s = uow.session
        case = list(s.scalars(select(AuditCase).order_by(AuditCase.id)))[index]
        names = list(
            s.scalars(
                select(User.username)
                .join(SamplingInspector, SamplingInspector.user_id == User.id)
                .where(SamplingInspector.unit_id == case.unit_id)
                .order_by(SamplingInspector.position)
            )
        )
        return case.number, [actor_by_username(s, n) for n in names], case.unit_id


def started_campaign(world: AuditWorld, **overrides: Any) -> str:
    number = create(world, **overrides)["number"]
    prepare(world, number)
    start(world, number)
    return number


def all_compliant_answers(
    world: AuditWorld, case_number: str, on: date | None = None
) -> dict[str, tuple[str, str | None]]:
    """Answers for every item the case must answer on ``on`` (derived N/A items left out)."""
    from bargaining.models.audit import AuditCase
    from bargaining.rules.compliance import WAGE_AGREEMENT_CHECKLIST_V1, derived_na
    from workflows.audit_engine import case_facts

    with unit_of_work(world.db, write=False) as uow:
        case = uow.session.scalar(select(AuditCase).where(AuditCase.number == case_number))
        assert case is not None
        facts = case_facts(uow.session, case, on or TODAY + timedelta(days=10))
    return {
        item.code: ("compliant", None)
        for item in WAGE_AGREEMENT_CHECKLIST_V1.items
        if derived_na(item, facts) is None
    }
