"""Building blocks for tests: a small federation and helpers that walk a case forward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.rules.uscc import complete_credit_code
from services import cases as uc
from services.identity import actor_for, add_user
from services.orgs import add_enterprise, add_org_unit, add_sector
from services.uow import unit_of_work

CHINA = ZoneInfo("Asia/Shanghai")


def at(d: date, hour: int = 10) -> datetime:
    """An instant on a legal (China) date."""
    return datetime.combine(d, time(hour), tzinfo=CHINA).astimezone(UTC)


@dataclass
class World:
    db: Database
    admin: Actor  # federation admin of the city: sees everything
    instructor: Actor  # instructor in the street
    other_instructor: Actor  # instructor in a neighbouring street
    reviewer: Actor
    auditor: Actor
    enterprise_code: str
    other_enterprise_code: str
    tea_codes: list[str]


def build_world(db: Database, *, jurisdiction: str = "national", headcount: int = 120) -> World:
    with unit_of_work(db) as uow:
        s = uow.session
        city = add_org_unit(s, code="city", name="测试市总工会", level="city", jurisdiction=jurisdiction)
        street = add_org_unit(s, code="street", name="测试街道总工会", level="street", parent=city)
        other = add_org_unit(s, code="other", name="邻近街道总工会", level="street", parent=city)
        tea = add_sector(s, code="tea", name="茶叶")
        admin = add_user(
            s, username="admin", display_name="管理员", org_unit=city, roles=["federation_admin"]
        )
        instructor = add_user(
            s, username="zhang", display_name="张指导员", org_unit=street, roles=["instructor"]
        )
        other_i = add_user(s, username="li", display_name="李指导员", org_unit=other, roles=["instructor"])
        reviewer = add_user(s, username="rev", display_name="审查员", org_unit=city, roles=["reviewer"])
        auditor = add_user(s, username="aud", display_name="督查员", org_unit=street, roles=["auditor"])
        code = complete_credit_code("91320282MA0000001")
        add_enterprise(s, credit_code=code, name="测试机械有限公司", org_unit=street, headcount=headcount)
        other_code = complete_credit_code("91320282MA0000002")
        add_enterprise(s, credit_code=other_code, name="邻街电子有限公司", org_unit=other, headcount=50)
        tea_codes = []
        for n in range(3):
            tc = complete_credit_code(f"91320282MA00001{n}0")
            add_enterprise(
                s, credit_code=tc, name=f"测试茶业{n}有限公司", org_unit=street, sector=tea, headcount=30
            )
            tea_codes.append(tc)
        actors = [actor_for(u) for u in (admin, instructor, other_i, reviewer, auditor)]
    return World(db, *actors, enterprise_code=code, other_enterprise_code=other_code, tea_codes=tea_codes)


def add_reps(world: World, ref: Any, per_side: int = 3, now: datetime | None = None) -> None:
    for side in ("worker", "employer"):
        for k in range(per_side):
            uc.add_representative(
                world.db,
                world.instructor,
                ref,
                side=side,
                name=f"{side}{k}",
                person_key=f"{side}-{k}",
                chief=k == 0,
                front_line=side == "worker" and k > 0,
                now=now,
            )


TERMS = {
    "term_start": "2026-01-01",
    "term_end": "2026-12-31",
    "avg_wage_before": "5000",
    "avg_wage_after": "5450",
    "payment_day": 15,
    "clauses": [{"title": "工资增长", "text": "职工平均工资增长9%。"}],
}


def fire(
    world: World,
    ref: Any,
    trigger: str,
    day: date,
    actor: Actor | None = None,
    reason: str | None = None,
    **values: Any,
) -> dict[str, Any]:
    return uc.fire_action(
        world.db, actor or world.instructor, ref, trigger, values=values, reason=reason, now=at(day)
    )


def walk(
    world: World, ref: Any, upto: str, start: date = date(2025, 11, 3), terms: dict[str, Any] | None = None
) -> date:
    """Walk an enterprise case from preparation through the national path, stopping once ``upto`` is reached.

    Returns the legal date of the last step. Each step happens a few days after the one before.
    """
    day = start
    order = [
        "offer_sent",
        "negotiating",
        "awaiting_congress",
        "awaiting_signature",
        "signed",
        "under_review",
        "in_force",
    ]
    if upto == "preparation":
        return day
    add_reps(world, ref, now=at(day))
    fire(world, ref, "send_offer", day, from_side="worker", subjects="年度工资调整")
    if upto == "offer_sent":
        return day
    day += timedelta(days=7)
    fire(world, ref, "record_response", day)
    if upto == "negotiating":
        return day
    day += timedelta(days=5)
    fire(world, ref, "record_round", day, chair_side="worker", minutes="第一次协商")
    uc.set_agreement_terms(world.db, world.instructor, ref, terms or TERMS, now=at(day))
    fire(world, ref, "submit_draft", day)
    if upto == "awaiting_congress":
        return day
    day += timedelta(days=5)
    fire(world, ref, "record_congress_vote", day, total=60, present=50, votes_for=45, against=3, abstain=2)
    if upto == "awaiting_signature":
        return day
    day += timedelta(days=2)
    fire(world, ref, "sign", day)
    if upto == "signed":
        return day
    day += timedelta(days=3)
    fire(world, ref, "file_for_review", day, authority="人社局", copies=3)
    if upto == "under_review":
        return day
    day += timedelta(days=6)
    fire(world, ref, "record_review_opinion", day, world.reviewer, has_objections="否", opinion="合法有效")
    assert order.index(upto) == len(order) - 1
    return day
