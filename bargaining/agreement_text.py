"""The canonical content of an agreement and its hash.

The hash covers every term a worker congress votes on (dates, wage figures, clauses, piece-rate
tables), serialised canonically, so "the text the congress approved" is one SHA-256 that
signing, filing and disclosure can be compared against.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Agreement, RateTable


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def canonical_content(agreement: Agreement, tables: list[RateTable]) -> dict[str, Any]:
    return {
        "title": agreement.title,
        "term_start": _plain(agreement.term_start),
        "term_end": _plain(agreement.term_end),
        "avg_wage_before": _plain(agreement.avg_wage_before),
        "avg_wage_after": _plain(agreement.avg_wage_after),
        "increase_pct": _plain(agreement.increase_pct),
        "minimum_wage_clause": agreement.minimum_wage_clause,
        "payment_day": agreement.payment_day,
        "clauses": agreement.clauses or [],
        "rate_tables": [
            {
                "name": t.name,
                "unit": t.unit,
                "currency": t.currency,
                "periods": t.periods,
                "rows": t.rows,
                "cells": t.cells,
                "notes": t.notes,
            }
            for t in sorted(tables, key=lambda t: t.id or 0)
        ],
    }


def content_hash(content: dict[str, Any]) -> str:
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def agreement_text_hash(session: Session, agreement: Agreement) -> str:
    tables = list(session.scalars(select(RateTable).where(RateTable.agreement_id == agreement.id)))
    return content_hash(canonical_content(agreement, tables))
