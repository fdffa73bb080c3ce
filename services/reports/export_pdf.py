"""The annual report as a PDF: an HTML template (templates/annual.html, ``lang="zh-CN"``, Noto CJK)
rendered by WeasyPrint, with the charts as inline SVG generated here (no JavaScript)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .annual import TREND_COLUMNS, AnnualReport
from .charts import report_charts

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)))


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_html(report: AnnualReport) -> str:
    generated = report.generated_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    return (
        _environment()
        .get_template("annual.html")
        .render(
            r=report,
            generated=generated,
            charts=report_charts(report),
            columns=TREND_COLUMNS,
            tables=[
                ("按年度", [asdict(x) for x in report.by_year], "年度"),
                ("按下级工会组织", [asdict(x) for x in report.by_region], "工会组织"),
                ("按行业", [asdict(x) for x in report.by_sector], "行业"),
            ],
            fmt=_fmt,
        )
    )


def pdf_bytes(report: AnnualReport) -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=render_html(report), base_url=str(TEMPLATES)).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def write_pdf(report: AnnualReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(report))
    return path
