"""Templates: the manifest (name → file, version, hash) and the Jinja2 environment.

A template's hash covers its own file and every shared file (base layout, macros, CSS), so the
hash a document records pins exactly what it was rendered with. The manifest states version and
hash; rendering refuses a template whose files no longer match the manifest, so a change cannot
ship without a new version (``bargaining document templates --update`` rewrites the hashes after
you have bumped the versions).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from bargaining.errors import ValidationError
from bargaining.rules.numerals import (
    amount_in_capitals,
    counting_number,
    date_in_chinese,
    date_numeric,
    money,
    rmb_capital,
)

from . import settings

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    file: str
    version: str
    title: str
    sha256: str  # as recorded in the manifest


def templates_dir() -> Path:
    return settings.load().templates_dir.resolve()


def _read_manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return data


def compute_hash(directory: Path, file: str, shared: list[str]) -> str:
    digest = hashlib.sha256()
    for name in [file, *sorted(shared)]:
        digest.update(name.encode("utf-8") + b"\0")
        digest.update((directory / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@cache
def _manifest(directory: Path) -> tuple[dict[str, TemplateInfo], tuple[str, ...]]:
    raw = _read_manifest(directory)
    shared = list(raw["shared"])
    infos: dict[str, TemplateInfo] = {}
    for name, entry in raw["templates"].items():
        info = TemplateInfo(name, entry["file"], entry["version"], entry["title"], entry["sha256"])
        actual = compute_hash(directory, info.file, shared)
        if actual != info.sha256:
            raise ValidationError(
                f"模板“{name}”（{info.file}）与模板清单不一致：模板已修改但版本未更新。"
                "请提高清单中的版本号，并运行 bargaining document templates --update。",
                code="template_manifest_mismatch",
            )
        infos[name] = info
    return infos, tuple(shared)


def template(name: str) -> TemplateInfo:
    infos, _shared = _manifest(templates_dir())
    if name not in infos:
        raise ValidationError(f"没有名为“{name}”的文书模板。")
    return infos[name]


def all_templates() -> dict[str, TemplateInfo]:
    return dict(_manifest(templates_dir())[0])


def check_manifest(directory: Path | None = None) -> list[str]:
    """Templates whose files differ from their manifest hash (empty when all match)."""
    directory = directory or templates_dir()
    raw = _read_manifest(directory)
    return [
        name
        for name, entry in raw["templates"].items()
        if compute_hash(directory, entry["file"], raw["shared"]) != entry["sha256"]
    ]


def update_manifest(directory: Path | None = None) -> list[str]:
    """Rewrite the hashes in the manifest; returns the templates whose hash changed."""
    directory = directory or templates_dir()
    raw = _read_manifest(directory)
    changed = []
    for name, entry in raw["templates"].items():
        actual = compute_hash(directory, entry["file"], raw["shared"])
        if entry.get("sha256") != actual:
            entry["sha256"] = actual
            changed.append(name)
    (directory / MANIFEST).write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _manifest.cache_clear()
    _environment.cache_clear()
    return changed


# --- filters: every value arrives as JSON (strings for dates and decimals) --------------------


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _cn_date(value: Any) -> str:
    day = _as_date(value)
    return date_in_chinese(day) if day else "　　年　　月　　日"


def _num_date(value: Any) -> str:
    day = _as_date(value)
    return date_numeric(day) if day else "　　年　　月　　日"


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _rmb(value: Any) -> str:
    return rmb_capital(_decimal(value)) if value not in (None, "") else ""


def _capitals(value: Any) -> str:
    return amount_in_capitals(_decimal(value)) if value not in (None, "") else ""


def _money(value: Any) -> str:
    return money(_decimal(value)) if value not in (None, "") else ""


def _rate(value: Any) -> str:
    """A piece rate: at least two decimals, more only when the rate has them (12.50, 0.125)."""
    if value in (None, ""):
        return ""
    number = _decimal(value)
    return f"{number:.2f}" if number == number.quantize(Decimal("0.01")) else format(number.normalize(), "f")


def _cn_num(value: Any) -> str:
    return counting_number(int(value))


def _paragraphs(value: Any) -> Markup:
    """Untrusted multi-line text as escaped paragraphs (never raw HTML)."""
    if value in (None, ""):
        return Markup("")
    lines = [line.strip() for line in str(value).splitlines()]
    return Markup("").join(Markup("<p>{}</p>").format(escape(line)) for line in lines if line)


@cache
def _environment(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=True,  # every value is escaped; templates never mark user text safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cn_date=_cn_date,
        num_date=_num_date,
        rmb=_rmb,
        capitals=_capitals,
        money=_money,
        rate=_rate,
        cn_num=_cn_num,
        paragraphs=_paragraphs,
    )
    return env


def render_html(name: str, context: dict[str, Any]) -> str:
    info = template(name)
    env = _environment(templates_dir())
    return env.get_template(info.file).render(**context, template={"name": name, "version": info.version})
