"""The rate-table pages: grid save, Excel import with cell-by-cell errors, export."""

from __future__ import annotations

import io
import re
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from bargaining.config import load_settings
from bargaining.models import User
from services import cases as uc
from services import rate_tables as rt
from services.uow import unit_of_work
from services.web.app import create_app
from services.web.security import hash_password
from tests.sector.test_rate_tables import TEA
from tests.support import at, build_world

PASSWORD = "correct horse battery"


def _signed_in(db, username: str) -> TestClient:
    with unit_of_work(db) as uow:
        uow.session.scalar(select(User).where(User.username == username)).password_hash = hash_password(
            PASSWORD
        )
    client = TestClient(create_app(load_settings(), db, scheduler=False))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    return client


def _csrf(client: TestClient, path: str) -> tuple[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    version = re.search(r'name="expected_version" value="(\d+)"', page.text)
    return token, version.group(1) if version else ""


def test_import_edit_and_export_through_the_pages(sqlite_db):
    w = build_world(sqlite_db)
    ref = uc.create_case(
        sqlite_db, w.instructor, kind="enterprise", enterprise=w.tea_codes[0], now=at(date(2026, 1, 5))
    )["id"]
    client = _signed_in(sqlite_db, "zhang")
    token, version = _csrf(client, f"/cases/{ref}/rates")
    # A malformed workbook: every bad cell is listed, nothing is saved.
    wb = load_workbook(io.BytesIO(rt.export_xlsx(TEA)))
    wb.active["E8"] = "贵"
    buf = io.BytesIO()
    wb.save(buf)
    bad = client.post(
        f"/cases/{ref}/rates/import",
        data={"csrf_token": token, "expected_version": version},
        files={"file": ("rates.xlsx", buf.getvalue())},
    )
    assert bad.status_code == 422 and "E8：应为数字，实际为“贵”" in bad.text
    assert "该协商尚无计件单价表" in bad.text
    good = client.post(
        f"/cases/{ref}/rates/import",
        data={"csrf_token": token, "expected_version": version},
        files={"file": ("rates.xlsx", rt.export_xlsx(TEA))},
        follow_redirects=False,
    )
    assert good.status_code == 303
    page = client.get(f"/cases/{ref}/rates")
    assert "茶叶采摘计件单价表" in page.text and 'value="42"' in page.text
    # Edit one cell in the grid and add a grade in the blank row.
    token, version = _csrf(client, f"/cases/{ref}/rates")
    form = dict(
        re.findall(
            r'<input (?:type="date" )?name="((?:period|row|quota|cell)[^"]*)" value="([^"]*)"', page.text
        )
    )
    form.update(
        {
            "csrf_token": token,
            "expected_version": version,
            "name": TEA["name"],
            "unit": TEA["unit"],
            "cell__0__0": "43",
            "row_code__2": "1B2L",
            "row_name__2": "一芽二叶",
            "quota__2": "10",
            "cell__2__0": "15",
        }
    )
    saved = client.post(f"/cases/{ref}/rates/0", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:300]
    table = rt.rate_view(sqlite_db, w.instructor, ref)["tables"][0]["table"]
    assert table["cells"]["BUD"]["P01"] == "43" and table["cells"]["1B2L"] == {"P01": "15"}
    exported = client.get(f"/cases/{ref}/rates/0.xlsx")
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert rt.import_xlsx(exported.content)["cells"]["BUD"]["P01"] == "43"
    # Without the CSRF token nothing is saved.
    refused = client.post(f"/cases/{ref}/rates/0", data={**form, "csrf_token": "forged", "cell__0__0": "1"})
    assert refused.status_code == 403
    assert rt.rate_view(sqlite_db, w.instructor, ref)["tables"][0]["table"]["cells"]["BUD"]["P01"] == "43"
