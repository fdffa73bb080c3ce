"""A small federation behind the web app, signed-in clients and API tokens for the web tests.

The world (tests/support.py) has a city federation with a street and a neighbouring street. Here
every user gets a password, and three users of the neighbouring street are added so each role has
someone inside the street's cases' region and someone outside it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bargaining.config import Settings
from bargaining.db import Database
from bargaining.models import Case, Event, OrgUnit, User
from bargaining.models.base import Base
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
