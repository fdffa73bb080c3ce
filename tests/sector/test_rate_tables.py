"""Piece-rate tables: XLSX round trip, malformed files named cell by cell, comparison with last year."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bargaining.errors import ValidationError
from services import cases as uc
from services import rate_tables as rt
from services.queries import case_detail
from tests.support import TERMS, add_reps, at, build_world

TEA = {
    "name": "茶叶采摘计件单价表",
    "unit": "斤",
    "currency": "CNY",
    "notes": "元/斤鲜叶",
    "periods": [
        {
            "code": f"P{i:02d}",
            "name": f"第{i}期",
            "start": f"2026-{3 + i // 3:02d}-{1 + (i % 3) * 9:02d}",
            "end": f"2026-{3 + i // 3:02d}-{8 + (i % 3) * 9:02d}",
        }
        for i in range(1, 12)
    ],
    "rows": [
        {"code": "BUD", "name": "单芽", "quota": "3.5"},
        {"code": "1B1L", "name": "一芽一叶", "quota": "6"},
    ],
    "cells": {
        "BUD": {f"P{i:02d}": str(43 - i) for i in range(1, 12)},
        "1B1L": {f"P{i:02d}": str(26 - i // 3) for i in range(1, 12)},
    },
}


def test_xlsx_round_trip_keeps_every_cell():
    data = rt.export_xlsx(TEA)
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A6"].value == "代码" and ws["D6"].value == "P01 第1期" and ws["A8"].value == "BUD"
    back = rt.import_xlsx(data)
    assert back["periods"] == TEA["periods"]
    assert back["rows"] == TEA["rows"]
    assert back["cells"] == TEA["cells"]
    assert (back["name"], back["unit"], back["notes"]) == (TEA["name"], TEA["unit"], TEA["notes"])


def _edit(data: bytes, **cells: object) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    for ref, value in cells.items():
        wb.active[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_malformed_tables_name_each_bad_cell():
    data = rt.export_xlsx(TEA)
    with pytest.raises(ValidationError) as bad:
        rt.import_xlsx(_edit(data, D8="四十", E9=-1, F7="2026-05-01~2026-04-01", A9="BUD", B2=None))
    problems = bad.value.details["problems"]
    assert "D8：应为数字，实际为“四十”" in problems
    assert "A9：代码 BUD 重复" in problems
    assert any(p.startswith("F7：时段起日晚于止日") for p in problems)
    assert "B2：缺少计价单位" in problems
    with pytest.raises(ValidationError, match="表头"):
        rt.import_xlsx(_edit(data, A6="编号"))
    with pytest.raises(ValidationError, match=r"\.xlsx"):
        rt.import_xlsx(b"not a workbook at all")
    with pytest.raises(ValidationError, match="日期应写成"):
        rt.import_xlsx(_edit(data, D7="三月上旬"))


def test_compare_with_last_years_table_per_cell_and_on_average(db):
    w = build_world(db)
    first = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.tea_codes[0], now=at(date(2025, 1, 2))
    )
    last_year = {**TEA, "cells": {"BUD": {"P01": "40", "P02": "40"}, "1B1L": {"P01": "20"}}}
    uc.set_agreement_terms(db, w.instructor, first["id"], {**TERMS, "rate_tables": [last_year]})
    uc.fire_action(
        db, w.instructor, first["id"], "terminate", reason="测试：上一轮", now=at(date(2025, 1, 3))
    )
    second = uc.create_case(
        db, w.instructor, kind="enterprise", enterprise=w.tea_codes[0], now=at(date(2026, 1, 2))
    )
    add_reps(w, second["id"])
    this_year = {**TEA, "cells": {"BUD": {"P01": "42", "P02": "44"}, "1B1L": {"P01": "21", "P03": "20"}}}
    rt.save_table(db, w.instructor, second["id"], this_year)
    view = rt.rate_view(db, w.instructor, second["id"])
    compared = view["tables"][0]["compare"]
    assert compared["cells"] == {"BUD": {"P01": "5.00", "P02": "10.00"}, "1B1L": {"P01": "5.00"}}
    assert compared["average"] == "6.67" and compared["matched"] == 3
    # Saving a table of the same name replaces it; the agreement text hash follows.
    before = case_detail(db, w.admin, second["id"])["agreement"]["text_hash"]
    rt.save_table(db, w.instructor, second["id"], {**this_year, "cells": {"BUD": {"P01": "45"}}})
    detail = case_detail(db, w.admin, second["id"])
    assert len(detail["agreement"]["rate_tables"]) == 1
    assert detail["agreement"]["text_hash"] != before


def test_grid_form_becomes_a_table_and_ignores_blank_extras():
    form = {
        "name": "塑化计件单价表",
        "unit": "件",
        "period_code__0": "H1",
        "period_name__0": "上半年",
        "period_start__0": "2026-01-01",
        "period_end__0": "2026-06-30",
        "period_code__1": "",
        "period_name__1": "",
        "period_start__1": "",
        "period_end__1": "",
        "row_code__0": "A",
        "row_name__0": "注塑件",
        "quota__0": "800",
        "cell__0__0": "0.16",
        "cell__0__1": "",
        "row_code__1": "",
        "row_name__1": "",
        "quota__1": "",
    }
    table = rt.table_from_grid(form, None)
    assert table["periods"] == [{"code": "H1", "name": "上半年", "start": "2026-01-01", "end": "2026-06-30"}]
    assert table["rows"] == [{"code": "A", "name": "注塑件", "quota": "800"}]
    assert table["cells"] == {"A": {"H1": "0.16"}}
    with pytest.raises(ValidationError, match="起日晚于止日"):
        rt.table_from_grid({**form, "period_end__0": "2025-12-31"}, None)
