"""Typed input fields of an action, parsed from strings (CLI, HTML forms) or JSON (API).

The same field list drives validation here, the CLI's ``--data`` help, and the web forms, so an
error always names the field in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from bargaining.errors import ValidationError

FieldKind = Literal["date", "int", "decimal", "str", "text", "bool", "choice"]
TRUE_WORDS = {"1", "true", "yes", "on", "y", "是", "有"}
FALSE_WORDS = {"0", "false", "no", "off", "n", "否", "无", ""}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind = "str"
    required: bool = True
    default_today: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, Chinese label)
    minimum: int | None = None
    help: str = ""

    def parse(self, raw: Any, today: date) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and self.kind != "bool"):
            if self.default_today:
                return today
            if self.required:
                raise ValidationError(f"请填写“{self.label}”。", details={"field": self.name})
            return None
        try:
            value = self._convert(raw)
        except (ValueError, InvalidOperation, TypeError):
            raise ValidationError(
                f"“{self.label}”的格式不正确：{raw!s}。{self._format_hint()}", details={"field": self.name}
            ) from None
        if self.minimum is not None and isinstance(value, int) and value < self.minimum:
            raise ValidationError(f"“{self.label}”不能小于{self.minimum}。", details={"field": self.name})
        if self.choices and value not in {c for c, _ in self.choices}:
            allowed = "、".join(f"{c}（{label}）" for c, label in self.choices)
            raise ValidationError(f"“{self.label}”只能是：{allowed}。", details={"field": self.name})
        return value

    def _convert(self, raw: Any) -> Any:
        if self.kind == "date":
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
        if self.kind == "int":
            if isinstance(raw, bool):
                raise TypeError
            if isinstance(raw, int):
                return raw
            text = str(raw).strip()
            if not text.lstrip("-").isdigit():
                raise ValueError
            return int(text)
        if self.kind == "decimal":
            if isinstance(raw, float):
                raw = repr(raw)
            value = Decimal(str(raw).strip())
            if not value.is_finite():
                raise ValueError
            return value
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError
        text = str(raw).strip()
        if self.kind == "str" and len(text) > 500:
            raise ValueError
        return text

    def _format_hint(self) -> str:
        return {
            "date": "日期格式应为 YYYY-MM-DD，例如 2026-11-26。",
            "int": "应为整数。",
            "decimal": "应为数字，例如 1600.00。",
            "bool": "应为“是”或“否”。",
        }.get(self.kind, "")


def parse_fields(fields: tuple[Field, ...], raw: dict[str, Any], today: date) -> dict[str, Any]:
    """Parse every declared field; unknown keys are refused so a typo never passes silently."""
    known = {f.name for f in fields}
    unknown = sorted(set(raw) - known)
    if unknown:
        names = "、".join(unknown)
        expected = "、".join(f"{f.name}（{f.label}）" for f in fields) or "无"
        raise ValidationError(f"不认识的字段：{names}。此操作可填写的字段：{expected}。")
    return {f.name: f.parse(raw.get(f.name), today) for f in fields}


def to_json(values: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy for event payloads and document snapshots (dates ISO, decimals as strings)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out
