"""Employers (企业)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import OrgUnit, Sector


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 统一社会信用代码 (GB 32100-2015), validated before it gets here.
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"), index=True)
    headcount: Mapped[int] = mapped_column(default=0)
    min_wage_tier: Mapped[int] = mapped_column(default=1)
    address: Mapped[str | None] = mapped_column(String(300))
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    union_name: Mapped[str | None] = mapped_column(String(200))
    union_chair: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="raise")
    sector: Mapped[Sector | None] = relationship(lazy="raise")
