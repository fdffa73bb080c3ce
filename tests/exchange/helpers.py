"""The federation tree of tests/support.py without its enterprises, and file helpers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bargaining.db import Database
from services.identity import add_user
from services.orgs import add_org_unit, add_sector
from services.uow import unit_of_work


def build_tree(db: Database) -> None:
    """What tests.support.build_world builds, minus the enterprises (same codes and usernames)."""
    with unit_of_work(db) as uow:
        s = uow.session
        city = add_org_unit(s, code="city", name="测试市总工会", level="city", jurisdiction="national")
        street = add_org_unit(s, code="street", name="测试街道总工会", level="street", parent=city)
        other = add_org_unit(s, code="other", name="邻近街道总工会", level="street", parent=city)
        add_sector(s, code="tea", name="茶叶")
        add_user(s, username="admin", display_name="管理员", org_unit=city, roles=["federation_admin"])
        add_user(s, username="zhang", display_name="张指导员", org_unit=street, roles=["instructor"])
        add_user(s, username="li", display_name="李指导员", org_unit=other, roles=["instructor"])
        add_user(s, username="rev", display_name="审查员", org_unit=city, roles=["reviewer"])
        add_user(s, username="aud", display_name="督查员", org_unit=street, roles=["auditor"])


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def read_rows(path: Path) -> list[list[str]]:
    """Every row of an exported file as text (dates ISO, numbers as written), header included."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return [row for row in csv.reader(f)]
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    out = []
    for values in workbook.worksheets[0].iter_rows(values_only=True):
        out.append(
            ["" if v is None else v.date().isoformat() if hasattr(v, "date") else str(v) for v in values]
        )
    workbook.close()
    return out
