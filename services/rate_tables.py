"""Piece-rate tables (计件单价表): XLSX import and export, editing as a grid, comparison with last year.

A table is structured data (see bargaining/models/agreement.py RateTable): rows of grades or
varieties with a quota, columns of periods with date ranges, a rate per cell. The XLSX layout is
the one a federation fills in by hand:

    表名      | 茶叶采摘计件单价表
    计价单位  | 斤
    币种      | CNY
    说明      | …
    (blank)
    代码 | 等级/品种 | 定额 | P01 明前一期 | P02 明前二期 | …      ← header: period code, space, name
         | 起止日期  |      | 2026-03-10~2026-03-16 | …           ← period date ranges
    BUD  | 单芽      | 3.5  | 42 | 41 | …                           ← one row per grade
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import Agreement, Case, RateTable

from .cases import set_agreement_terms
from .repository import get_case
from .uow import unit_of_work

HEADER_ROW = 6
MAX_ROWS = 500
MAX_PERIODS = 60
MAX_BYTES = 5 * 1024 * 1024


def table_dict(t: RateTable) -> dict[str, Any]:
    return {
        "name": t.name,
        "unit": t.unit,
        "currency": t.currency,
        "periods": t.periods,
        "rows": t.rows,
        "cells": t.cells,
        "notes": t.notes,
    }


def tables_of(session: Session, case_id: int) -> list[dict[str, Any]]:
    agreement_id = session.scalar(select(Agreement.id).where(Agreement.case_id == case_id))
    if agreement_id is None:
        return []
    return [
        table_dict(t)
        for t in session.scalars(
            select(RateTable).where(RateTable.agreement_id == agreement_id).order_by(RateTable.id)
        )
    ]


# ---- XLSX -------------------------------------------------------------------------------------------


def export_xlsx(table: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "计件单价表"
    for r, (label, value) in enumerate(
        (
            ("表名", table["name"]),
            ("计价单位", table["unit"]),
            ("币种", table.get("currency") or "CNY"),
            ("说明", table.get("notes") or ""),
        ),
        1,
    ):
        ws.cell(r, 1, label).font = Font(bold=True)
        ws.cell(r, 2, value)
    header = ["代码", "等级/品种", "定额"] + [
        f"{p['code']} {p.get('name', '')}".strip() for p in table["periods"]
    ]
    for c, text in enumerate(header, 1):
        cell = ws.cell(HEADER_ROW, c, text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FDE68A")
        cell.alignment = Alignment(wrap_text=True)
    ws.cell(HEADER_ROW + 1, 2, "起止日期")
    for c, p in enumerate(table["periods"], 4):
        ws.cell(HEADER_ROW + 1, c, f"{p.get('start', '')}~{p.get('end', '')}")
    for r, row in enumerate(table["rows"], HEADER_ROW + 2):
        ws.cell(r, 1, row["code"])
        ws.cell(r, 2, row.get("name", ""))
        ws.cell(r, 3, _number(row.get("quota")))
        for c, p in enumerate(table["periods"], 4):
            value = table["cells"].get(row["code"], {}).get(p["code"])
            ws.cell(r, c, _number(value))
    ws.column_dimensions["B"].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _number(value: Any) -> Any:
    if value in (None, ""):
        return None
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)  # Excel stores numbers as doubles


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def import_xlsx(data: bytes) -> dict[str, Any]:
    """Parse a rate table; every problem is reported with its cell (e.g. "D9"), nothing half-read."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    if len(data) > MAX_BYTES:
        raise ValidationError("文件过大（上限5MB）。")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError("无法读取该文件：请上传 .xlsx 格式的计件单价表。") from None
    ws = wb.worksheets[0]
    grid = [
        list(row) for row in ws.iter_rows(min_row=1, max_row=HEADER_ROW + 1 + MAX_ROWS + 1, values_only=True)
    ]
    wb.close()
    problems: list[str] = []

    def at(r: int, c: int) -> Any:
        return grid[r - 1][c - 1] if r - 1 < len(grid) and c - 1 < len(grid[r - 1]) else None

    meta = {_text(at(r, 1)): _text(at(r, 2)) for r in range(1, 5)}
    name, unit = meta.get("表名", ""), meta.get("计价单位", "")
    if not name:
        problems.append("B1：缺少表名")
    if not unit:
        problems.append("B2：缺少计价单位")
    if [_text(at(HEADER_ROW, c)) for c in (1, 2, 3)] != ["代码", "等级/品种", "定额"]:
        raise ValidationError(
            f"第{HEADER_ROW}行应为表头：代码、等级/品种、定额、各时段（请使用导出的模板）。"
        )
    periods: list[dict[str, str]] = []
    c = 4
    while _text(at(HEADER_ROW, c)):
        head = _text(at(HEADER_ROW, c))
        code, _, pname = head.partition(" ")
        span = _text(at(HEADER_ROW + 1, c))
        start, _, end = span.partition("~")
        ref = get_column_letter(c)
        try:
            if date.fromisoformat(start.strip()) > date.fromisoformat(end.strip()):
                problems.append(f"{ref}{HEADER_ROW + 1}：时段起日晚于止日（{span}）")
        except ValueError:
            problems.append(
                f"{ref}{HEADER_ROW + 1}：时段起止日期应写成 2026-03-10~2026-03-16，实际为“{span}”"
            )
        if code in {p["code"] for p in periods}:
            problems.append(f"{ref}{HEADER_ROW}：时段代码 {code} 重复")
        periods.append(
            {"code": code, "name": pname.strip() or code, "start": start.strip(), "end": end.strip()}
        )
        c += 1
        if len(periods) > MAX_PERIODS:
            raise ValidationError(f"时段过多（上限{MAX_PERIODS}个）。")
    if not periods:
        problems.append(f"D{HEADER_ROW}：至少需要一个时段")
    rows: list[dict[str, str]] = []
    cells: dict[str, dict[str, str]] = {}
    for r in range(HEADER_ROW + 2, HEADER_ROW + 2 + MAX_ROWS + 1):
        code = _text(at(r, 1))
        if not code and not _text(at(r, 2)):
            continue
        if r >= HEADER_ROW + 2 + MAX_ROWS:
            raise ValidationError(f"行数过多（上限{MAX_ROWS}行）。")
        if not code:
            problems.append(f"A{r}：缺少代码")
            continue
        if code in cells:
            problems.append(f"A{r}：代码 {code} 重复")
            continue
        quota = _decimal_cell(at(r, 3), f"C{r}", problems, required=False)
        rows.append(
            {"code": code, "name": _text(at(r, 2)) or code, "quota": "" if quota is None else str(quota)}
        )
        cells[code] = {}
        for i, p in enumerate(periods, 4):
            value = _decimal_cell(at(r, i), f"{get_column_letter(i)}{r}", problems, required=False)
            if value is not None:
                cells[code][p["code"]] = str(value)
    if not rows:
        problems.append(f"A{HEADER_ROW + 2}：至少需要一行等级/品种")
    if problems:
        raise ValidationError(
            "计件单价表有误：" + "；".join(problems[:50]) + ("……" if len(problems) > 50 else ""),
            details={"problems": problems},
        )
    return {
        "name": name,
        "unit": unit,
        "currency": meta.get("币种") or "CNY",
        "notes": meta.get("说明") or None,
        "periods": periods,
        "rows": rows,
        "cells": cells,
    }


def _decimal_cell(value: Any, ref: str, problems: list[str], *, required: bool) -> Decimal | None:
    text = _text(value)
    if not text:
        if required:
            problems.append(f"{ref}：不能为空")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        problems.append(f"{ref}：应为数字，实际为“{text}”")
        return None
    if not number.is_finite() or number < 0:
        problems.append(f"{ref}：应为非负数，实际为“{text}”")
        return None
    return number


# ---- use cases --------------------------------------------------------------------------------------


def save_table(
    db: Database,
    actor: Actor,
    ref: str | int,
    table: dict[str, Any],
    *,
    index: int | None = None,
    expected_version: int | None = None,
    now: Any = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Put one table into the case's agreement (replacing the one at ``index`` or of the same name)."""
    with unit_of_work(db, write=False) as uow:
        case = get_case(uow.session, actor, ref)
        tables = tables_of(uow.session, case.id)
    if index is not None and 0 <= index < len(tables):
        tables[index] = table
    else:
        same = [i for i, t in enumerate(tables) if t["name"] == table["name"]]
        if same:
            tables[same[0]] = table
        else:
            tables.append(table)
    return set_agreement_terms(
        db,
        actor,
        ref,
        {"rate_tables": tables},
        expected_version=expected_version,
        now=now,
        request_id=request_id,
    )


def table_from_grid(form: dict[str, str], base: dict[str, Any] | None) -> dict[str, Any]:
    """A table from the grid form: ``row_code__N``, ``row_name__N``, ``quota__N``, ``period_code__M``…,
    ``cell__N__M``; blank extra rows/columns are ignored."""
    periods = []
    for m in sorted({k.split("__")[1] for k in form if k.startswith("period_code__")}, key=int):
        code = form.get(f"period_code__{m}", "").strip()
        if code:
            periods.append(
                {
                    "code": code,
                    "name": form.get(f"period_name__{m}", "").strip() or code,
                    "start": form.get(f"period_start__{m}", "").strip(),
                    "end": form.get(f"period_end__{m}", "").strip(),
                    "_m": m,
                }
            )
    rows, cells = [], {}
    for n in sorted({k.split("__")[1] for k in form if k.startswith("row_code__")}, key=int):
        code = form.get(f"row_code__{n}", "").strip()
        if not code:
            continue
        rows.append(
            {
                "code": code,
                "name": form.get(f"row_name__{n}", "").strip() or code,
                "quota": form.get(f"quota__{n}", "").strip(),
            }
        )
        cells[code] = {
            p["code"]: form[f"cell__{n}__{p['_m']}"].strip()
            for p in periods
            if form.get(f"cell__{n}__{p['_m']}", "").strip()
        }
    for p in periods:
        p.pop("_m")
        try:
            if date.fromisoformat(p["start"]) > date.fromisoformat(p["end"]):
                raise ValidationError(f"时段“{p['name']}”的起日晚于止日。")
        except ValueError:
            raise ValidationError(f"时段“{p['name']}”的起止日期应为 YYYY-MM-DD。") from None
    return {
        "name": form.get("name", "").strip() or (base or {}).get("name", ""),
        "unit": form.get("unit", "").strip() or (base or {}).get("unit", ""),
        "currency": (base or {}).get("currency") or "CNY",
        "notes": form.get("notes", "").strip() or None,
        "periods": periods,
        "rows": rows,
        "cells": cells,
    }


def previous_tables(session: Session, case: Case) -> list[dict[str, Any]]:
    """Last round's tables: the renewal's previous case, else the latest earlier case of the same party."""
    previous_id = case.previous_case_id
    if previous_id is None:
        query = select(Case.id).where(Case.id < case.id, Case.kind == case.kind)
        query = (
            query.where(Case.enterprise_id == case.enterprise_id)
            if case.enterprise_id
            else query.where(Case.sector_id == case.sector_id, Case.parent_id.is_(None))
        )
        previous_id = session.scalar(query.order_by(Case.id.desc()).limit(1))
    return tables_of(session, previous_id) if previous_id else []


def compare(current: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    """Increase per cell (%, two places) and on average, matched by row code and period code."""
    if last is None:
        return {"cells": {}, "average": None, "matched": 0}
    out: dict[str, dict[str, str]] = {}
    increases: list[Decimal] = []
    for row_code, by_period in current["cells"].items():
        for period, rate in by_period.items():
            old = last["cells"].get(row_code, {}).get(period)
            try:
                new_d, old_d = Decimal(str(rate)), Decimal(str(old))
            except (InvalidOperation, TypeError):
                continue
            if old_d <= 0:
                continue
            pct = ((new_d - old_d) / old_d * 100).quantize(Decimal("0.01"))
            out.setdefault(row_code, {})[period] = str(pct)
            increases.append(pct)
    average = (sum(increases, Decimal(0)) / len(increases)).quantize(Decimal("0.01")) if increases else None
    return {"cells": out, "average": None if average is None else str(average), "matched": len(increases)}


def rate_view(db: Database, actor: Actor, ref: str | int) -> dict[str, Any]:
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = get_case(s, actor, ref)
        tables = tables_of(s, case.id)
        last = {t["name"]: t for t in previous_tables(s, case)}
        return {
            "case_id": case.id,
            "number": case.number,
            "title": case.title,
            "version": case.version,
            "state": case.state,
            "tables": [{"table": t, "compare": compare(t, last.get(t["name"]))} for t in tables],
        }
