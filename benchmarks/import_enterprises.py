"""Importing an enterprise list from XLSX: by default 100,000 enterprises. Goal: <= 60 s.

What is timed, on a fresh migrated database each (SQLite file, and PostgreSQL under
scripts/pg.sh): ``services.exchange.importer.import_enterprises`` — first as a dry run (read,
validate every row, check duplicates against the database), then the real import (the same,
then the bulk insert in one transaction).

Baselines, measured in the same run on the same file:

- reading: openpyxl's read-only mode iterating every row of the file and nothing else (the floor
  for any XLSX import in Python);
- raw insert: the same rows, already parsed, inserted with one ``executemany`` (SQLAlchemy Core)
  into a fresh database, without any validation.

    .venv/bin/python -m benchmarks.import_enterprises
    bash scripts/pg.sh .venv/bin/python -m benchmarks.import_enterprises --backend sqlite --backend postgres
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bargaining.db import Database, open_database  # noqa: E402
from bargaining.models import Enterprise, OrgUnit  # noqa: E402
from bargaining.rules.uscc import complete_credit_code  # noqa: E402
from services.exchange.columns import ENTERPRISE_COLUMNS  # noqa: E402
from services.exchange.importer import import_enterprises  # noqa: E402
from services.exchange.tabular import write_table  # noqa: E402
from services.identity import actor_for, add_user  # noqa: E402
from services.migrate import upgrade  # noqa: E402
from services.orgs import add_org_unit, add_sector  # noqa: E402
from services.uow import unit_of_work  # noqa: E402

PG_URL = os.environ.get("BARGAINING_TEST_POSTGRES_URL")
STREETS = 20
WORDS = "宏达金鼎华瑞永新恒通瑞丰鑫源东方阳羡荆溪太华丁蜀湖滏张渚善卷竹海远东新街屺亭徐舍高塍和桥官林杨巷"
TRADES = [
    "机械",
    "纺织",
    "电子",
    "建材",
    "陶瓷",
    "环保设备",
    "电缆",
    "化纤",
    "食品",
    "包装",
    "五金",
    "紫砂工艺",
]


def rows(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for n in range(count):
        word = WORDS[rng.randrange(len(WORDS))] + WORDS[rng.randrange(len(WORDS))]
        trade = TRADES[rng.randrange(len(TRADES))]
        yield {
            "credit_code": complete_credit_code(f"91320282{n:09d}"),
            "name": f"宜兴市{word}{trade}有限公司{n}",
            "org_unit": f"bench-street-{n % STREETS}",
            "sector": "tea" if n % 7 == 0 else None,
            "headcount": rng.choice((18, 26, 35, 48, 60, 85, 120, 160, 240, 320, 450)),
            "min_wage_tier": 1 + n % 3,
            "address": f"宜兴市{word}路{n % 300 + 1}号",
            "legal_representative": "王" + WORDS[rng.randrange(len(WORDS))],
            "union_name": f"宜兴市{word}{trade}有限公司工会",
            "union_chair": "李" + WORDS[rng.randrange(len(WORDS))],
        }


def _tree(db: Database) -> Any:
    with unit_of_work(db) as uow:
        s = uow.session
        city = add_org_unit(s, code="bench-city", name="基准市总工会", level="city", jurisdiction="jiangsu")
        for n in range(STREETS):
            add_org_unit(
                s, code=f"bench-street-{n}", name=f"基准第{n}街道总工会", level="street", parent=city
            )
        add_sector(s, code="tea", name="茶叶")
        admin = add_user(
            s, username="bench", display_name="基准管理员", org_unit=city, roles=["federation_admin"]
        )
        return actor_for(admin)


@contextmanager
def fresh(backend: str, workdir: Path) -> Iterator[Database]:
    if backend == "sqlite":
        path = workdir / f"import-{uuid.uuid4().hex[:8]}.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        db = open_database(url)
        try:
            yield db
        finally:
            db.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert PG_URL, "PostgreSQL: run under scripts/pg.sh (BARGAINING_TEST_POSTGRES_URL)"
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def excel_style(path: Path, data: list[dict[str, Any]]) -> Path:
    """The same rows as Excel or WPS save them: every text in the shared-string table (openpyxl
    writes inline strings instead, which openpyxl itself reads more slowly)."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}

    def shared(value: str) -> int:
        return strings.setdefault(value, len(strings))

    def letter(index: int) -> str:
        return chr(ord("A") + index)

    rows = []
    header = [c.header for c in ENTERPRISE_COLUMNS]
    keys = [c.key for c in ENTERPRISE_COLUMNS]
    for r, values in enumerate([header, *([row.get(k) for k in keys] for row in data)], start=1):
        cells = []
        for c, value in enumerate(values):
            ref = f"{letter(c)}{r}"
            if value is None:
                continue
            if isinstance(value, int):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="s"><v>{shared(str(value))}</v></c>')
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{main}">'
        f'<dimension ref="A1:{letter(len(keys) - 1)}{len(rows)}"/><sheetData>{"".join(rows)}</sheetData></worksheet>'
    )
    sst = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="企业名录" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{sst}</sst>',
        )
    return path


def read_only(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return count


def raw_insert(db: Database, data: list[dict[str, Any]]) -> float:
    with db.write_engine.begin() as conn:
        units = {code: uid for uid, code in conn.execute(select(OrgUnit.id, OrgUnit.code))}
        tea = conn.execute(text("SELECT id FROM sectors WHERE code = 'tea'")).scalar()
    now = datetime.now(UTC)
    prepared = [
        {
            **{k: v for k, v in r.items() if k not in ("org_unit", "sector")},
            "org_unit_id": units[r["org_unit"]],
            "sector_id": tea if r["sector"] else None,
            "created_at": now,
        }
        for r in data
    ]
    started = time.perf_counter()
    with db.write_engine.begin() as conn:
        for start in range(0, len(prepared), 5000):
            conn.execute(insert(Enterprise), prepared[start : start + 5000])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.import_enterprises", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bargaining-bench-import"
    )
    args = parser.parse_args(argv)
    backends = args.backend or (["sqlite", "postgres"] if PG_URL else ["sqlite"])
    args.workdir.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(f"[import_enterprises] {message}", file=sys.stderr, flush=True)

    data = list(rows(args.rows))
    started = time.perf_counter()
    files = {
        "Excel-style XLSX (shared strings)": excel_style(args.workdir / f"excel-{args.rows}.xlsx", data),
    }
    say(f"wrote the Excel-style file in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ours = args.workdir / f"enterprises-{args.rows}.xlsx"
    write_table(ours, ENTERPRISE_COLUMNS, data, sheet_title="企业名录")
    files["openpyxl-written XLSX (inline strings, as `export enterprises` writes)"] = ours
    say(f"wrote the export-style file in {time.perf_counter() - started:.1f} s")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}; load average {load}",
        f"{args.rows:,} enterprises",
    ]
    for backend in backends:
        with fresh(backend, args.workdir) as db:
            _tree(db)
            lines.append(
                f"{backend}: baseline raw executemany insert, no validation: {raw_insert(db, data):.2f} s"
            )
    for label, path in files.items():
        started = time.perf_counter()
        read_rows = read_only(path)
        lines.append(
            f"{label}, {path.stat().st_size / 1e6:.1f} MB: baseline openpyxl read-only iteration of every row "
            f"{time.perf_counter() - started:.2f} s ({read_rows:,} rows)"
        )
        say(lines[-1])
        for backend in backends:
            with fresh(backend, args.workdir) as db:
                actor = _tree(db)
                progress_seen: list[int] = []
                dry = import_enterprises(
                    db,
                    actor,
                    path,
                    dry_run=True,
                    progress=lambda _p, done, _t, seen=progress_seen: seen.append(done),
                )
                assert dry.valid_rows == args.rows and not dry.rejections, dry.summary
                real = import_enterprises(db, actor, path)
                assert real.imported == args.rows, real.summary
                with db.read_engine.connect() as conn:
                    stored = conn.execute(text("SELECT count(*) FROM enterprises")).scalar()
                assert stored == args.rows
                lines.append(
                    f"  {backend}: import_enterprises dry run {dry.seconds:.2f} s ({len(progress_seen)} progress "
                    f"reports); import {real.seconds:.2f} s (goal <= 60 s)"
                )
            say(lines[-1])
    lines.append(f"load average at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
