"""A federation with Chinese names, cases walked to every stage, and PDF inspection tools."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bargaining.db import Database
from bargaining.models import Enterprise, OrgUnit
from services import cases as uc
from services.demo import TEA_GRADES, TEA_PERIODS
from services.uow import unit_of_work
from tests.support import World, at, build_world, fire

NAMES = {
    "worker": ["王芳", "赵磊", "孙丽"],
    "employer": ["李强", "周敏", "吴军"],
}

TERMS: dict[str, Any] = {
    "term_start": "2026-01-01",
    "term_end": "2026-12-31",
    "avg_wage_before": "5000",
    "avg_wage_after": "5450",
    "payment_day": 15,
    "minimum_wage_clause": "企业支付给职工的工资不低于江苏省公布的当地最低工资标准。",
    "clauses": [
        {"title": "工资增长", "text": "本年度职工平均工资增长9%，一线职工增幅不低于平均增幅。"},
        {"title": "加班工资", "text": "延长工作时间、休息日、法定节假日加班分别按150%、200%、300%支付。"},
    ],
}


def rate_table(
    year: int = 2026, *, rows: int | None = None, low_cell: tuple[str, str, str] | None = None
) -> dict[str, Any]:
    """The tea sector's 11-period table (3 grades, or ``rows`` generated varieties)."""
    grades = list(TEA_GRADES)
    if rows is not None:
        grades = [
            (f"V{n:02d}", f"品种{n:02d}一芽一叶", "6", 30 + n % 7, 22 + n % 5) for n in range(1, rows + 1)
        ]
    cells = {
        code: {
            p[0]: str(round(first - (first - last) * i / (len(TEA_PERIODS) - 1)))
            for i, p in enumerate(TEA_PERIODS)
        }
        for code, _name, _quota, first, last in grades
    }
    if low_cell is not None:
        cells[low_cell[0]][low_cell[1]] = low_cell[2]
    return {
        "name": "茶叶采摘计件单价表",
        "unit": "斤",
        "currency": "CNY",
        "periods": [
            {"code": c, "name": n, "start": f"{year}-{a}", "end": f"{year}-{b}"} for c, n, a, b in TEA_PERIODS
        ],
        "rows": [{"code": c, "name": n, "quota": q} for c, n, q, _f, _l in grades],
        "cells": cells,
        "notes": "单位：元/斤鲜叶；定额为正常工作时间8小时采摘量。",
    }


def chinese_world(db: Database, jurisdiction: str = "national") -> World:
    """tests.support's federation, in Jiangsu (minimum wages), with addresses and union names."""
    world = build_world(db, jurisdiction=jurisdiction)
    with unit_of_work(db) as uow:
        s = uow.session
        s.execute(update(OrgUnit).values(province="jiangsu", jurisdiction=jurisdiction))
        s.execute(update(Enterprise).values(address="江苏省宜兴市测试路1号", legal_representative="陈总"))
    return world


def add_reps(world: World, ref: Any, day: date, *, actor: Any = None) -> None:
    for side, names in NAMES.items():
        for k, name in enumerate(names):
            uc.add_representative(
                world.db,
                actor or world.instructor,
                ref,
                side=side,
                name=name,
                person_key=f"{ref}-{side}-{k}",
                position="工会主席" if side == "worker" and k == 0 else None,
                chief=k == 0,
                front_line=side == "worker" and k > 0,
                now=at(day),
            )


def negotiate(world: World, ref: Any, day: date, terms: dict[str, Any], *, actor: Any = None) -> date:
    """preparation → awaiting_congress; returns the last day used."""
    who = actor or world.instructor
    add_reps(world, ref, day, actor=who)
    fire(
        world,
        ref,
        "send_offer",
        day,
        who,
        from_side="worker",
        subjects="年度工资调整幅度；劳动定额与计件单价",
    )
    day += timedelta(days=7)
    fire(world, ref, "record_response", day, who, notes="同意协商，确定首次协商会议时间。")
    day += timedelta(days=5)
    fire(
        world, ref, "record_round", day, who,
        chair_side="worker", recorder="刘记录", place="企业三楼会议室",
        minutes="双方就工资增长幅度交换意见。\n职工方提出增长10%，企业方提出8%。\n最终商定增长9%。",
        outcome="形成协议草案，提交职代会审议。",
    )  # fmt: skip
    uc.set_agreement_terms(world.db, who, ref, terms, now=at(day))
    fire(world, ref, "submit_draft", day, who)
    return day


def vote(world: World, ref: Any, day: date, *, actor: Any = None) -> date:
    day += timedelta(days=5)
    fire(
        world,
        ref,
        "record_congress_vote",
        day,
        actor or world.instructor,
        total=60,
        present=50,
        votes_for=45,
        against=3,
        abstain=2,
    )
    return day


@dataclass
class Pdf:
    data: bytes
    path: Path
    _text: str | None = None
    _pages: dict[int, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = pdftotext(self.path)
        return self._text

    @property
    def flat(self) -> str:
        """The text without any whitespace (pdftotext spaces CJK lines unpredictably)."""
        return re.sub(r"\s+", "", self.text)

    def page(self, number: int) -> str:
        if number not in self._pages:
            self._pages[number] = re.sub(r"\s+", "", pdftotext(self.path, first=number, last=number))
        return self._pages[number]

    @property
    def pages(self) -> int:
        out = subprocess.run(["pdfinfo", str(self.path)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", out).group(1))  # type: ignore[union-attr]

    def fonts(self) -> list[dict[str, str]]:
        return pdffonts(self.path)


def save(data: bytes, name: str, directory: Path | None = None) -> Pdf:
    directory = directory or Path(tempfile.mkdtemp(prefix="pdf-"))
    path = directory / f"{name}.pdf"
    path.write_bytes(data)
    return Pdf(data, path)


def pdftotext(path: Path, *, first: int | None = None, last: int | None = None, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    if first is not None:
        args += ["-f", str(first), "-l", str(last or first)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdffonts(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = []
    for line in out.splitlines()[2:]:
        # name type... encoding emb sub uni object ID: the last 5 columns are fixed
        parts = line.split()
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3], "line": line})
    return fonts


def pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
