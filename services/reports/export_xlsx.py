"""The annual report as an Excel workbook (openpyxl) with native Excel charts.

Sheets: 统计表 (every figure with its unit, numerator and denominator and its definition),
按年度 / 按区域 / 按行业 (the breakdowns, each with its charts: openpyxl.chart bar and line
charts that Excel draws from the sheet's own cells, so they stay editable).
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from .annual import TREND_COLUMNS, AnnualReport, TrendRow

NUMBER_FORMATS = {"%": "0.0#", "元/月": "#,##0.00", "元": "#,##0.00"}


def _value(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _trend_sheet(
    workbook: Any, title: str, first_header: str, rows: list[TrendRow], charts: list[dict[str, Any]]
) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet = workbook.create_sheet(title)
    header = [first_header, *(f"{label}（{unit}）" for _key, label, unit in TREND_COLUMNS)]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F1F5F9")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        sheet.append([row.label, *(_value(getattr(row, key)) for key, _label, _unit in TREND_COLUMNS)])
    sheet.column_dimensions["A"].width = 26
    for index, (_key, _label, unit) in enumerate(TREND_COLUMNS, start=2):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 14
        if unit in NUMBER_FORMATS:
            for r in range(2, len(rows) + 2):
                sheet.cell(row=r, column=index).number_format = NUMBER_FORMATS[unit]
    sheet.freeze_panes = "B2"
    if not rows:
        return
    columns = {key: index for index, (key, _l, _u) in enumerate(TREND_COLUMNS, start=2)}
    categories = Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1)
    anchor_row = len(rows) + 4
    for spec in charts:
        chart = LineChart() if spec.get("line") else BarChart()
        if not spec.get("line"):
            chart.type = "col"
            if spec.get("stacked"):
                chart.grouping = "stacked"
                chart.overlap = 100
        chart.title = spec["title"]
        chart.y_axis.title = spec.get("unit", "")
        chart.height, chart.width = 7.5, 16
        for key in spec["series"]:
            col = columns[key]
            chart.add_data(
                Reference(sheet, min_col=col, min_row=1, max_row=len(rows) + 1), titles_from_data=True
            )
        chart.set_categories(categories)
        sheet.add_chart(chart, f"A{anchor_row}")
        anchor_row += 16


def workbook_bytes(report: AnnualReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "统计表"
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            f"统计范围：{report.region_name}（{report.region_code}）及其下级组织；统计年度：{report.year}年（中国时区日历年）"
        ]
    )
    sheet.append(
        [
            f"生成时间：{report.generated_at.astimezone().strftime('%Y-%m-%d %H:%M')}；数据来源：协商事件日志、协议与协商记录"
        ]
    )
    sheet.append([])
    header = ["分组", "指标", "数值", "单位", "分子（计入件数）", "分母（统计件数）", "口径说明", "指标代码"]
    sheet.append(header)
    for cell in sheet[5]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F1F5F9")
    for f in report.figures:
        sheet.append(
            [f.group, f.label, _value(f.value) if f.value is not None else "—", f.unit, f.numerator, f.denominator,
             f.definition, f.key]
        )  # fmt: skip
        row = sheet.max_row
        if f.unit in NUMBER_FORMATS and f.value is not None:
            sheet.cell(row=row, column=3).number_format = NUMBER_FORMATS[f.unit]
        elif isinstance(f.value, int):
            sheet.cell(row=row, column=3).number_format = "#,##0"
        sheet.cell(row=row, column=7).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGH", (16, 30, 14, 8, 12, 12, 90, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "C6"
    for note in report.notes:
        sheet.append([])
        sheet.append([note])

    _trend_sheet(
        workbook,
        "按年度",
        "年度",
        report.by_year,
        [
            {
                "title": "企业工资专项集体合同签订数",
                "series": ["signed_new", "signed_renewal"],
                "stacked": True,
                "unit": "件",
            },
            {"title": "协商后月平均工资", "series": ["avg_wage_after"], "line": True, "unit": "元/月"},
            {"title": "覆盖职工数", "series": ["covered_workers"], "unit": "人"},
        ],
    )
    _trend_sheet(
        workbook,
        "按区域",
        "下级工会组织",
        report.by_region,
        [
            {
                "title": f"{report.year}年各下级工会签订与覆盖",
                "series": ["signed_enterprise", "covered_enterprises"],
            }
        ],
    )
    _trend_sheet(
        workbook,
        "按行业",
        "行业",
        report.by_sector,
        [
            {
                "title": f"{report.year}年分行业签订与覆盖",
                "series": ["signed_enterprise", "sector_signed", "covered_enterprises"],
            }
        ],
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(report: AnnualReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(report))
    return path
