"""Demo data modelled on the reference street federation (see shared/domain.md).

A city → county → street federation tree in Jiangsu (宜兴), 225 enterprises with one case each
spread over every stage, a tea sector (30 enterprises, 11-period picking rates) and a plastics
sector (19 enterprises) with their adoption cases, and a neighbouring street to show that
users only see their own subtree. Every case is walked through the real workflow engine with
simulated dates, so events, documents and deadlines are exactly what real use produces; a
final sweep at the present time fires what has fallen due.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import Agreement, Case, CaseCoverage, OrgUnit, Representative, User
from bargaining.rules.uscc import complete_credit_code
from workflows import engine
from workflows.cases import start_case

from . import runtime
from .cases import _apply_terms
from .deadlines import sweep
from .identity import actor_for, add_user
from .orgs import add_enterprise, add_org_unit, add_sector
from .repository import get_org_unit
from .uow import unit_of_work
from .web.security import hash_password

CHINA = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "demo-password-2026"  # printed by `bargaining demo`; demo databases only
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志明海燕晓东文斌宇浩凯俊林峰"
TRADES = [
    "机械",
    "纺织",
    "电子",
    "建材",
    "陶瓷",
    "环保设备",
    "电缆",
    "化纤",
    "食品",
    "包装",
    "五金",
    "紫砂工艺",
]
WORDS = [
    "宏达",
    "金鼎",
    "华瑞",
    "永新",
    "恒通",
    "瑞丰",
    "鑫源",
    "东方",
    "阳羡",
    "龙背山",
    "荆溪",
    "太华",
    "丁蜀",
    "湖滏",
    "张渚",
    "善卷",
    "竹海",
    "远东",
    "新街",
    "屺亭",
    "徐舍",
    "高塍",
    "和桥",
    "官林",
    "杨巷",
]

# Target stage for the 225 street cases: (state, how many). Sums to 225.
SPREAD = [
    ("preparation", 8),
    ("offer_sent", 10),
    ("negotiating", 14),
    ("suspended", 3),
    ("dispute", 2),
    ("awaiting_congress", 8),
    ("awaiting_signature", 6),
    ("signed", 8),
    ("under_review", 12),
    ("in_force", 140),
    ("expired", 9),
    ("terminated", 5),
]
# The order of the walk; each target state is reached by the prefix of these steps.
PATH = [
    "send_offer",
    "record_response",
    "record_round",
    "submit_draft",
    "record_congress_vote",
    "sign",
    "file_for_review",
    "record_review_opinion",
]
REACHED_BY = {
    "preparation": 0,
    "offer_sent": 1,
    "negotiating": 3,
    "awaiting_congress": 4,
    "awaiting_signature": 5,
    "signed": 6,
    "under_review": 7,
    "in_force": 8,
}

TEA_PERIODS = [
    ("P01", "明前一期", "03-10", "03-16"),
    ("P02", "明前二期", "03-17", "03-23"),
    ("P03", "明前三期", "03-24", "03-30"),
    ("P04", "明前四期", "03-31", "04-04"),
    ("P05", "清明至谷雨一期", "04-05", "04-11"),
    ("P06", "清明至谷雨二期", "04-12", "04-19"),
    ("P07", "雨后一期", "04-20", "04-30"),
    ("P08", "雨后二期", "05-01", "05-15"),
    ("P09", "夏茶一期", "05-16", "05-31"),
    ("P10", "夏茶二期", "06-01", "06-30"),
    ("P11", "秋茶", "07-01", "10-31"),
]
# Grade: (name, quota 斤 per 8-hour day, first-period rate, last-period rate) — yuan per 斤 of fresh leaf.
TEA_GRADES = [
    ("BUD", "单芽（芽头）", "3.5", 42, 36),
    ("1B1L", "一芽一叶", "6", 25, 21),
    ("1B2L", "一芽二叶", "10", 15, 13),
]


@dataclass
class Demo:
    session: Session
    rng: random.Random
    admin: Actor
    instructors: list[User]
    reviewer: Actor


def _at(d: date, hour: int = 9) -> datetime:
    return datetime.combine(d, time(hour, 0), tzinfo=CHINA).astimezone(UTC)


def load_demo(db: Database, *, if_empty: bool = False, today: date | None = None) -> str:
    with unit_of_work(db, write=False) as uow:
        existing = uow.session.scalar(select(func.count()).select_from(OrgUnit)) or 0
    if existing:
        if if_empty:
            return "数据库已有数据，跳过演示数据。"
        return "数据库已有数据；演示数据只能载入空数据库（可先删除 var/bargaining.sqlite3 后重新 init）。"
    today = today or runtime.utcnow().astimezone(CHINA).date()
    with unit_of_work(db) as uow:
        demo = _build_tree(uow.session)
    enterprises = _enterprises(db, demo)
    # Walk cases in chunks, one transaction each, so a failure never leaves half a demo behind.
    with unit_of_work(db) as uow:
        s = uow.session
        demo.session = s
        _reload_actors(demo)
        _sector_cases(demo, enterprises, today)
    for start in range(0, len(enterprises["street"]), 45):
        with unit_of_work(db) as uow:
            demo.session = uow.session
            _reload_actors(demo)
            for index, enterprise_id in enumerate(enterprises["street"][start : start + 45], start):
                _enterprise_case(demo, enterprise_id, _target(index), index, today)
    with unit_of_work(db) as uow:
        demo.session = uow.session
        _reload_actors(demo)
        for index, enterprise_id in enumerate(enterprises["other"]):
            _enterprise_case(demo, enterprise_id, "in_force" if index % 2 else "negotiating", index, today)
    report = sweep(db, _at(today, 8))
    with unit_of_work(db, write=False) as uow:
        cases = uow.session.scalar(select(func.count()).select_from(Case)) or 0
    return (
        f"演示数据已载入：{cases} 件协商（截至 {today.isoformat()} 的期限扫描：逾期提醒 {report.escalated} 件，"
        f"自动处理 {report.fired} 件）。用户：admin（市总工会管理员）、sf_admin、zhang、li、wang（指导员）、"
        f"auditor、reviewer、other_instructor；演示密码均为 {DEMO_PASSWORD}。"
    )


def _target(index: int) -> str:
    position = index
    for state, count in SPREAD:
        if position < count:
            return state
        position -= count
    return "in_force"


def _build_tree(s: Session) -> Demo:
    city = add_org_unit(
        s, code="wuxi", name="无锡市总工会", level="city", jurisdiction="jiangsu", province="jiangsu"
    )
    county = add_org_unit(s, code="yixing", name="宜兴市总工会", level="district", parent=city)
    street = add_org_unit(s, code="yx-demo-street", name="示范街道总工会", level="street", parent=county)
    for n in range(1, 4):
        add_org_unit(
            s, code=f"yx-demo-v{n}", name=f"示范街道第{n}村工会联合会", level="village", parent=street
        )
    add_org_unit(s, code="yx-demo-tea", name="示范街道茶叶行业工会联合会", level="sector", parent=street)
    add_org_unit(s, code="yx-demo-plastics", name="示范街道塑化行业工会联合会", level="sector", parent=street)
    add_org_unit(s, code="yx-other-street", name="邻近街道总工会", level="street", parent=county)
    add_sector(s, code="tea", name="茶叶")
    add_sector(s, code="plastics", name="塑化")
    admin = add_user(
        s, username="admin", display_name="市总工会管理员", org_unit=city, roles=["federation_admin"]
    )
    add_user(s, username="sf_admin", display_name="街道工会主席", org_unit=street, roles=["federation_admin"])
    instructors = [
        add_user(s, username=u, display_name=n, org_unit=street, roles=["instructor"])
        for u, n in (("zhang", "张指导员"), ("li", "李指导员"), ("wang", "王指导员"))
    ]
    add_user(s, username="auditor", display_name="督查员周", org_unit=street, roles=["auditor"])
    reviewer = add_user(
        s, username="reviewer", display_name="人社局审查员", org_unit=county, roles=["reviewer"]
    )
    add_user(
        s,
        username="other_instructor",
        display_name="邻街指导员",
        org_unit=get_org_unit(s, "yx-other-street"),
        roles=["instructor"],
    )
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: the demo is for trying, not for keeping
    for user in s.scalars(select(User)):
        user.password_hash = password_hash
    return Demo(s, random.Random(2026), actor_for(admin), instructors, actor_for(reviewer))


def _reload_actors(demo: Demo) -> None:
    s = demo.session
    users = {u.username: u for u in s.scalars(select(User))}
    demo.admin = actor_for(users["admin"])
    demo.reviewer = actor_for(users["reviewer"])
    demo.instructors = [users["zhang"], users["li"], users["wang"]]


def _enterprises(db: Database, demo: Demo) -> dict[str, list[int]]:
    rng = demo.rng
    out: dict[str, list[int]] = {"street": [], "tea": [], "plastics": [], "other": []}
    with unit_of_work(db) as uow:
        s = uow.session
        units = {u.code: u for u in s.scalars(select(OrgUnit))}
        from bargaining.models import Sector

        sectors = {x.code: x for x in s.scalars(select(Sector))}
        for n in range(235):
            if n < 30:
                sector, trade = sectors["tea"], "茶业"
            elif n < 49:
                sector, trade = sectors["plastics"], "塑化"
            else:
                sector, trade = None, rng.choice(TRADES)
            org = (
                units["yx-other-street"]
                if n >= 225
                else units[f"yx-demo-v{n % 3 + 1}"]
                if n % 4
                else units["yx-demo-street"]
            )
            word = WORDS[n % len(WORDS)] + WORDS[(n * 7 + 3) % len(WORDS)][:1]
            code = complete_credit_code(f"91320282MA{n:05d}{'ABCDEFGHJK'[n % 10]}{n % 10}")
            enterprise = add_enterprise(
                s,
                credit_code=code,
                name=f"宜兴市{word}{trade}有限公司",
                org_unit=org,
                sector=sector,
                headcount=rng.choice([18, 26, 35, 48, 60, 85, 120, 160, 240, 320, 450]),
                min_wage_tier=1,
                legal_representative=_person(rng),
                union_chair=_person(rng),
                union_name=f"宜兴市{word}{trade}有限公司工会",
            )
            out["other" if n >= 225 else "street"].append(enterprise.id)
            if sector is not None:
                out[sector.code].append(enterprise.id)
    return out


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def _add_reps(demo: Demo, case: Case, per_side: int, now: datetime) -> None:
    for side in ("worker", "employer"):
        for k in range(per_side):
            name = _person(demo.rng)
            demo.session.add(
                Representative(
                    case_id=case.id,
                    side=side,
                    name=name,
                    person_key=f"{case.id}-{side}-{k}",
                    position="工会主席" if side == "worker" and k == 0 else None,
                    chief=k == 0,
                    front_line=side == "worker" and k > 0,
                    created_at=now,
                )
            )
    demo.session.flush()
    engine.record(
        demo.session, case, "add_representative", demo.admin, now=now, payload={"count": per_side * 2}
    )


def _terms(start: date, wage_before: int, rng: random.Random) -> dict[str, Any]:
    increase = rng.choice([8, 8.5, 9, 9.5, 10])
    after = round(wage_before * (1 + increase / 100))
    end = date(start.year + 1, start.month, start.day) - timedelta(days=1)
    return {
        "term_start": start.isoformat(),
        "term_end": end.isoformat(),
        "avg_wage_before": str(wage_before),
        "avg_wage_after": str(after),
        "payment_day": rng.choice([10, 15, 20]),
        "minimum_wage_clause": "企业支付给职工的工资不低于江苏省公布的当地最低工资标准（一类地区）。",
        "clauses": [
            {"title": "工资增长", "text": f"本年度职工平均工资增长{increase}%，一线职工增幅不低于平均增幅。"},
            {"title": "工资支付", "text": "工资以货币形式按月足额支付，不得克扣或无故拖欠。"},
            {"title": "加班工资", "text": "延长工作时间、休息日、法定节假日加班分别按150%、200%、300%支付。"},
        ],
    }


GAPS = {  # days before each step, drawn at random within these bounds
    "send_offer": (0, 2),
    "record_response": (5, 15),
    "record_round": (3, 10),
    "submit_draft": (3, 10),
    "record_congress_vote": (3, 10),
    "sign": (1, 5),
    "file_for_review": (2, 8),
    "record_review_opinion": (5, 13),
    "disclose": (1, 5),
}


def _plan(target: str, rng: random.Random) -> list[tuple[str, int]]:
    """The actions (with the gap in days before each) that bring a new case to ``target``."""
    steps = REACHED_BY.get(
        target, {"suspended": 3, "dispute": 2, "expired": 8, "terminated": 2}.get(target, 0)
    )
    plan: list[tuple[str, int]] = []
    for trigger in PATH[:steps]:
        repeat = rng.randint(1, 3) if trigger == "record_round" else 1
        plan += [(trigger, rng.randint(*GAPS[trigger])) for _ in range(repeat)]
        if trigger == "record_review_opinion":
            plan.append(("disclose", rng.randint(*GAPS["disclose"])))
    if target == "suspended":
        plan += [("record_round", 5), ("suspend", 2)]
    elif target == "dispute":
        plan.append(("apply_coordination", 21))
    elif target == "terminated":
        plan.append(("terminate", 20))
    return plan


def _walk(
    demo: Demo,
    case: Case,
    plan: list[tuple[str, int]],
    start: date,
    actor: Actor,
    extra_terms: dict[str, Any] | None = None,
) -> None:
    """Fire the real actions of ``plan``, each at its own simulated date."""
    s, rng = demo.session, demo.rng
    cal = runtime.calendar(s)
    day = start
    for trigger, gap in plan:
        day += timedelta(days=gap)
        values: dict[str, Any] = {}
        who, reason = actor, None
        if trigger == "send_offer":
            values = {
                "from_side": "worker",
                "sent_on": day.isoformat(),
                "subjects": "年度工资调整幅度、工资支付办法、加班工资、劳动定额与计件单价",
            }
        elif trigger == "record_response":
            values = {"responded_on": day.isoformat(), "notes": "同意协商，确定首次协商会议时间。"}
        elif trigger == "record_round":
            values = {
                "held_on": day.isoformat(),
                "chair_side": rng.choice(["worker", "employer"]),
                "recorder": _person(rng),
                "minutes": "双方就工资增长幅度交换意见并形成初步共识。",
            }
        elif trigger == "submit_draft":
            agreement = Agreement(case_id=case.id, title=case.title, clauses=[])
            s.add(agreement)
            s.flush()
            term_start = date(day.year, day.month, 1) + timedelta(days=40)
            terms = _terms(date(term_start.year, term_start.month, 1), rng.randint(48, 75) * 100, rng)
            _apply_terms(s, agreement, {**terms, **(extra_terms or {})})
            values = {"submitted_on": day.isoformat()}
        elif trigger == "record_congress_vote":
            total = rng.choice([35, 45, 60, 80])
            present = total - rng.randint(0, total // 5)
            values = {
                "held_on": day.isoformat(),
                "total": total,
                "present": present,
                "votes_for": present - 2,
                "against": 1,
                "abstain": 1,
            }
        elif trigger == "sign":
            values = {"signed_on": day.isoformat()}
        elif trigger == "file_for_review":
            values = {"filed_on": day.isoformat(), "authority": "宜兴市人力资源和社会保障局", "copies": 3}
        elif trigger == "record_review_opinion":
            values = {
                "opinion_on": day.isoformat(),
                "has_objections": "否",
                "opinion": "经审查，该集体合同主体合格、程序合法、内容合法，予以确认。",
            }
            who = demo.reviewer
        elif trigger == "disclose":
            values = {"disclosed_on": day.isoformat(), "method": "厂务公开栏张贴并在职工群公布"}
        elif trigger == "suspend":
            reason = "双方对工资增幅分歧较大，同意中止协商，待企业一季度经营数据出来后再议"
        elif trigger == "apply_coordination":
            values = {
                "applied_on": day.isoformat(),
                "authority": "宜兴市人力资源和社会保障局",
                "matter": "企业方未在规定期限内书面回应要约",
            }
        elif trigger == "terminate":
            reason = "企业停产歇业，协商终止"
        engine.fire(s, case, trigger, who, values=values, reason=reason, calendar=cal, now=_at(day))


# How long ago the last step of a case at each stage happened (days, inclusive bounds).
LAST_STEP_AGO = {
    "preparation": (0, 6),
    "offer_sent": (0, 26),
    "negotiating": (0, 30),
    "suspended": (0, 30),
    "dispute": (0, 20),
    "awaiting_congress": (0, 12),
    "awaiting_signature": (0, 10),
    "signed": (0, 14),
    "under_review": (1, 12),
    "in_force": (20, 300),
    "expired": (400, 440),
    "terminated": (0, 60),
}


def _enterprise_case(demo: Demo, enterprise_id: int, target: str, index: int, today: date) -> None:
    from bargaining.models import Enterprise

    s, rng = demo.session, demo.rng
    enterprise = s.get(Enterprise, enterprise_id)
    assert enterprise is not None
    instructor = demo.instructors[index % 3]
    actor = actor_for(instructor)
    plan = _plan(target, rng)
    # Work backwards from today so each case sits where it would be now.
    start = today - timedelta(days=rng.randint(*LAST_STEP_AGO[target]) + sum(gap for _, gap in plan))
    org = s.get(OrgUnit, enterprise.org_unit_id)
    assert org is not None
    case = start_case(
        s,
        actor=actor,
        kind="enterprise",
        title=f"{enterprise.name}{start.year}年度工资专项集体合同",
        org_unit_id=enterprise.org_unit_id,
        jurisdiction=org.jurisdiction,
        enterprise_id=enterprise.id,
        sector_id=enterprise.sector_id,
        instructor_id=instructor.id,
        round="new" if index % 45 == 7 else "renewal",
        now=_at(start),
    )
    _add_reps(demo, case, 5 if enterprise.headcount >= 160 else 3, _at(start))
    _walk(demo, case, plan, start, actor)


def _sector_cases(demo: Demo, enterprises: dict[str, list[int]], today: date) -> None:
    s = demo.session
    from bargaining.models import Enterprise, Sector

    for code, label, with_rates in (("tea", "茶叶", True), ("plastics", "塑化", False)):
        sector = s.scalar(select(Sector).where(Sector.code == code))
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == f"yx-demo-{code}"))
        assert sector is not None and unit is not None
        actor = actor_for(demo.instructors[0])
        start = date(today.year, 1, 8)
        case = start_case(
            s,
            actor=actor,
            kind="sector",
            title=f"示范街道{label}行业{start.year}年度工资集体协议",
            org_unit_id=unit.id,
            jurisdiction=unit.jurisdiction,
            sector_id=sector.id,
            instructor_id=demo.instructors[0].id,
            now=_at(start),
        )
        for eid in enterprises[code]:
            e = s.get(Enterprise, eid)
            assert e is not None
            s.add(CaseCoverage(case_id=case.id, enterprise_id=eid, headcount=e.headcount))
        s.flush()
        _add_reps(demo, case, 5, _at(start))
        extra = {"rate_tables": [_tea_rate_table(start.year)]} if with_rates else None
        _walk(demo, case, _plan("in_force", demo.rng), start, actor, extra)
        # Adoption cases (履约协议) for part of the covered enterprises, at different stages.
        for n, eid in enumerate(enterprises[code][: 12 if code == "tea" else 6]):
            e = s.get(Enterprise, eid)
            assert e is not None
            adoption = start_case(
                s,
                actor=actor,
                kind="adoption",
                title=f"{e.name}履行{label}行业工资集体协议",
                org_unit_id=e.org_unit_id,
                jurisdiction=unit.jurisdiction,
                enterprise_id=eid,
                sector_id=sector.id,
                parent_id=case.id,
                instructor_id=demo.instructors[0].id,
                now=_at(today - timedelta(days=60)),
            )
            _walk_adoption(demo, adoption, n, today - timedelta(days=60), actor)


def _tea_rate_table(year: int) -> dict[str, Any]:
    """11 picking periods by grade, rates falling from the first period to the last."""
    cells: dict[str, dict[str, str]] = {}
    for code, _name, _quota, first, last in TEA_GRADES:
        cells[code] = {
            p[0]: str(round(first - (first - last) * i / (len(TEA_PERIODS) - 1)))
            for i, p in enumerate(TEA_PERIODS)
        }
    return {
        "name": "茶叶采摘计件单价表",
        "unit": "斤",
        "currency": "CNY",
        "periods": [
            {"code": c, "name": n, "start": f"{year}-{a}", "end": f"{year}-{b}"} for c, n, a, b in TEA_PERIODS
        ],
        "rows": [{"code": c, "name": n, "quota": q} for c, n, q, _f, _l in TEA_GRADES],
        "cells": cells,
        "notes": "单位：元/斤鲜叶；定额为正常工作时间8小时采摘量。",
    }


def _walk_adoption(demo: Demo, case: Case, n: int, start: date, actor: Actor) -> None:
    s = demo.session
    day = start
    cal = runtime.calendar(s)
    _add_reps(demo, case, 3, _at(day))
    agreement = Agreement(case_id=case.id, title=case.title, clauses=[])  # adopted terms, may only be higher
    s.add(agreement)
    s.flush()
    terms = _terms(date(day.year, day.month, 1) + timedelta(days=31), 5200, demo.rng)
    # The enterprise adopts the sector's increase plus one point: an adoption may only raise standards.
    sector_pct = s.scalar(select(Agreement.increase_pct).where(Agreement.case_id == case.parent_id)) or 0
    terms["avg_wage_after"] = str(round(5200 * (1 + (float(sector_pct) + 1) / 100)))
    _apply_terms(s, agreement, terms)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("submit_draft", {}),
        ("record_congress_vote", {"total": 30, "present": 27, "votes_for": 25, "against": 1, "abstain": 1}),
        ("sign", {}),
        ("file_for_review", {"authority": "宜兴市人力资源和社会保障局", "copies": 3}),
    ]
    for trigger, values in steps[: [1, 2, 3, 4, 4, 4][n % 6]]:
        day += timedelta(days=4)
        date_field = {
            "record_congress_vote": "held_on",
            "sign": "signed_on",
            "file_for_review": "filed_on",
        }.get(trigger)
        if date_field:
            values = {**values, date_field: day.isoformat()}
        engine.fire(s, case, trigger, actor, values=values, calendar=cal, now=_at(day))
