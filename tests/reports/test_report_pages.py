"""The annual report pages: figures with definitions, drill-down links that list the cases,
downloads, region scoping, and nothing the Content-Security-Policy would block."""

from __future__ import annotations

import re

from sqlalchemy import select

from bargaining.models import User
from services.uow import unit_of_work
from services.web import report_pages
from services.web.app import create_app
from tests.web.harness import PASSWORD, make_settings, password_hash, sign_in

from .dataset import build


def _app(db):
    with unit_of_work(db) as uow:
        for user in uow.session.scalars(select(User)):
            user.password_hash = password_hash()
    app = create_app(make_settings(db), db, scheduler=False)
    paths = {getattr(r, "path", None) for r in app.router.routes}
    if "/reports/annual" not in paths:  # until services/web/app.py includes the router
        app.include_router(report_pages.router)
    return app


def test_annual_report_pages(sqlite_db):
    from fastapi.testclient import TestClient

    data = build(sqlite_db)
    client = TestClient(_app(sqlite_db), raise_server_exceptions=True, follow_redirects=False)
    sign_in(client, "admin", PASSWORD)
    page = client.get("/reports/annual?region=city&year=2025")
    assert page.status_code == 200, page.text
    html = page.text
    assert "测试市总工会2025年度工资集体协商工作统计" in html and "口径说明" in html
    assert (
        'id="figure-renewal_rate"' in html and "50.0" in html and "续签率 = " not in html.split("续签率")[0]
    )
    assert "/reports/annual/cases?region=city&amp;year=2025&amp;figure=signed_enterprise" in html
    assert "<svg" in html and not re.search(r"\sstyle=", html) and "<script" not in html
    cases = client.get("/reports/annual/cases?region=city&year=2025&figure=disclosure_rate&part=missing")
    assert cases.status_code == 200
    for key in ("E2", "E3", "O1", "S1", "A0"):
        assert data.numbers[key] in cases.text
    assert data.numbers["E1"] not in cases.text and "共 5 件" in cases.text
    xlsx = client.get("/reports/annual.xlsx?region=street&year=2025")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "filename*=UTF-8''" in xlsx.headers["content-disposition"]
    # A street instructor sees the street and nothing above it.
    other = TestClient(client.app, raise_server_exceptions=True, follow_redirects=False)
    sign_in(other, "zhang", PASSWORD)
    own = other.get("/reports/annual")
    assert own.status_code == 200 and "测试街道总工会" in own.text
    assert other.get("/reports/annual?region=city&year=2025").status_code == 404
    assert (
        other.get("/reports/annual/cases?region=city&year=2025&figure=signed_enterprise").status_code == 404
    )
    assert other.get("/reports/annual?year=abc").status_code == 422
