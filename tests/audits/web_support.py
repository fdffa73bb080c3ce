"""The web app with the audit pages mounted, and signed-in clients for the audit page tests."""

from __future__ import annotations

import functools
import re

from fastapi.testclient import TestClient
from sqlalchemy import update

from bargaining.config import Settings
from bargaining.db import Database
from bargaining.models import User
from services.uow import unit_of_work
from services.web import audit_pages
from services.web.app import create_app
from services.web.security import hash_password

PASSWORD = "audit-web-test-password"
SECRET = "audit-test-secret-" + "y" * 40
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def audit_app(db: Database) -> TestClient:
    settings = Settings(
        database_url=db.url, environment="test", secret_key=SECRET, cookie_secure=False, session_hours=10
    )
    app = create_app(settings, db, scheduler=False)
    app.include_router(audit_pages.router)  # the line services/web/app.py gets
    with unit_of_work(db) as uow:
        uow.session.execute(update(User).values(password_hash=_hash()))
    return TestClient(app)


def signed_in(db: Database, username: str) -> tuple[TestClient, str]:
    client = audit_app(db)
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/dashboard",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/dashboard")
    return client, csrf_of(page.text)
