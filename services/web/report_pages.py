"""The annual report pages: the figures with their definitions, each opening the cases behind it,
and the XLSX/PDF downloads (services/reports)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bargaining.errors import ValidationError
from bargaining.models import OrgUnit
from bargaining.rules.periods import legal_date

from ..reports.annual import SPECS, annual_report, cases_behind
from ..reports.charts import report_charts
from ..repository import visible_org_units
from ..uow import unit_of_work
from .context import RequestContext
from .page_route import page
from .render import render

router = APIRouter(include_in_schema=False)
PAGE = 50


def _year(ctx: RequestContext, raw: str | None) -> int:
    if raw in (None, ""):
        return legal_date(ctx.now).year
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValidationError(f"统计年度应为四位年份：{raw}") from None


def _regions(ctx: RequestContext) -> list[tuple[str, str]]:
    with unit_of_work(ctx.db, write=False) as uow:
        return [
            (u.code, ("　" * (u.path.count("/") - 2)) + u.name)
            for u in uow.session.scalars(visible_org_units(ctx.actor).order_by(OrgUnit.path))
        ]


@router.get("/reports/annual", response_class=HTMLResponse)
@page
def annual_page(
    request: Request, ctx: RequestContext, region: str | None = None, year: str | None = None
) -> Response:
    report = annual_report(ctx.db, ctx.actor, region or None, _year(ctx, year), now=ctx.now)
    query = f"region={quote(report.region_code)}&year={report.year}"
    return render(
        request,
        "reports/annual.html",
        {"r": report, "charts": report_charts(report), "regions": _regions(ctx), "query": query},
    )


@router.get("/reports/annual/cases", response_class=HTMLResponse)
@page
def cases_page(
    request: Request,
    ctx: RequestContext,
    figure: str,
    region: str | None = None,
    year: str | None = None,
    part: str = "all",
    page: int = 1,
) -> Response:
    page = max(1, min(page, 100_000))
    result = cases_behind(
        ctx.db,
        ctx.actor,
        region or None,
        _year(ctx, year),
        figure[:40],
        PAGE,
        (page - 1) * PAGE,
        part,  # type: ignore[arg-type]
    )
    spec = SPECS[figure]
    query = f"region={quote(region or '')}&year={_year(ctx, year)}&figure={quote(figure)}&part={quote(part)}"
    return render(
        request,
        "reports/cases.html",
        {
            "result": result,
            "is_rate": spec.counted is not None,
            "region": region or "",
            "year": _year(ctx, year),
            "page": page,
            "pages": max(1, -(-result.total // PAGE)),
            "query": query,
        },
    )


def _download(body: bytes, filename: str, media_type: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


@router.get("/reports/annual.xlsx")
@page
def annual_xlsx(ctx: RequestContext, region: str | None = None, year: str | None = None) -> Response:
    from ..reports.export_xlsx import workbook_bytes

    report = annual_report(ctx.db, ctx.actor, region or None, _year(ctx, year), now=ctx.now)
    return _download(
        workbook_bytes(report),
        f"{report.title}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get("/reports/annual.pdf")
@page
def annual_pdf(ctx: RequestContext, region: str | None = None, year: str | None = None) -> Response:
    from ..reports.export_pdf import pdf_bytes

    report = annual_report(ctx.db, ctx.actor, region or None, _year(ctx, year), now=ctx.now)
    return _download(pdf_bytes(report), f"{report.title}.pdf", "application/pdf")
