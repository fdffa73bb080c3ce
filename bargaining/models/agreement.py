"""The agreement's terms (合同条款) and piece-rate tables (计件单价表) as structured data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, Rate, utcnow


class Agreement(Base):
    """Terms of one case's agreement.

    ``text_hash`` is the SHA-256 of the canonical terms (recomputed on every change);
    ``approved_text_hash`` freezes what the worker congress approved. Signing, filing and
    disclosure must refer to that same hash.
    """

    __tablename__ = "agreements"
    __table_args__ = (
        # The annual report's populations by legal date, index-only: agreements signed in a year
        # (with the figures' columns) and agreements whose term ends in a year.
        Index(
            "ix_agreements_signed_on",
            "signed_on",
            "case_id",
            "term_end",
            "avg_wage_before",
            "avg_wage_after",
            "increase_pct",
        ),
        Index("ix_agreements_term_end", "term_end", "in_force_on", "case_id", "signed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    term_start: Mapped[date | None]
    term_end: Mapped[date | None]
    avg_wage_before: Mapped[Decimal | None]
    avg_wage_after: Mapped[Decimal | None]
    increase_pct: Mapped[Decimal | None] = mapped_column(Rate)
    minimum_wage_clause: Mapped[str | None] = mapped_column(Text)
    payment_day: Mapped[int | None]
    clauses: Mapped[list[dict[str, str]]] = mapped_column(JSONData, default=list)
    text_hash: Mapped[str | None] = mapped_column(String(64))
    approved_text_hash: Mapped[str | None] = mapped_column(String(64))
    signed_on: Mapped[date | None]
    filed_on: Mapped[date | None]
    disclosed_on: Mapped[date | None]
    in_force_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateTable(Base):
    """A piece-rate table: rows (grade/variety), columns (periods), a quota per row or cell.

    ``periods``: [{"code", "name", "start", "end"}]; ``rows``: [{"code", "name", "quota"}];
    ``cells``: {row_code: {period_code: "rate"}} — rates and quotas are decimal strings so JSON
    never turns them into floats.
    """

    __tablename__ = "rate_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    periods: Mapped[list[dict[str, str]]] = mapped_column(JSONData, default=list)
    rows: Mapped[list[dict[str, str]]] = mapped_column(JSONData, default=list)
    cells: Mapped[dict[str, dict[str, str]]] = mapped_column(JSONData, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
