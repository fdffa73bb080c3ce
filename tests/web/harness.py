"""A small federation behind the web app, signed-in clients and API tokens for the web tests.

The world (tests/support.py) has a city federation with a street and a neighbouring street. Here
every user gets a password, and three users of the neighbouring street are added so each role has
someone inside the street's cases' region and someone outside it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bargaining.config import Settings
from bargaining.db import Database
from bargaining.models import Case, Enterprise, Event, OrgUnit, User
from bargaining.models.base import Base
from bargaining.rules.uscc import complete_credit_code
from services import cases as uc
from services import runtime
from services.identity import add_user
from services.uow import unit_of_work
from services.web.app import create_app
from services.web.security import create_api_token, hash_password
from tests.support import TERMS, World, build_world, walk

PASSWORD = "web-test-password-2026"
SECRET = "test-secret-" + "x" * 40
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')

RATE_TABLE = {
    "name": "茶叶采摘计件单价表",
    "unit": "斤",
    "rows": [{"code": "BUD", "name": "单芽", "quota": "3.5"}],
    "periods": [{"code": "P01", "name": "明前一期", "start": "2026-03-10", "end": "2026-03-16"}],
    "cells": {"BUD": {"P01": "42"}},
}

# Who plays each role inside the street's cases' region and outside it (the neighbouring street).
ROLE_USERS: dict[tuple[str, bool], str] = {
    ("instructor", True): "zhang",
    ("instructor", False): "li",
    ("federation_admin", True): "admin",
    ("federation_admin", False): "other_admin",
    ("reviewer", True): "rev",
    ("reviewer", False): "other_rev",
    ("auditor", True): "aud",
    ("auditor", False): "other_aud",
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, routers included (FastAPI >= 0.16x no longer flattens
    included routers into ``app.routes``); a mounted app appears once as ("MOUNT", path)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Mount

    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(("MOUNT", route.path))
            continue
        assert route.path and route.methods, route
        found.update((m, route.path) for m in route.methods if m != "HEAD")
    return found


@functools.cache
def password_hash() -> str:
    """One argon2id hash for every test user (hashing costs ~0.15 s)."""
    return hash_password(PASSWORD)


def make_settings(db: Database, **changes: Any) -> Settings:
    base = Settings(
        database_url=db.url, environment="test", secret_key=SECRET, cookie_secure=False, session_hours=10
    )
    return replace(base, **changes)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token (from a signed-in page)."""
    form = client.get("/login")
    assert form.status_code == 200
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/dashboard")
    assert page.status_code == 200
    return csrf_of(page.text)


@dataclass
class WebWorld:
    world: World
    db: Database
    settings: Settings
    app: FastAPI
    case_id: int  # enterprise case of the street (测试机械有限公司), negotiating
    case_number: str
    sector_case_id: int  # tea sector case of the street, preparation
    sector_case_number: str
    other_case_id: int  # enterprise case of the neighbouring street (邻街电子有限公司)
    other_case_number: str
    users: dict[str, int] = field(default_factory=dict)
    audit: AuditPages | None = None  # the audit pages' world, once add_audit_world has run

    def client(self, *, https: bool = False, app: FastAPI | None = None) -> TestClient:
        return TestClient(
            app or self.app,
            base_url="https://testserver" if https else "http://testserver",
            raise_server_exceptions=False,
            follow_redirects=False,
        )

    def signed_in(self, username: str, **kwargs: Any) -> tuple[TestClient, str]:
        client = self.client(**kwargs)
        return client, sign_in(client, username)

    def document_id(self) -> int:
        """The street case's first document (its offer letter)."""
        from bargaining.models import Document

        with unit_of_work(self.db, write=False) as uow:
            found = uow.session.scalar(
                select(Document.id).where(Document.case_id == self.case_id).order_by(Document.id).limit(1)
            )
        assert found is not None
        return found

    def token(self, username: str) -> str:
        with unit_of_work(self.db) as uow:
            user = uow.session.scalar(select(User).where(User.username == username))
            assert user is not None
            return create_api_token(uow.session, self.settings, user, "test", runtime.utcnow())

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def version(self, case_id: int | None = None) -> int:
        with unit_of_work(self.db, write=False) as uow:
            case = uow.session.get(Case, case_id or self.case_id)
            assert case is not None
            return case.version

    def state(self, case_id: int | None = None) -> str:
        with unit_of_work(self.db, write=False) as uow:
            case = uow.session.get(Case, case_id or self.case_id)
            assert case is not None
            return case.state

    def events(self, trigger: str) -> list[Event]:
        with unit_of_work(self.db, write=False) as uow:
            rows = list(uow.session.scalars(select(Event).where(Event.trigger == trigger).order_by(Event.id)))
            uow.session.expunge_all()
            return rows

    def snapshot(self) -> dict[str, Any]:
        """Row counts of every table, case versions and revoked sessions: what a write would change."""
        with unit_of_work(self.db, write=False) as uow:
            s = uow.session
            counts: dict[str, Any] = {
                table.name: s.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }
            counts["case_versions"] = sorted(s.execute(select(Case.id, Case.version, Case.state)).all())
            counts["case_instructors"] = sorted(s.execute(select(Case.id, Case.instructor_id)).all())
            from bargaining.models import WebSession

            counts["revoked_sessions"] = s.scalar(
                select(func.count()).select_from(WebSession).where(WebSession.revoked_at.is_not(None))
            )
            return counts


@dataclass
class AuditPages:
    """Ids for the audit (专项抽查) pages: campaigns of the street and of the neighbouring street."""

    campaign_id: int  # the street's campaign (aud leads, admin approved), started: four audit cases
    campaign_number: str
    draft_id: int  # a draft campaign of the street (its sampling steps may be taken again and again)
    draft_number: str
    planned: dict[str, int]  # audit case (planned) per inside user, for actions one may take once
    planned_number: str  # number of the first of them
    inspected_id: int  # inspected, with a finding on no_arrears (amount owed 2000.00)
    inspected_number: str
    finding_id: int
    rectifying_id: int  # in rectification, one open item with its evidence per inside user
    rectifying_finding_id: int  # the finding (pay_day) the items rectify
    rectification: dict[str, int]
    document_id: int  # the inspection notice of the case in rectification
    evidence_id: int
    enterprises: list[str]  # the street's sampled enterprises
    other_campaign_number: str  # the neighbouring street's campaign (other_aud leads), started
    other_case_number: str
    other_enterprise: str


AUDIT_ENTERPRISES = [
    "街道抽查甲厂有限公司",
    "街道抽查乙厂有限公司",
    "街道抽查丙厂有限公司",
    "街道抽查丁厂有限公司",
]
OTHER_AUDIT_ENTERPRISE = "邻街抽查戊厂有限公司"
AUDIT_INSIDE = ("aud", "admin")  # the inside users the audit rows may change something for


def add_audit_world(web: WebWorld) -> AuditPages:
    """Audit campaigns on the web world, built with the audit tests' helpers (tests/audits/support.py).

    The street gets a second auditor (aud2) so its pool has the two inspectors every case needs
    (aud is drawn for every case), and four enterprises whose agreements are in force; the
    neighbouring street the same once over (other_aud, other_aud2). The street's campaign is
    started and its cases are taken (through the use cases, as aud) to: planned (one per inside
    user), inspected with a finding, and in rectification with an item and evidence per inside
    user. Evidence is stored under $BARGAINING_STORAGE_DIR: set it before calling this.
    """
    import os
    from datetime import timedelta

    from bargaining.models.audit import AuditCase, AuditDocument, Campaign
    from services.audits import cases as ac
    from services.audits.evidence import store_evidence
    from services.identity import actor_for
    from services.orgs import add_enterprise
    from tests.audits.support import (
        TODAY,
        AuditWorld,
        _agreement,
        all_compliant_answers,
        create,
        prepare,
        start,
    )
    from tests.support import at

    assert os.environ.get("BARGAINING_STORAGE_DIR"), "set BARGAINING_STORAGE_DIR (evidence files)"
    db = web.db
    with unit_of_work(db) as uow:
        s = uow.session
        units = {u.code: u for u in s.scalars(select(OrgUnit).where(OrgUnit.code.in_(("street", "other"))))}
        add_user(s, username="aud2", display_name="街道督查员二", org_unit=units["street"], roles=["auditor"])
        add_user(
            s, username="other_aud2", display_name="邻街督查员二", org_unit=units["other"], roles=["auditor"]
        )
        codes: dict[str, list[str]] = {"street": [], "other": []}
        for n, (unit, name) in enumerate(
            [("street", name) for name in AUDIT_ENTERPRISES] + [("other", OTHER_AUDIT_ENTERPRISE)], 1
        ):
            code = complete_credit_code(f"91320282MB{n:07d}")
            enterprise = add_enterprise(
                s, credit_code=code, name=name, org_unit=units[unit], headcount=40 * n, min_wage_tier=1
            )
            _agreement(s, enterprise, in_force_on=date(2025, 6, 1))
            codes[unit].append(code)
        actors = {
            u.username: actor_for(u)
            for u in s.scalars(
                select(User).where(User.username.in_(("aud", "aud2", "other_aud", "other_aud2")))
            )
        }
        other_admin = actor_for(s.scalars(select(User).where(User.username == "other_admin")).one())
    street = AuditWorld(
        db,
        admin=web.world.admin,
        lead=actors["aud"],
        auditors=[actors["aud"], actors["aud2"]],
        outsider=actors["other_aud"],
        street_a="street",
        street_b="other",
        codes=codes["street"],
    )
    neighbour = AuditWorld(
        db,
        admin=other_admin,
        lead=actors["other_aud"],
        auditors=[actors["other_aud"], actors["other_aud2"]],
        outsider=actors["aud"],
        street_a="other",
        street_b="street",
        codes=codes["other"],
    )
    common: dict[str, Any] = {"min_months_in_force": 6, "dimensions": ["region"]}
    campaign = create(street, org="street", inspectors=["aud", "aud2"], sample_size=4, **common)
    draft = create(
        street, org="street", title="草稿专项抽查", inspectors=["aud", "aud2"], sample_size=1, **common
    )
    other = create(neighbour, org="other", inspectors=["other_aud", "other_aud2"], sample_size=1, **common)
    for world, number in ((street, campaign["number"]), (neighbour, other["number"])):
        prepare(world, number)
    start(street, campaign["number"])  # the sweep starts both
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        cases = list(
            s.scalars(select(AuditCase).where(AuditCase.campaign_id == campaign["id"]).order_by(AuditCase.id))
        )
        other_case = s.scalars(
            select(AuditCase).join(Campaign).where(Campaign.number == other["number"])
        ).one()
        names = dict(s.execute(select(Enterprise.id, Enterprise.name)).all())
        assert len(cases) == 4 and all(c.state == "planned" for c in cases)
        refs = [(c.id, c.number, names[c.enterprise_id]) for c in cases]
        other_refs = (other_case.number, names[other_case.enterprise_id])
    aud = actors["aud"]
    day = TODAY + timedelta(days=8)  # the day after the start
    (p1, p1_number, _), (p2, _, _), (inspected, inspected_number, _), (rectifying, rectifying_number, _) = (
        refs
    )
    for number, bad in ((inspected_number, "no_arrears"), (rectifying_number, "pay_day")):
        ac.fire_action(db, aud, number, "notify", values={"method": "written"}, now=at(day, 9))
        answers = all_compliant_answers(street, number, day)
        answers[bad] = ("noncompliant", "检查发现的问题")
        ac.save_answers(db, aud, number, answers, now=at(day, 10))
        ac.fire_action(db, aud, number, "record_inspection", now=at(day, 11))
    finding = ac.add_finding(
        db,
        aud,
        inspected_number,
        item_code="no_arrears",
        severity=None,
        description="2名职工2026年2月工资少发1000元",
        rows=[{"workers": "2", "months": "1", "due": "5000", "paid": "4000"}],
        now=at(day, 12),
    )
    assert finding["finding_amount"] == "2000.00"
    pay_day = ac.add_finding(
        db,
        aud,
        rectifying_number,
        item_code="pay_day",
        severity=None,
        description="工资迟发五天",
        now=at(day, 12),
    )
    ac.fire_action(db, aud, rectifying_number, "confirm_findings", now=at(day, 13))
    items = {}
    for username in AUDIT_INSIDE:
        item = ac.add_rectification(
            db,
            aud,
            rectifying_number,
            finding_id=pay_day["finding_id"],
            action="按约定日期支付工资",
            owner=f"人事经理（{username}）",
            due=day + timedelta(days=30),
            required_evidence="工资发放记录",
            now=at(day, 14),
        )
        items[username] = item["rectification_id"]
    ac.fire_action(db, aud, rectifying_number, "order_rectification", now=at(day, 15))
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
    for username, item_id in items.items():
        store_evidence(
            db,
            aud,
            rectifying_number,
            filename=f"发放记录{username}.pdf",
            content=pdf,
            rectification_id=item_id,
            now=at(day, 16),
        )
    evidence = store_evidence(
        db, aud, rectifying_number, filename="工资台账.pdf", content=pdf, now=at(day, 17)
    )
    with unit_of_work(db, write=False) as uow:
        document_id = uow.session.scalar(
            select(AuditDocument.id).where(
                AuditDocument.audit_case_id == rectifying, AuditDocument.kind == "inspection_notice"
            )
        )
        assert document_id is not None
    web.audit = AuditPages(
        campaign_id=campaign["id"],
        campaign_number=campaign["number"],
        draft_id=draft["id"],
        draft_number=draft["number"],
        planned={"aud": p1, "admin": p2},
        planned_number=p1_number,
        inspected_id=inspected,
        inspected_number=inspected_number,
        finding_id=finding["finding_id"],
        rectifying_id=rectifying,
        rectifying_finding_id=pay_day["finding_id"],
        rectification=items,
        document_id=document_id,
        evidence_id=evidence["id"],
        enterprises=[name for _, _, name in refs],
        other_campaign_number=other["number"],
        other_case_number=other_refs[0],
        other_enterprise=other_refs[1],
    )
    return web.audit


def build_web_world(db: Database, settings: Settings | None = None) -> WebWorld:
    world = build_world(db)
    with unit_of_work(db) as uow:
        s = uow.session
        other = s.scalar(select(OrgUnit).where(OrgUnit.code == "other"))
        assert other is not None
        add_user(
            s, username="other_admin", display_name="邻街管理员", org_unit=other, roles=["federation_admin"]
        )
        add_user(s, username="other_rev", display_name="邻街审查员", org_unit=other, roles=["reviewer"])
        add_user(s, username="other_aud", display_name="邻街督查员", org_unit=other, roles=["auditor"])
        for user in s.scalars(select(User)):
            user.password_hash = password_hash()
    case = uc.create_case(db, world.instructor, kind="enterprise", enterprise=world.enterprise_code)
    walk(world, case["id"], "negotiating")
    uc.set_agreement_terms(db, world.instructor, case["id"], {**TERMS, "rate_tables": [RATE_TABLE]})
    sector = uc.create_case(db, world.instructor, kind="sector", sector="tea")
    other_case = uc.create_case(
        db, world.other_instructor, kind="enterprise", enterprise=world.other_enterprise_code
    )
    settings = settings or make_settings(db)
    app = create_app(settings, db, scheduler=False)
    with unit_of_work(db, write=False) as uow:
        users = dict(uow.session.execute(select(User.username, User.id)).all())
    return WebWorld(
        world=world,
        db=db,
        settings=settings,
        app=app,
        case_id=case["id"],
        case_number=case["number"],
        sector_case_id=sector["id"],
        sector_case_number=sector["number"],
        other_case_id=other_case["id"],
        other_case_number=other_case["number"],
        users=users,
    )


_SAMPLE_PDF: list[bytes] = []


def sample_pdf() -> bytes:
    """A small real PDF (no signatures) for upload routes; rendered once per process."""
    if not _SAMPLE_PDF:
        from weasyprint import HTML

        _SAMPLE_PDF.append(HTML(string="<p lang='zh-CN'>扫描件</p>").write_pdf())
    return _SAMPLE_PDF[0]
