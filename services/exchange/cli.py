"""``bargaining import …`` and ``bargaining export …``: enterprises, representatives, existing agreements.

Registered on the main command by ``register(app)`` (services/cli.py). A dry run lists every
rejected row; the import writes nothing when a row is rejected unless ``--valid-only``; large
files show a progress line on standard error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from bargaining.actors import Actor
from bargaining.errors import ValidationError

from .columns import COLUMN_SETS, KIND_LABELS, describe

import_app = typer.Typer(help="导入：企业名录、协商代表、既有集体合同（XLSX/CSV）", no_args_is_help=True)
export_app = typer.Typer(
    help="导出：企业名录、协商代表、既有集体合同（XLSX/CSV，列与导入相同）", no_args_is_help=True
)

AsUser = Annotated[
    str, typer.Option("--as", help="操作用户（默认取 BARGAINING_USER，否则 admin）", envvar="BARGAINING_USER")
]
File = Annotated[Path, typer.Argument(help=".xlsx 或 .csv 文件（CSV 可为 UTF-8 或 GB18030 编码）")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="只校验，列出全部被拒绝的行，不导入")]
ValidOnly = Annotated[bool, typer.Option("--valid-only", help="有被拒绝的行时，仍导入其余有效行")]
Errors = Annotated[Path | None, typer.Option("--errors", help="把被拒绝的行写入此文件（.csv 或 .xlsx）")]
JsonOut = Annotated[bool, typer.Option("--json", help="输出 JSON")]
Out = Annotated[Path, typer.Option("--out", "-o", help="输出文件（.xlsx 或 .csv）")]
Region = Annotated[str | None, typer.Option("--region", "-r", help="工会组织代码（默认为本人管辖的全部）")]


def _actor(username: str) -> Actor:
    from ..identity import actor_by_username
    from ..runtime import database
    from ..uow import unit_of_work

    with unit_of_work(database(), write=False) as uow:
        return actor_by_username(uow.session, username)


class ProgressLine:
    """A progress line on standard error: rewritten in place on a terminal, every ~5 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and not (total and done >= total):
            return
        self.last = now
        share = f"（{min(100, done * 100 // total)}%）" if total else ""
        line = f"{phase} {done:,}" + (f" / {total:,} 行" if total else " 行") + share
        if self.tty:
            sys.stderr.write("\r" + line + "   ")
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _run(
    kind: str, file: Path, dry_run: bool, valid_only: bool, errors: Path | None, as_user: str, as_json: bool
) -> None:
    from ..runtime import database
    from . import importer

    fn = {
        "enterprises": importer.import_enterprises,
        "representatives": importer.import_representatives,
        "cases": importer.import_cases,
    }[kind]
    progress = ProgressLine()
    try:
        result = fn(
            database(), _actor(as_user), file, dry_run=dry_run, valid_only=valid_only, progress=progress
        )
    finally:
        progress.close()
    if errors is not None and result.rejections:
        from .columns import Column
        from .tabular import write_table

        columns = (
            Column("row", "行号", "int"),
            Column("column", "列"),
            Column("value", "内容"),
            Column("reason", "原因"),
        )
        write_table(errors, columns, (r.to_json() for r in result.rejections), sheet_title="被拒绝的行")
    summary = result.summary + (
        f" 被拒绝的行已写入 {errors}。" if errors is not None and result.rejections else ""
    )
    failed = bool(result.rejections) and not (valid_only and result.imported)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        if result.unknown_headers:
            typer.echo(f"未识别的列（已忽略）：{'、'.join(result.unknown_headers)}")
        for rejection in result.rejections:
            typer.echo(rejection.line())
        if not failed:
            typer.echo(summary)
    if failed:  # exit status 1 with the summary, like every business error of the command
        raise ValidationError(summary)


@import_app.command("enterprises")
def import_enterprises(
    file: File, dry_run: DryRun = False, valid_only: ValidOnly = False, errors: Errors = None,
    as_user: AsUser = "admin", as_json: JsonOut = False,
) -> None:  # fmt: skip
    """导入企业名录（统一社会信用代码、企业名称、所属工会代码、职工人数……）。"""
    _run("enterprises", file, dry_run, valid_only, errors, as_user, as_json)


@import_app.command("representatives")
def import_representatives(
    file: File, dry_run: DryRun = False, valid_only: ValidOnly = False, errors: Errors = None,
    as_user: AsUser = "admin", as_json: JsonOut = False,
) -> None:  # fmt: skip
    """导入协商代表（到筹备或协商中的协商）。"""
    _run("representatives", file, dry_run, valid_only, errors, as_user, as_json)


@import_app.command("cases")
def import_cases(
    file: File, dry_run: DryRun = False, valid_only: ValidOnly = False, errors: Errors = None,
    as_user: AsUser = "admin", as_json: JsonOut = False,
) -> None:  # fmt: skip
    """导入既有集体合同（已签订、生效或期满的企业工资专项集体合同，含各环节日期）。"""
    _run("cases", file, dry_run, valid_only, errors, as_user, as_json)


@import_app.command("columns")
def import_columns(
    kind: Annotated[str, typer.Argument(help="enterprises、representatives 或 cases")],
) -> None:
    """列出导入文件的列（表头）及填写要求。"""
    if kind not in COLUMN_SETS:
        raise ValidationError(f"未知的导入类型：{kind}（可选：{'、'.join(COLUMN_SETS)}）")
    typer.echo(f"{KIND_LABELS[kind]}导入文件的列（第一行为表头，列的顺序不限）：")
    for line in describe(kind):
        typer.echo(f"  {line}")


def _export(kind: str, out: Path, region: str | None, as_user: str) -> None:
    from ..runtime import database
    from . import exporter

    fn = {
        "enterprises": exporter.export_enterprises,
        "representatives": exporter.export_representatives,
        "cases": exporter.export_cases,
    }[kind]
    progress = ProgressLine()
    try:
        count = fn(database(), _actor(as_user), out, region=region, progress=progress)
    finally:
        progress.close()
    typer.echo(f"已导出{KIND_LABELS[kind]} {count:,} 行：{out}")


@export_app.command("enterprises")
def export_enterprises(out: Out, region: Region = None, as_user: AsUser = "admin") -> None:
    """导出企业名录（可直接再导入）。"""
    _export("enterprises", out, region, as_user)


@export_app.command("cases")
def export_cases(out: Out, region: Region = None, as_user: AsUser = "admin") -> None:
    """导出生效或期满的企业工资专项集体合同及各环节日期（可直接再导入）。"""
    _export("cases", out, region, as_user)


@export_app.command("representatives")
def export_representatives(out: Out, region: Region = None, as_user: AsUser = "admin") -> None:
    """导出协商代表。"""
    _export("representatives", out, region, as_user)


def register(app: typer.Typer) -> None:
    """Add ``import …`` and ``export …`` to the ``bargaining`` command."""
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
