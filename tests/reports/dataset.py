"""A small fixed federation walked through the real use cases, with hand-computed report figures.

City (测试市总工会) → street (测试街道总工会) and other (邻近街道总工会). Year 2025 unless said:

| case | enterprise (headcount) | region | path | signed | wages before → after |
|---|---|---|---|---|---|
| E1 | 测试机械 (120) | street | in force, review opinion, disclosed | 2025-03-22 | 5000 → 5450 |
| E2 | 二号 (200) | street | deemed approved by the sweep | 2025-06-21 | 5000 → 5400 |
| E3 | 三号 (300) | street | signed only | 2025-11-22 | 4000 → 4400 |
| E4 | 四号 (350) | street | awaiting signature (not signed) | — | — |
| E5 | 五号 (400) | street | in force, signed 2024, term ends 2025-11-30, renewal opened | 2024 | 5800 → 6264 |
| R5 | 五号 | street | the renewal of E5: in force, disclosed | 2025-10-04 | 6000 → 6480 |
| E6 | 六号 (500) | street | in force, signed 2024, term ends 2025-12-31, not renewed | 2024 | 4500 → 4860 |
| O1 | 邻街电子 (50) | other | in force, review opinion | 2025-05-24 | — → 5720 |
| S1 | tea sector, covers T0–T2 (30 each) | street | in force, review opinion | 2025-04-20 | — |
| A0 | 测试茶业0 (30) adopts S1 | street | signed | 2025-06-13 | 5000 → 5500 |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.rules.uscc import complete_credit_code
from services import cases as uc
from services.deadlines import sweep
from services.orgs import add_enterprise
from services.repository import get_org_unit
from services.uow import unit_of_work
from tests.support import World, add_reps, at, build_world, fire, walk


def terms(start: str, end: str, before: str | None, after: str | None) -> dict[str, Any]:
    t: dict[str, Any] = {
        "term_start": start,
        "term_end": end,
        "payment_day": 15,
        "clauses": [{"title": "工资增长", "text": "职工平均工资合理增长。"}],
    }
    if before:
        t["avg_wage_before"] = before
    if after:
        t["avg_wage_after"] = after
    return t


def walk_as(world: World, actor: Actor, ref: Any, start: date, t: dict[str, Any]) -> date:
    """support.walk for a case another instructor owns (walk acts as the street's instructor)."""
    for side in ("worker", "employer"):
        for k in range(3):
            uc.add_representative(
                world.db, actor, ref, side=side, name=f"{side}{k}", person_key=f"{side}-{k}",
                chief=k == 0, front_line=side == "worker" and k > 0, now=at(start),
            )  # fmt: skip
    day = start
    fire(world, ref, "send_offer", day, actor, from_side="worker", subjects="年度工资调整")
    day += timedelta(days=7)
    fire(world, ref, "record_response", day, actor)
    day += timedelta(days=5)
    fire(world, ref, "record_round", day, actor, chair_side="worker", minutes="第一次协商")
    uc.set_agreement_terms(world.db, actor, ref, t, now=at(day))
    fire(world, ref, "submit_draft", day, actor)
    day += timedelta(days=5)
    fire(
        world,
        ref,
        "record_congress_vote",
        day,
        actor,
        total=60,
        present=50,
        votes_for=45,
        against=3,
        abstain=2,
    )
    day += timedelta(days=2)
    fire(world, ref, "sign", day, actor)
    day += timedelta(days=3)
    fire(world, ref, "file_for_review", day, actor, authority="人社局", copies=3)
    day += timedelta(days=6)
    fire(world, ref, "record_review_opinion", day, world.reviewer, has_objections="否", opinion="合法有效")
    return day


@dataclass
class Dataset:
    world: World
    numbers: dict[str, str]


def build(db: Database) -> Dataset:
    w = build_world(db, jurisdiction="national")
    codes = {}
    with unit_of_work(db) as uow:
        street = get_org_unit(uow.session, "street")
        for n, (label, headcount) in enumerate(
            (("二号", 200), ("三号", 300), ("四号", 350), ("五号", 400), ("六号", 500)), start=2
        ):
            code = complete_credit_code(f"91320282MA00020{n}0")
            add_enterprise(
                uow.session,
                credit_code=code,
                name=f"测试{label}有限公司",
                org_unit=street,
                headcount=headcount,
            )
            codes[f"E{n}"] = code
    codes["E1"] = w.enterprise_code
    numbers: dict[str, str] = {}

    def create(key: str, day: date, **kw: Any) -> str:
        actor = kw.pop("actor", w.instructor)
        case = uc.create_case(db, actor, now=at(day), **kw)
        numbers[key] = case["number"]
        return case["number"]

    # 2024: E5 and E6, in force through 2025.
    e5 = create("E5", date(2024, 9, 2), kind="enterprise", enterprise=codes["E5"])
    walk(w, e5, "in_force", start=date(2024, 9, 2), terms=terms("2024-12-01", "2025-11-30", "5800", "6264"))
    e6 = create("E6", date(2024, 10, 8), kind="enterprise", enterprise=codes["E6"])
    walk(w, e6, "in_force", start=date(2024, 10, 8), terms=terms("2025-01-01", "2025-12-31", "4500", "4860"))

    # E1: the whole path, then disclosed after it came into force (national order).
    e1 = create("E1", date(2025, 3, 3), kind="enterprise", enterprise=codes["E1"])
    day = walk(
        w, e1, "in_force", start=date(2025, 3, 3), terms=terms("2025-04-01", "2026-03-31", "5000", "5450")
    )
    fire(w, e1, "disclose", day + timedelta(days=2), method="厂务公开栏")

    # The tea sector agreement (S1) binding T0–T2, and T0's adoption of it (A0), signed only.
    s1 = create("S1", date(2025, 4, 1), kind="sector", sector="tea")
    uc.add_coverage(db, w.instructor, s1, w.tea_codes, now=at(date(2025, 4, 1)))
    walk(w, s1, "in_force", start=date(2025, 4, 1), terms=terms("2025-05-01", "2026-04-30", None, "5000"))
    a0 = create("A0", date(2025, 6, 2), kind="adoption", enterprise=w.tea_codes[0], parent=s1)
    add_reps(w, a0, now=at(date(2025, 6, 2)))
    uc.set_agreement_terms(
        db, w.instructor, a0, terms("2025-07-01", "2026-06-30", "5000", "5500"), now=at(date(2025, 6, 2))
    )
    fire(w, a0, "submit_draft", date(2025, 6, 3))
    fire(
        w,
        a0,
        "record_congress_vote",
        date(2025, 6, 10),
        total=30,
        present=27,
        votes_for=25,
        against=1,
        abstain=1,
    )
    fire(w, a0, "sign", date(2025, 6, 13))

    # O1 in the neighbouring street, walked by its own instructor.
    o1 = create(
        "O1",
        date(2025, 5, 5),
        kind="enterprise",
        enterprise=w.other_enterprise_code,
        actor=w.other_instructor,
    )
    walk_as(w, w.other_instructor, o1, date(2025, 5, 5), terms("2025-06-01", "2026-05-31", None, "5720"))

    # E2 filed, then deemed approved by the sweep when the review period ran out.
    e2 = create("E2", date(2025, 6, 2), kind="enterprise", enterprise=codes["E2"])
    walk(
        w, e2, "under_review", start=date(2025, 6, 2), terms=terms("2025-07-01", "2026-06-30", "5000", "5400")
    )
    sweep(db, at(date(2025, 7, 20)))

    # E5's renewal (R5), opened in its renewal window, signed and disclosed in 2025.
    opened = fire(w, e5, "open_renewal", date(2025, 9, 10))
    numbers["R5"] = r5 = opened["renewal_case"]
    day = walk(
        w, r5, "in_force", start=date(2025, 9, 15), terms=terms("2025-12-01", "2026-11-30", "6000", "6480")
    )
    fire(w, r5, "disclose", day + timedelta(days=1), method="厂务公开栏")

    # E3 signed only; E4 not yet signed.
    e3 = create("E3", date(2025, 11, 3), kind="enterprise", enterprise=codes["E3"])
    walk(w, e3, "signed", start=date(2025, 11, 3), terms=terms("2026-01-01", "2026-12-31", "4000", "4400"))
    e4 = create("E4", date(2025, 11, 3), kind="enterprise", enterprise=codes["E4"])
    walk(
        w,
        e4,
        "awaiting_signature",
        start=date(2025, 11, 3),
        terms=terms("2026-01-01", "2026-12-31", "4200", "4500"),
    )
    return Dataset(w, numbers)
