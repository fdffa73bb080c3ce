"""What the ``bargaining`` command groups share: who acts (``--as``), ``--json`` output, workflow
action options and ``字段=值`` pairs. Used by services/cli.py and the capability CLIs
(``bargaining audit …``); kept free of heavy imports so ``bargaining --help`` stays fast."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import ValidationError

AsUser = Annotated[
    str, typer.Option("--as", help="操作用户（默认取 BARGAINING_USER，否则 admin）", envvar="BARGAINING_USER")
]
JsonOut = Annotated[bool, typer.Option("--json", help="输出 JSON")]
# The input of a workflow action (`case fire`, `audit case fire`).
ActionData = Annotated[list[str] | None, typer.Option("--data", "-d", help="字段=值，可重复")]
ActionReason = Annotated[str | None, typer.Option(help="原因/说明")]
ExpectedVersion = Annotated[int | None, typer.Option("--expected-version", help="您看到的版本号（并发保护）")]


def acting_user(db: Database, username: str) -> Actor:
    from .identity import actor_by_username
    from .uow import unit_of_work

    with unit_of_work(db, write=False) as uow:
        return actor_by_username(uow.session, username)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def pairs(items: list[str] | None, *, option: str | None = None, strip: bool = False) -> dict[str, str]:
    """``字段=值`` items as a dict; ``option`` names the option in the error, ``strip`` trims values."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValidationError(f"{option + ' ' if option else ''}应写成 字段=值：{item}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip() if strip else value
    return out
