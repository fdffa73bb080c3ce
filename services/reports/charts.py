"""Charts as inline SVG (no JavaScript): bar charts (grouped or stacked) and line charts.

Used by the PDF (WeasyPrint renders inline SVG) and the web page. Only SVG presentation
attributes are used, never ``style`` attributes, so the pages' Content-Security-Policy
(``style-src 'self'``) allows them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from .annual import AnnualReport

PALETTE = ("#b91c1c", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2")
FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif"

Number = int | float | Decimal | None
Series = tuple[str, Sequence[Number]]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    scale: float = 10**exponent  # an int, or a float below 1
    fraction = value / scale
    for nice in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if fraction <= nice:
            return nice * scale
    top: float = 10 ** (exponent + 1)
    return top


def _fmt(value: float) -> str:
    if abs(value) >= 10000:
        return f"{value / 10000:g}万"
    return f"{value:g}" if value != int(value) else f"{int(value):,}"


def _text(
    x: float, y: float, content: str, *, size: int = 11, anchor: str = "middle", fill: str = "#1f2937"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-family="{FONT}">{escape(content)}</text>'
    )


def _frame(
    categories: Sequence[str],
    series: Sequence[Series],
    title: str,
    unit: str,
    width: int,
    height: int,
    top: float,
) -> tuple[list[str], float, float, float, float]:
    left, right, bottom = 56.0, 12.0, 58.0
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(width / 2, 16, title, size=13),
    ]
    for i, (name, _values) in enumerate(series):  # legend
        x = left + i * 130
        parts.append(f'<rect x="{x:.1f}" y="26" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(_text(x + 14, 35, name, size=10, anchor="start"))
    if unit:
        parts.append(_text(4, top - 6, f"单位：{unit}", size=10, anchor="start", fill="#6b7280"))
    return parts, left, top, plot_w, plot_h


def _axes(parts: list[str], left: float, top: float, plot_w: float, plot_h: float, maximum: float) -> None:
    for k in range(5):
        value = maximum * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, _fmt(value), size=10, anchor="end", fill="#6b7280"))
    parts.append(
        f'<line x1="{left:.1f}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top + plot_h:.1f}" '
        f'stroke="#6b7280" stroke-width="1"/>'
    )


def _label(category: str, limit: int = 8) -> str:
    return category if len(category) <= limit else category[: limit - 1] + "…"


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    stacked: bool = False,
    width: int = 640,
    height: int = 280,
) -> str:
    """Bars per category, one colour per series (side by side, or stacked)."""
    parts, left, top, plot_w, plot_h = _frame(categories, series, title, unit, width, height, 56)
    values = [[float(v or 0) for v in vals] for _name, vals in series]
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=True)), default=0.0)
    else:
        peak = max((v for vals in values for v in vals), default=0.0)
    maximum = _nice_max(peak)
    if all(isinstance(v, int) for _name, vals in series for v in vals):
        maximum = max(4.0, math.ceil(maximum / 4) * 4)  # whole-number ticks for counts
    _axes(parts, left, top, plot_w, plot_h, maximum)
    n = max(1, len(categories))
    slot = plot_w / n
    bar_w = slot * 0.7 / (1 if stacked else max(1, len(series)))
    for c, category in enumerate(categories):
        base = top + plot_h
        x0 = left + slot * c + slot * 0.15
        for s, vals in enumerate(values):
            h = plot_h * vals[c] / maximum if maximum else 0
            x = x0 if stacked else x0 + bar_w * s
            y = base - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} {escape(series[s][0])}：'
                f"{_fmt(vals[c])}</title></rect>"
            )
            if not stacked and vals[c] and n * len(series) <= 24:
                parts.append(_text(x + bar_w / 2, y - 3, _fmt(vals[c]), size=9, fill="#374151"))
            if stacked:
                base = y
        parts.append(_text(left + slot * c + slot / 2, top + plot_h + 16, _label(category), size=10))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 260,
) -> str:
    """A line per series over the categories (gaps where a value is missing)."""
    parts, left, top, plot_w, plot_h = _frame(categories, series, title, unit, width, height, 56)
    present = [float(v) for _name, vals in series for v in vals if v is not None]
    maximum = _nice_max(max(present, default=0.0))
    _axes(parts, left, top, plot_w, plot_h, maximum)
    n = max(1, len(categories))
    slot = plot_w / n
    for s, (_name, vals) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = []
        for c, v in enumerate(vals):
            if v is None:
                continue
            x = left + slot * c + slot / 2
            y = top + plot_h - plot_h * float(v) / maximum
            points.append((x, y, float(v)))
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, v in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
            parts.append(_text(x, y - 6, _fmt(v), size=9, fill="#374151"))
    for c, category in enumerate(categories):
        parts.append(_text(left + slot * c + slot / 2, top + plot_h + 16, _label(category), size=10))
    parts.append("</svg>")
    return "".join(parts)


def report_charts(report: AnnualReport) -> dict[str, str]:
    """The annual report's charts (by year, by region, by sector) as SVG strings."""
    charts: dict[str, str] = {}
    if report.by_year:
        years = [r.label for r in report.by_year]
        charts["year_signed"] = bar_chart(
            years,
            [
                ("新签", [r.signed_new for r in report.by_year]),
                ("续签", [r.signed_renewal for r in report.by_year]),
            ],
            title="企业工资专项集体合同签订数（按年度）",
            unit="件",
            stacked=True,
        )
        charts["year_wage"] = line_chart(
            years,
            [("协商后月平均工资", [r.avg_wage_after for r in report.by_year])],
            title="协商后月平均工资（按年度）",
            unit="元/月",
        )
    if report.by_region:
        rows = [
            r for r in report.by_region if r.signed_enterprise or r.covered_enterprises
        ] or report.by_region
        charts["region"] = bar_chart(
            [r.label for r in rows],
            [
                ("企业合同签订数", [r.signed_enterprise for r in rows]),
                ("覆盖企业数", [r.covered_enterprises for r in rows]),
            ],
            title=f"{report.year}年各下级工会签订与覆盖情况",
        )
    if report.by_sector:
        charts["sector"] = bar_chart(
            [r.label for r in report.by_sector],
            [
                (
                    "签订协议数",
                    [r.signed_enterprise + r.sector_signed + r.adoption_signed for r in report.by_sector],
                ),
                ("覆盖企业数", [r.covered_enterprises for r in report.by_sector]),
            ],
            title=f"{report.year}年分行业签订与覆盖情况",
        )
    return charts
