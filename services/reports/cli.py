"""``bargaining report …``: the annual report as JSON, XLSX or PDF, and the cases behind a figure.

Registered on the main command by ``register(app)`` (services/cli.py). Heavy libraries (openpyxl,
WeasyPrint) are imported only by the command that needs them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bargaining.actors import Actor
from bargaining.errors import ValidationError

report_app = typer.Typer(help="统计报表：年度工资集体协商工作统计", no_args_is_help=True)

AsUser = Annotated[
    str, typer.Option("--as", help="操作用户（默认取 BARGAINING_USER，否则 admin）", envvar="BARGAINING_USER")
]
Region = Annotated[str | None, typer.Option("--region", "-r", help="工会组织代码（默认为本人所在工会）")]
Year = Annotated[int, typer.Option("--year", "-y", help="统计年度，如 2025")]
FORMATS = ("json", "xlsx", "pdf")


def _actor(username: str) -> Actor:
    from ..identity import actor_by_username
    from ..runtime import database
    from ..uow import unit_of_work

    with unit_of_work(database(), write=False) as uow:
        return actor_by_username(uow.session, username)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def annual(
    year: Year,
    region: Region = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json、xlsx 或 pdf")] = "json",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="输出文件（xlsx/pdf 默认为 年度统计-组织-年度.扩展名）")
    ] = None,
    as_user: AsUser = "admin",
) -> None:
    """年度统计：签订、续签、覆盖、工资、各环节完成率、行业协商、履约检查；每项附口径说明。"""
    from ..runtime import database
    from .annual import annual_report

    if fmt not in FORMATS:
        raise ValidationError(f"--format 应为 {'、'.join(FORMATS)} 之一：{fmt}")
    report = annual_report(database(), _actor(as_user), region, year)
    if fmt == "json":
        text = json.dumps(report.to_json(), ensure_ascii=False, indent=2)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"已写入 {out}")
        return
    target = out or Path(f"年度统计-{report.region_code}-{year}.{fmt}")
    if fmt == "xlsx":
        from .export_xlsx import write_xlsx

        write_xlsx(report, target)
    else:
        from .export_pdf import write_pdf

        write_pdf(report, target)
    typer.echo(f"已生成 {report.title}：{target}")


def cases(
    year: Year,
    figure: Annotated[str, typer.Option("--figure", help="指标代码，如 signed_enterprise、disclosure_rate")],
    region: Region = None,
    part: Annotated[str, typer.Option(help="all 全部、counted 计入、missing 未计入（比例类指标）")] = "all",
    limit: int = 100,
    offset: int = 0,
    as_user: AsUser = "admin",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """列出某项统计指标所依据的协商（编号、名称、阶段，是否计入）。"""
    from ..runtime import database
    from .annual import cases_behind

    page = cases_behind(database(), _actor(as_user), region, year, figure, limit, offset, part)  # type: ignore[arg-type]
    if as_json:
        _echo_json(page.to_json())
        return
    f = page.figure
    typer.echo(f"{f.label}（{f.key}）：共 {page.total} 件，显示 {len(page.items)} 件")
    typer.echo(f"口径：{f.definition}")
    for row in page.items:
        mark = "" if part != "all" else ("  [计入]" if row.counted else "  [未计入]")
        value = f"  {row.value}" if row.value is not None else ""
        typer.echo(f"{row.number}  {row.state_label}  {row.title}{value}{mark}")


def figures() -> None:
    """列出全部统计指标及口径说明。"""
    from .annual import figure_specs

    for spec in figure_specs():
        typer.echo(f"{spec['key']}  {spec['label']}（{spec['unit']}）  [{spec['group']}]")
        typer.echo(f"    {spec['definition']}")


report_app.command("annual")(annual)
report_app.command("cases")(cases)
report_app.command("figures")(figures)


def register(app: typer.Typer) -> None:
    """Add ``report annual|cases|figures`` to the ``bargaining`` command."""
    app.add_typer(report_app, name="report")
