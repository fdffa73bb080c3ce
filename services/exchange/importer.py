"""Importing enterprises, representatives and existing agreements from XLSX/CSV files.

Every import runs in two steps:

1. **Validation** (read-only): every row is parsed and checked — credit code (with the message of
   ``bargaining.rules.uscc``), unknown or out-of-reach region, duplicates inside the file and
   against the database, missing fields, bad numbers and dates. Every rejected row is reported
   with its row number (as Excel numbers it), its column and the reason.
2. **Import** (one transaction): nothing is written when any row was rejected, unless
   ``valid_only`` is asked for — then the valid rows are written and the rejected ones reported.
   A dry run stops after step 1. The duplicate checks against the database are repeated inside
   the write transaction, so a row registered meanwhile by someone else is refused, not doubled.

Enterprises are written with bulk inserts; an import writes one ``import_enterprises`` event.
An existing agreement becomes an enterprise case in force (or expired, once its term has ended)
with its agreement row, a ``create`` event, one event per stage whose date the file gives
(``send_offer`` … ``record_review_opinion``, marked ``imported`` in the payload, so the annual
report's stage figures read them like any other), an ``import_agreement`` event that sets the
state, and — in force — the expiry and renewal deadlines the engine opens on entering force.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
from psycopg.errors import UniqueViolation
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.agreement_text import agreement_text_hash
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import (
    Agreement,
    Case,
    Enterprise,
    OrgUnit,
    Representative,
    Sector,
    User,
    UserRole,
    table_of,
)
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.periods import legal_date
from bargaining.rules.uscc import InvalidCreditCode, validate_credit_code
from workflows import engine
from workflows.cases import start_case
from workflows.context import FireContext
from workflows.deadlines import close_deadlines, open_deadline, refresh_next_due
from workflows.definitions.common import IN_FORCE_OPENS
from workflows.events import write_event
from workflows.registry import definition

from .. import runtime
from ..cases import REPS_EDITABLE, STAFF, require_role
from ..repository import visible_cases, visible_org_units
from ..uow import unit_of_work
from .columns import (
    CASE_COLUMNS,
    ENTERPRISE_COLUMNS,
    REPRESENTATIVE_COLUMNS,
    STAGE_DATE_COLUMNS,
    Column,
)
from .tabular import open_table

Progress = Callable[[str, int, int | None], None]  # (phase, rows done, rows in all if known)
SIGNED_STATES = ("signed", "disclosed", "under_review", "in_force", "expired")
CHUNK = 2000
BY_KEY = {
    name: {c.key: c for c in columns}
    for name, columns in (
        ("enterprises", ENTERPRISE_COLUMNS),
        ("representatives", REPRESENTATIVE_COLUMNS),
        ("cases", CASE_COLUMNS),
    )
}


@dataclass(frozen=True)
class Rejection:
    row: int
    column: str | None
    reason: str
    value: str | None = None

    def line(self) -> str:
        where = f"第{self.row}行" + (f"“{self.column}”" if self.column else "")
        shown = f"（{self.value}）" if self.value not in (None, "") else ""
        return f"{where}{shown}：{self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class ImportResult:
    kind: str
    source: str
    dry_run: bool
    valid_only: bool
    total_rows: int = 0
    valid_rows: int = 0
    imported: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rejected_rows(self) -> int:
        return len({r.row for r in self.rejections})

    @property
    def summary(self) -> str:
        head = f"{self.source}：共 {self.total_rows:,} 行，有效 {self.valid_rows:,} 行，拒绝 {self.rejected_rows:,} 行"
        if self.dry_run:
            return head + "。试运行（--dry-run），未导入任何数据。"
        if self.imported:
            return (
                head + f"。已导入 {self.imported:,} 行" + ("（仅有效行）。" if self.rejected_rows else "。")
            )
        if self.rejected_rows:
            return head + "。因有被拒绝的行，未导入任何数据；改正后重新导入，或加 --valid-only 只导入有效行。"
        return head + "。没有可导入的数据。"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "dry_run": self.dry_run,
            "valid_only": self.valid_only,
            "total_rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "rejected_rows": self.rejected_rows,
            "imported": self.imported,
            "unknown_headers": self.unknown_headers,
            "rejections": [r.to_json() for r in self.rejections],
            "summary": self.summary,
            "seconds": round(self.seconds, 2),
        }


# ---- parsing one row ---------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "t"}
_FALSE = {"否", "n", "no", "false", "0", "×", "f", ""}


def _shown(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat(sep=" ")
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw)
    return text if len(text) <= 60 else text[:57] + "…"


class RowParser:
    """Parses one row's raw cells by column, collecting every problem with its column."""

    def __init__(self, row: int, raw: dict[str, Any], columns: Iterable[Column] | dict[str, Column]) -> None:
        self.row = row
        self.raw = raw
        self.columns = columns if isinstance(columns, dict) else {c.key: c for c in columns}
        self.problems: list[Rejection] = []

    @property
    def ok(self) -> bool:
        return not self.problems

    def reject(self, key: str | None, reason: str, value: Any = None) -> None:
        header = self.columns[key].header if key else None
        self.problems.append(Rejection(self.row, header, reason, _shown(value)))

    def _blank(self, key: str) -> bool:
        value = self.raw.get(key)
        return value is None or (isinstance(value, str) and not value.strip())

    def _missing(self, key: str) -> None:
        self.reject(key, f"缺少必填项“{self.columns[key].header}”")

    def text(self, key: str) -> str | None:
        column = self.columns[key]
        if self._blank(key):
            if column.required:
                self._missing(key)
            return None
        value = self.raw[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = unicodedata.normalize("NFC", str(value)).strip()
        if column.max_length and len(text) > column.max_length:
            self.reject(key, f"不能超过{column.max_length}个字", text)
            return None
        return text

    def credit_code(self, key: str) -> str | None:
        if self._blank(key):
            if self.columns[key].required:
                self._missing(key)
            return None
        value = self.raw[key]
        if isinstance(value, int | float | Decimal):
            self.reject(key, "统一社会信用代码应以文本格式填写（数字格式会丢失位数）", value)
            return None
        try:
            return validate_credit_code(str(value))
        except InvalidCreditCode as exc:
            self.reject(key, exc.message, value)
            return None

    def integer(self, key: str, low: int, high: int | None = None) -> int | None:
        if self._blank(key):
            if self.columns[key].required:
                self._missing(key)
            return None
        value = self.raw[key]
        number: Decimal | None
        try:
            number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        limit = f"{low}至{high}的整数" if high is not None else f"不小于{low}的整数"
        if number is None or not number.is_finite() or number != number.to_integral_value():
            self.reject(key, f"应为{limit}", value)
            return None
        result = int(number)
        if result < low or (high is not None and result > high):
            self.reject(key, f"应为{limit}", value)
            return None
        return result

    def decimal(self, key: str) -> Decimal | None:
        if self._blank(key):
            if self.columns[key].required:
                self._missing(key)
            return None
        value = self.raw[key]
        try:
            number = Decimal(str(value).strip().replace(",", "").rstrip("%％"))
        except InvalidOperation:
            self.reject(key, "应为数字", value)
            return None
        if not number.is_finite() or number < 0:
            self.reject(key, "应为不小于0的数字", value)
            return None
        if number >= Decimal("1e12"):
            self.reject(key, "数值过大", value)
            return None
        return number

    def date(self, key: str) -> date | None:
        if self._blank(key):
            if self.columns[key].required:
                self._missing(key)
            return None
        value = self.raw[key]
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 20000 < value < 80000:
            from openpyxl.utils.datetime import from_excel

            converted = from_excel(value)
            return converted.date() if isinstance(converted, datetime) else None
        match = _DATE.match(unicodedata.normalize("NFKC", str(value)).strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                pass
        self.reject(key, "日期格式应为 YYYY-MM-DD（如 2025-03-01）", value)
        return None

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text not in _FALSE:
            self.reject(key, "应填“是”或“否”", value)
        return False

    def choice(self, key: str, default: str | None = None) -> str | None:
        column = self.columns[key]
        if self._blank(key):
            if column.required:
                self._missing(key)
            return default
        text = str(self.raw[key]).strip()
        for stored, label in column.choices:
            if text in (stored, label):
                return stored
        self.reject(key, f"应为{'或'.join(label for _s, label in column.choices)}", text)
        return None


# ---- the shared flow --------------------------------------------------------------------------------


class _Reporter:
    """Throttled progress reports (at most ~5 a second, and always the last)."""

    def __init__(self, progress: Progress | None, phase: str, total: int | None) -> None:
        self.progress, self.phase, self.total = progress, phase, total
        self.last = 0.0

    def __call__(self, done: int, *, final: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if final or now - self.last >= 0.2:
            self.last = now
            self.progress(self.phase, done, self.total)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (same keys each) inside the session's transaction, as fast as the driver
    allows: ``COPY … FROM STDIN`` on PostgreSQL, one driver-level ``executemany`` on SQLite (the
    values go through each column type's own bind processor, as the ORM's would)."""
    if not rows:
        return
    names = list(rows[0])
    columns = ", ".join(f'"{n}"' for n in names)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[n] for n in names])
        return
    dialect = connection.dialect
    processors = [(n, table.c[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in names]
    connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join("?" for _ in names)})',
        [tuple(p(row[n]) if p is not None else row[n] for n, p in processors) for row in rows],
    )


def _finish(result: ImportResult, valid: list[Any]) -> bool:
    """Whether to write: not a dry run, something valid, and no rejection unless valid-only."""
    result.valid_rows = len(valid)
    result.rejections.sort(key=lambda r: r.row)
    if result.dry_run or not valid:
        return False
    return not (result.rejections and not result.valid_only)


def _staff_role(actor: Actor) -> str:
    return actor.primary_role(frozenset({"federation_admin", "instructor", "system"}))


# ---- enterprises --------------------------------------------------------------------------------------


@dataclass
class _Units:
    visible: dict[str, OrgUnit]
    known: set[str]

    @classmethod
    def load(cls, session: Session, actor: Actor) -> _Units:
        visible = {u.code: u for u in session.scalars(visible_org_units(actor))}
        return cls(visible, set(session.scalars(select(OrgUnit.code))))

    def check(self, parser: RowParser, key: str, code: str | None) -> OrgUnit | None:
        if code is None:
            return None
        unit = self.visible.get(code)
        if unit is None:
            reason = "所属工会不在您的管辖范围内" if code in self.known else "找不到该工会组织代码"
            parser.reject(key, reason, code)
        return unit


def _sectors(session: Session) -> dict[str, int]:
    found: dict[str, int] = {}
    for sector in session.scalars(select(Sector)):
        found[sector.name] = sector.id
        found[sector.code] = sector.id
    return found


def _existing_codes(session: Session, codes: list[str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(codes, 1000):
        out.update(session.scalars(select(Enterprise.credit_code).where(Enterprise.credit_code.in_(chunk))))
    return out


def _drop_registered(
    session: Session, result: ImportResult, valid: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    existing = _existing_codes(session, [v["credit_code"] for v in valid])
    if not existing:
        return valid
    header = ENTERPRISE_COLUMNS[0].header
    for v in valid:
        if v["credit_code"] in existing:
            result.rejections.append(
                Rejection(v["_row"], header, "该统一社会信用代码的企业已登记", v["credit_code"])
            )
    return [v for v in valid if v["credit_code"] not in existing]


def import_enterprises(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    valid_only: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import an enterprise list (企业名录); see ``columns.ENTERPRISE_COLUMNS``."""
    require_role(actor, STAFF, "导入企业")
    started = time.perf_counter()
    now = now or runtime.utcnow()
    result = ImportResult("enterprises", path.name, dry_run, valid_only)
    valid: list[dict[str, Any]] = []
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        units = _Units.load(s, actor)
        sectors = _sectors(s)
        seen: dict[str, int] = {}
        with open_table(path, ENTERPRISE_COLUMNS) as sheet:
            result.unknown_headers = sheet.unknown_headers
            report = _Reporter(progress, "校验", sheet.total_rows)
            for n, raw in sheet.rows:
                result.total_rows += 1
                p = RowParser(n, raw, BY_KEY["enterprises"])
                code = p.credit_code("credit_code")
                name = p.text("name")
                unit = units.check(p, "org_unit", p.text("org_unit"))
                sector_ref = p.text("sector")
                sector_id = None
                if sector_ref is not None:
                    sector_id = sectors.get(sector_ref)
                    if sector_id is None:
                        p.reject("sector", "找不到该行业代码", sector_ref)
                headcount = p.integer("headcount", 0)
                tier = p.integer("min_wage_tier", 1, 4)
                values = {
                    "address": p.text("address"),
                    "legal_representative": p.text("legal_representative"),
                    "union_name": p.text("union_name"),
                    "union_chair": p.text("union_chair"),
                }
                if code is not None:
                    if code in seen:
                        p.reject("credit_code", f"与第{seen[code]}行重复", code)
                    else:
                        seen[code] = n
                if p.ok:
                    assert (
                        code is not None and name is not None and unit is not None and headcount is not None
                    )
                    valid.append(
                        {
                            "_row": n,
                            "credit_code": code,
                            "name": name,
                            "org_unit_id": unit.id,
                            "sector_id": sector_id,
                            "headcount": headcount,
                            "min_wage_tier": tier or 1,
                            **values,
                        }
                    )
                else:
                    result.rejections.extend(p.problems)
                report(result.total_rows)
            report(result.total_rows, final=True)
        valid = _drop_registered(s, result, valid)
    if _finish(result, valid):
        report = _Reporter(progress, "写入", len(valid))
        with unit_of_work(db) as uow:
            s = uow.session
            again = _drop_registered(s, result, valid)
            if len(again) != len(valid) and not valid_only:
                result.rejections.sort(key=lambda r: r.row)
                result.valid_rows = len(again)
                result.seconds = time.perf_counter() - started
                return result
            done = 0
            try:
                for chunk in _chunks(again, 5000):
                    bulk_insert(
                        s,
                        table_of(Enterprise),
                        [
                            {k: v for k, v in row.items() if k != "_row"} | {"created_at": now}
                            for row in chunk
                        ],
                    )
                    done += len(chunk)
                    report(done)
            except (IntegrityError, UniqueViolation):
                raise ValidationError(
                    "导入期间有人登记了相同统一社会信用代码的企业，未导入任何数据，请重新导入。"
                ) from None
            write_event(
                s,
                None,
                "import_enterprises",
                actor=actor,
                role=_staff_role(actor),
                now=now,
                reason=f"导入企业名录 {path.name}",
                payload={"file": path.name, "rows": result.total_rows, "imported": len(again)},
            )
            report(done, final=True)
        result.imported = len(again)
        result.valid_rows = len(again)
        result.rejections.sort(key=lambda r: r.row)
    result.seconds = time.perf_counter() - started
    return result


# ---- representatives ----------------------------------------------------------------------------------


def _editable(case: Case) -> bool:
    return case.state in (REPS_EDITABLE if case.kind != "adoption" else ("preparation",))


def import_representatives(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    valid_only: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import negotiation representatives (协商代表) into cases in preparation or negotiation."""
    require_role(actor, STAFF, "导入协商代表")
    started = time.perf_counter()
    now = now or runtime.utcnow()
    result = ImportResult("representatives", path.name, dry_run, valid_only)
    valid: list[dict[str, Any]] = []
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        cases_by_ref: dict[str, Case | str] = {}
        people: dict[tuple[int, str], tuple[str, int | None]] = {}  # (case, person) -> (side, row or None=db)
        loaded: set[int] = set()  # cases whose registered representatives are in ``people``

        def case_for(p: RowParser, number: str | None, code: str | None) -> Case | None:
            ref = number or f"code:{code}"
            if ref not in cases_by_ref:
                if number:
                    hit = s.scalar(visible_cases(actor).where(Case.number == number))
                    cases_by_ref[ref] = hit if hit is not None else "找不到该协商编号，或您无权查看"
                else:
                    matches = list(
                        s.scalars(
                            visible_cases(actor)
                            .join(Enterprise, Enterprise.id == Case.enterprise_id)
                            .where(Enterprise.credit_code == code, Case.state.in_(REPS_EDITABLE))
                        )
                    )
                    cases_by_ref[ref] = (
                        matches[0]
                        if len(matches) == 1
                        else "该企业没有筹备或协商中的协商，请填写协商编号"
                        if not matches
                        else "该企业有多件进行中的协商，请填写协商编号"
                    )
            found = cases_by_ref[ref]
            if isinstance(found, str):
                p.reject("case" if number else "credit_code", found, number or code)
                return None
            if not _editable(found):
                label = definition(found.definition_name, found.definition_version).state_label(found.state)
                p.reject(
                    "case" if number else "credit_code",
                    f"协商当前阶段（{label}）不能变更协商代表",
                    found.number,
                )
                return None
            if found.id not in loaded:
                loaded.add(found.id)
                for rep in s.scalars(select(Representative).where(Representative.case_id == found.id)):
                    people[(found.id, rep.person_key)] = (rep.side, None)
            return found

        with open_table(path, REPRESENTATIVE_COLUMNS) as sheet:
            result.unknown_headers = sheet.unknown_headers
            report = _Reporter(progress, "校验", sheet.total_rows)
            for n, raw in sheet.rows:
                result.total_rows += 1
                p = RowParser(n, raw, BY_KEY["representatives"])
                number = p.text("case")
                code = p.credit_code("credit_code")
                side = p.choice("side")
                name = p.text("name")
                person = p.text("person_key") or name
                values = {
                    "position": p.text("position"),
                    "chief": p.boolean("chief"),
                    "outsider": p.boolean("outsider"),
                    "front_line": p.boolean("front_line"),
                }
                case = None
                if number is not None or code is not None:
                    case = case_for(p, number, code)
                elif not any(pr.column == REPRESENTATIVE_COLUMNS[1].header for pr in p.problems):
                    p.reject("case", "请填写协商编号或统一社会信用代码")
                if case is not None and person is not None and side is not None:
                    earlier = people.get((case.id, person))
                    if earlier is not None:
                        where = "数据库中已登记" if earlier[1] is None else f"与第{earlier[1]}行重复"
                        if earlier[0] != side:
                            p.reject("name", f"同一人不能同时担任双方代表（{where}为另一方代表）", name)
                        else:
                            p.reject("name", f"该协商代表{where}", name)
                    else:
                        people[(case.id, person)] = (side, n)
                if p.ok:
                    assert case is not None and name is not None and person is not None
                    valid.append(
                        {
                            "_row": n,
                            "case_id": case.id,
                            "side": side,
                            "name": name,
                            "person_key": person,
                            **values,
                        }
                    )
                else:
                    result.rejections.extend(p.problems)
                report(result.total_rows)
            report(result.total_rows, final=True)
    if _finish(result, valid):
        report = _Reporter(progress, "写入", len(valid))
        with unit_of_work(db) as uow:
            s = uow.session
            writes: list[tuple[Case, dict[str, Any]]] = []
            cases: dict[int, Case] = {}
            taken: dict[int, set[str]] = {}
            for v in valid:  # again, inside the write transaction: the case may have moved on
                case = cases.get(v["case_id"])
                if case is None:
                    case = cases[v["case_id"]] = s.get_one(Case, v["case_id"])
                    taken[case.id] = set(
                        s.scalars(select(Representative.person_key).where(Representative.case_id == case.id))
                    )
                if not _editable(case):
                    result.rejections.append(
                        Rejection(v["_row"], "协商编号", "协商已进入下一阶段，不能变更协商代表", case.number)
                    )
                elif v["person_key"] in taken[case.id]:
                    result.rejections.append(
                        Rejection(v["_row"], "姓名", "该协商代表数据库中已登记", v["name"])
                    )
                else:
                    writes.append((case, v))
            done = 0
            if len(writes) == len(valid) or valid_only:
                for case, v in writes:
                    s.add(Representative(**{k: val for k, val in v.items() if k != "_row"}, created_at=now))
                    engine.record(
                        s,
                        case,
                        "add_representative",
                        actor,
                        now=now,
                        payload={
                            "side": v["side"],
                            "name": v["name"],
                            "chief": v["chief"],
                            "outsider": v["outsider"],
                            "imported": True,
                            "source": path.name,
                            "row": v["_row"],
                        },
                    )
                    done += 1
                    report(done)
            report(done, final=True)
        result.valid_rows = len(writes)
        result.imported = done
        result.rejections.sort(key=lambda r: r.row)
    result.seconds = time.perf_counter() - started
    return result


# ---- existing agreements (cases) ----------------------------------------------------------------------

STAGE_PAYLOAD = {  # stage column -> (trigger, payload date field, nominal from, nominal to)
    "offer_on": ("send_offer", "sent_on", "preparation", "offer_sent"),
    "response_on": ("record_response", "responded_on", "offer_sent", "negotiating"),
    "congress_on": ("record_congress_vote", "held_on", "awaiting_congress", "awaiting_signature"),
    "signed_on": ("sign", "signed_on", "awaiting_signature", "signed"),
    "disclosed_on": ("disclose", "disclosed_on", "signed", "disclosed"),
    "filed_on": ("file_for_review", "filed_on", "signed", "under_review"),
    "opinion_on": ("record_review_opinion", "opinion_on", "under_review", "in_force"),
}
ORDER = ("offer_on", "response_on", "congress_on", "signed_on")
LABEL = {c.key: c.header for c in CASE_COLUMNS}


def _term_ok(start: date, end: date) -> bool:
    days = (end - start).days + 1
    return 365 <= days <= 3 * 366


def _check_dates(p: RowParser, v: dict[str, Any], today: date) -> None:
    start, end, signed = v["term_start"], v["term_end"], v["signed_on"]
    if start and end:
        if end <= start:
            p.reject("term_end", "合同期限止日应晚于起日", end)
        elif not _term_ok(start, end):
            p.reject("term_end", "合同期限应为1至3年", end)
    for key, _header, _trigger in (("signed_on", "", ""), *STAGE_DATE_COLUMNS, ("in_force_on", "", "")):
        value = v.get(key)
        if value is not None and value > today:
            p.reject(key, f"日期不能晚于今天（{today.isoformat()}）", value)
    present = [(k, v[k]) for k in ORDER if v.get(k) is not None]
    for (k1, d1), (k2, d2) in pairwise(present):
        if d2 < d1:
            p.reject(k2, f"不能早于{LABEL[k1]}（{d1.isoformat()}）", d2)
    if signed is not None:
        for key in ("disclosed_on", "filed_on", "opinion_on", "in_force_on"):
            if v.get(key) is not None and v[key] < signed:
                p.reject(key, f"不能早于签字日期（{signed.isoformat()}）", v[key])
    if v.get("filed_on") and v.get("opinion_on") and v["opinion_on"] < v["filed_on"]:
        p.reject("opinion_on", f"不能早于报送审查日期（{v['filed_on'].isoformat()}）", v["opinion_on"])


def _overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def import_cases(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    valid_only: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import existing (signed, in force or expired) enterprise wage agreements as cases."""
    require_role(actor, STAFF, "导入既有集体合同")
    started = time.perf_counter()
    now = now or runtime.utcnow()
    today = legal_date(now)
    result = ImportResult("cases", path.name, dry_run, valid_only)
    valid: list[dict[str, Any]] = []
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        enterprises: dict[str, Enterprise | None] = {}
        terms: dict[int, list[tuple[date, date, int | None]]] = {}  # enterprise -> (start, end, row/None=db)
        instructors: dict[str, int | None] = {}
        with open_table(path, CASE_COLUMNS) as sheet:
            result.unknown_headers = sheet.unknown_headers
            report = _Reporter(progress, "校验", sheet.total_rows)
            for n, raw in sheet.rows:
                result.total_rows += 1
                p = RowParser(n, raw, BY_KEY["cases"])
                code = p.credit_code("credit_code")
                v: dict[str, Any] = {
                    "title": p.text("title"),
                    "round": p.choice("round", "new"),
                    "signed_on": p.date("signed_on"),
                    "term_start": p.date("term_start"),
                    "term_end": p.date("term_end"),
                    "avg_wage_before": p.decimal("avg_wage_before"),
                    "avg_wage_after": p.decimal("avg_wage_after"),
                    "increase_pct": p.decimal("increase_pct"),
                    "payment_day": p.integer("payment_day", 1, 31),
                    "in_force_on": p.date("in_force_on"),
                    **{key: p.date(key) for key, _h, _t in STAGE_DATE_COLUMNS},
                }
                _check_dates(p, v, today)
                enterprise = None
                if code is not None:
                    if code not in enterprises:
                        found = s.scalar(select(Enterprise).where(Enterprise.credit_code == code))
                        if found is not None:
                            visible = s.scalar(
                                visible_org_units(actor).where(OrgUnit.id == found.org_unit_id)
                            )
                            found = found if visible is not None else None
                        enterprises[code] = found
                        if found is not None:
                            terms[found.id] = [
                                (a, b, None)
                                for a, b in s.execute(
                                    select(Agreement.term_start, Agreement.term_end)
                                    .join(Case, Case.id == Agreement.case_id)
                                    .where(
                                        Case.enterprise_id == found.id,
                                        Case.kind == "enterprise",
                                        Case.state.in_(SIGNED_STATES),
                                        Agreement.term_start.is_not(None),
                                        Agreement.term_end.is_not(None),
                                    )
                                )
                                if a is not None and b is not None  # never NULL (above); narrows the type
                            ]
                    enterprise = enterprises[code]
                    if enterprise is None:
                        p.reject("credit_code", "该企业未登记或不在您的管辖范围内，请先导入企业名录", code)
                username = p.text("instructor")
                if username is not None:
                    if username not in instructors:
                        instructors[username] = s.scalar(
                            select(User.id)
                            .join(UserRole, UserRole.user_id == User.id)
                            .where(
                                User.username == username,
                                UserRole.role == "instructor",
                                User.active.is_(True),
                            )
                        )
                    if instructors[username] is None:
                        p.reject("instructor", "不是在用的工资集体协商指导员用户名", username)
                if enterprise is not None and v["term_start"] and v["term_end"] and p.ok:
                    span = (v["term_start"], v["term_end"])
                    for start, end, row in terms[enterprise.id]:
                        if _overlaps(span, (start, end)):
                            where = "数据库中已有" if row is None else f"第{row}行"
                            what = "相同" if start == span[0] else "重叠"
                            p.reject(
                                "term_start",
                                f"与{where}该企业的合同期限（{start.isoformat()}至{end.isoformat()}）{what}",
                                v["term_start"],
                            )
                            break
                    else:
                        terms[enterprise.id].append((span[0], span[1], n))
                if p.ok:
                    assert enterprise is not None
                    valid.append(
                        {
                            "_row": n,
                            "enterprise_id": enterprise.id,
                            "instructor_id": instructors.get(username or ""),
                            **v,
                        }
                    )
                else:
                    result.rejections.extend(p.problems)
                report(result.total_rows)
            report(result.total_rows, final=True)
    if _finish(result, valid):
        report = _Reporter(progress, "写入", len(valid))
        with unit_of_work(db) as uow:
            s = uow.session
            calendar = runtime.calendar(s)
            # An enterprise's agreements in term order, so a renewal finds the one it renews.
            valid.sort(key=lambda v: (v["enterprise_id"], v["term_start"]))
            for done, v in enumerate(valid, start=1):
                _write_agreement(s, actor, v, path.name, now, today, calendar)
                report(done)
            report(len(valid), final=True)
        result.imported = len(valid)
    result.seconds = time.perf_counter() - started
    return result


def _write_agreement(
    s: Session, actor: Actor, v: dict[str, Any], source: str, now: datetime, today: date, calendar: Any
) -> Case:
    enterprise = s.get(Enterprise, v["enterprise_id"])
    assert enterprise is not None
    org = s.get(OrgUnit, enterprise.org_unit_id)
    assert org is not None
    title = v["title"] or f"{enterprise.name}{v['term_start'].year}年度工资专项集体合同"
    previous = _renewed(s, enterprise.id, v["term_start"]) if v["round"] == "renewal" else None
    case = start_case(
        s,
        actor=actor,
        kind="enterprise",
        title=title,
        org_unit_id=enterprise.org_unit_id,
        jurisdiction=org.jurisdiction,
        now=now,
        enterprise_id=enterprise.id,
        sector_id=enterprise.sector_id,
        instructor_id=v["instructor_id"],
        round=v["round"] or "new",
        previous_case_id=previous.id if previous is not None else None,
    )
    increase = v["increase_pct"]
    if increase is None and v["avg_wage_before"] and v["avg_wage_after"] is not None:
        increase = ((v["avg_wage_after"] - v["avg_wage_before"]) / v["avg_wage_before"] * 100).quantize(
            Decimal("0.01")
        )
    in_force_on = v["in_force_on"] or v["opinion_on"] or v["term_start"]
    agreement = Agreement(
        case_id=case.id,
        title=title,
        term_start=v["term_start"],
        term_end=v["term_end"],
        avg_wage_before=v["avg_wage_before"],
        avg_wage_after=v["avg_wage_after"],
        increase_pct=increase,
        payment_day=v["payment_day"],
        clauses=[],
        signed_on=v["signed_on"],
        filed_on=v["filed_on"],
        disclosed_on=v["disclosed_on"],
        in_force_on=in_force_on,
        updated_at=now,
    )
    s.add(agreement)
    s.flush()
    agreement.text_hash = agreement_text_hash(s, agreement)
    agreement.approved_text_hash = agreement.text_hash
    rule_set = get_rule_set(case.jurisdiction)
    role = _staff_role(actor)
    reason = f"导入既有集体合同（{source} 第{v['_row']}行）"
    base = {"imported": True, "source": source, "row": v["_row"]}
    last_state = "preparation"
    for key in (
        "offer_on",
        "response_on",
        "congress_on",
        "signed_on",
        "disclosed_on",
        "filed_on",
        "opinion_on",
    ):
        day = v.get(key)
        if day is None:
            continue
        trigger, field_name, source_state, dest = STAGE_PAYLOAD[key]
        if key == "disclosed_on" and rule_set.disclosure_timing != "after_signing":
            source_state, dest = "in_force", "in_force"
        write_event(
            s,
            case,
            trigger,
            actor=actor,
            role=role,
            now=now,
            from_state=source_state,
            to_state=dest,
            reason=reason,
            payload={field_name: day.isoformat(), **base},
        )
        last_state = dest
    state = "expired" if v["term_end"] < today else "in_force"
    case.state = state
    case.updated_at = now
    final = write_event(
        s,
        case,
        "import_agreement",
        actor=actor,
        role=role,
        now=now,
        from_state=last_state,
        to_state=state,
        reason=reason,
        payload={
            **base,
            "signed_on": v["signed_on"].isoformat(),
            "term_start": v["term_start"].isoformat(),
            "term_end": v["term_end"].isoformat(),
            "in_force_on": in_force_on.isoformat(),
        },
    )
    if state == "in_force":
        ctx = _context(s, case, "deem_approved", actor, calendar, now, today, final)
        ctx.dest = "in_force"
        for opens in IN_FORCE_OPENS:
            if opens.kind == "disclosure" and agreement.disclosed_on is not None:
                continue
            open_deadline(ctx, opens)
        refresh_next_due(s, case.id)
    if previous is not None:
        # What the engine's open_renewal leaves on the agreement renewed: its event, its
        # renewal clock closed (the annual report's renewal rate reads the event).
        opened = write_event(
            s,
            previous,
            "open_renewal",
            actor=actor,
            role=role,
            now=now,
            from_state=previous.state,
            to_state=previous.state,
            reason=reason,
            payload={**base, "renewal_case": case.number},
        )
        close_deadlines(
            _context(s, previous, "open_renewal", actor, calendar, now, today, opened), ("renewal",)
        )
        refresh_next_due(s, previous.id)
    s.flush()
    return case


def _context(
    s: Session, case: Case, trigger: str, actor: Actor, calendar: Any, now: datetime, today: date, event: Any
) -> FireContext:
    compiled = definition(case.definition_name, case.definition_version)
    action = compiled.action(trigger)
    assert action is not None
    return FireContext(
        session=s,
        case=case,
        definition=compiled,
        action=action,
        actor=actor,
        rule_set=get_rule_set(case.jurisdiction),
        calendar_source=calendar,
        now=now,
        today=today,
        event=event,
    )


def _renewed(s: Session, enterprise_id: int, term_start: date) -> Case | None:
    """The enterprise's latest agreement ending before ``term_start`` that no renewal points to yet."""
    renewals = select(Case.previous_case_id).where(Case.previous_case_id.is_not(None))
    return s.scalar(
        select(Case)
        .join(Agreement, Agreement.case_id == Case.id)
        .where(
            Case.enterprise_id == enterprise_id,
            Case.kind == "enterprise",
            Case.state.in_(SIGNED_STATES),
            Agreement.term_end < term_start,
            Case.id.not_in(renewals),
        )
        .order_by(Agreement.term_end.desc(), Case.id.desc())
        .limit(1)
    )
