"""Reading and writing the exchange spreadsheets: XLSX (openpyxl, streaming) and CSV.

CSV files are written as UTF-8 with a byte-order mark (so Excel opens them in Chinese); read as
UTF-8 (with or without the mark) or, failing that, GB18030 — what Chinese Excel writes when it
saves "CSV". XLSX files are read with openpyxl's read-only mode and written with its write-only
mode, so a file of any size streams through in constant memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bargaining.errors import ValidationError

from .columns import Column, normalize_header

SUFFIXES = (".xlsx", ".csv")


class TableError(ValidationError):
    """The file as a whole cannot be read (format, encoding, header row)."""

    code = "bad_file"


@dataclass
class Sheet:
    """An open table: its recognised columns, and its data rows as (row number, {key: raw value})."""

    columns: dict[int, Column]
    unknown_headers: list[str]
    header_row: int
    total_rows: int | None  # data rows, when the file says (an estimate for CSV)
    rows: Iterator[tuple[int, dict[str, Any]]]
    encoding: str | None = None
    ignored: list[str] = field(default_factory=list)  # export-only columns present in the file


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TableError(f"不支持的文件类型“{path.suffix or path.name}”：请使用 .xlsx 或 .csv 文件。")
    return suffix[1:]


def _empty(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _map_headers(
    values: list[Any], columns: tuple[Column, ...]
) -> tuple[dict[int, Column], list[str], list[str]]:
    lookup: dict[str, Column] = {}
    for c in columns:
        for name in (c.header, *c.aliases):
            lookup[normalize_header(name)] = c
    mapped: dict[int, Column] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    ignored: list[str] = []
    for index, raw in enumerate(values):
        header = normalize_header(raw)
        if not header:
            continue
        column = lookup.get(header)
        if column is None:
            unknown.append(str(raw).strip())
            continue
        if column.key in seen:
            raise TableError(
                f"表头中“{column.header}”出现了两次（“{seen[column.key]}”和“{str(raw).strip()}”）。"
            )
        seen[column.key] = str(raw).strip()
        if column.export_only:
            ignored.append(column.header)
            continue
        mapped[index] = column
    missing = [c.header for c in columns if c.required and c.key not in seen]
    if missing:
        raise TableError(
            f"缺少必填列：{'、'.join(missing)}。表头应在第一行，可用的列：{'、'.join(c.header for c in columns)}"
        )
    return mapped, unknown, ignored


def _data(
    raw_rows: Iterator[tuple[int, list[Any]]], mapped: dict[int, Column]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, values in raw_rows:
        if _empty(values):
            continue
        yield number, {c.key: (values[i] if i < len(values) else None) for i, c in mapped.items()}


def _rows(
    raw_rows: Iterator[tuple[int, list[Any]]], columns: tuple[Column, ...]
) -> tuple[dict[int, Column], list[str], list[str], int, Iterator[tuple[int, dict[str, Any]]]]:
    """The header row (the first non-empty one) mapped to columns, and the data rows after it."""
    for number, values in raw_rows:
        if _empty(values):
            continue
        mapped, unknown, ignored = _map_headers(values, columns)
        return mapped, unknown, ignored, number, _data(raw_rows, mapped)
    raise TableError("文件是空的：第一行应为表头。")


def detect_encoding(path: Path) -> str:
    """utf-8-sig (byte-order mark), utf-8, or gb18030 (Chinese Excel's CSV)."""
    with path.open("rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        f.seek(0)
        decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        f.seek(0)
        decoder = codecs.getincrementaldecoder("gb18030")()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise TableError("无法识别 CSV 文件的编码：请另存为“CSV UTF-8（逗号分隔）”后重新导入。") from None
        return "gb18030"


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


@contextmanager
def open_table(path: Path, columns: tuple[Column, ...]) -> Iterator[Sheet]:
    """Open an XLSX or CSV file for reading; rows stream while the context is open."""
    fmt = file_format(path)
    if not path.is_file():
        raise TableError(f"找不到文件 {path}。")
    total: int | None  # Sheet.total_rows
    if fmt == "csv":
        encoding = detect_encoding(path)
        with path.open(encoding=encoding, newline="") as f:
            first = f.readline()
            delimiter = "\t" if first.count("\t") > first.count(",") else ","
            f.seek(0)
            reader = csv.reader(f, delimiter=delimiter)
            raw = ((n, row) for n, row in enumerate(reader, start=1))
            try:
                mapped, unknown, ignored, header_row, data = _rows(raw, columns)
            except csv.Error as exc:
                raise TableError(f"CSV 文件格式有误：{exc}") from None
            total = max(0, _count_lines(path) - header_row)
            yield Sheet(mapped, unknown, header_row, total, _csv_guard(data), encoding, ignored)
        return
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise TableError(
            f"无法读取 XLSX 文件 {path.name}：{type(exc).__name__}（文件损坏或不是 Excel 工作簿）"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        raw = ((n, list(values)) for n, values in enumerate(sheet.iter_rows(values_only=True), start=1))
        mapped, unknown, ignored, header_row, data = _rows(raw, columns)
        max_row = sheet.max_row
        total = max(0, max_row - header_row) if isinstance(max_row, int) else None
        yield Sheet(mapped, unknown, header_row, total, data, None, ignored)
    finally:
        workbook.close()


def _csv_guard(rows: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        yield from rows
    except csv.Error as exc:
        raise TableError(f"CSV 文件格式有误：{exc}") from None


# ---- writing ----------------------------------------------------------------------------------------


def _cell(column: Column, value: Any, *, for_csv: bool) -> Any:
    if value is None:
        return "" if for_csv else None
    if column.kind == "bool":
        return "是" if value else "否"
    if column.kind == "choice":
        return dict(column.choices).get(value, value)
    if for_csv:
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)
    if isinstance(value, Decimal) and column.kind == "int":
        return int(value)
    return value


WIDTHS = {"credit_code": 22, "name": 30, "title": 40, "number": 16}


def write_table(
    path: Path,
    columns: tuple[Column, ...],
    rows: Iterable[dict[str, Any]],
    *,
    sheet_title: str = "数据",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the header row and ``rows`` (keyed by column key); returns the number of data rows."""
    fmt = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([c.header for c in columns])
            for row in rows:
                writer.writerow([_cell(c, row.get(c.key), for_csv=True) for c in columns])
                count += 1
                if progress and count % 5000 == 0:
                    progress(count)
        return count
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for index, c in enumerate(columns, start=1):
        width = WIDTHS.get(c.key, max(10, len(c.header) * 2 + 2))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(sheet, value=c.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(c, row.get(c.key), for_csv=False) for c in columns])
        count += 1
        if progress and count % 5000 == 0:
            progress(count)
    workbook.save(path)
    return count
