"""The bargaining case (协商) — the aggregate root — and what is recorded along the way."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONData, utcnow
from .enterprise import Enterprise
from .org import OrgUnit, Sector, User

if TYPE_CHECKING:
    from .timeline import Event

CASE_KINDS = ("enterprise", "sector", "adoption")
SIDES = ("worker", "employer")


class Case(Base):
    """One bargaining round toward one agreement.

    ``kind``: enterprise wage agreement (工资专项集体合同), sector agreement (行业性工资集体协议),
    or an enterprise's adoption (履约协议) of a sector agreement (then ``parent_id`` is the sector
    case). ``state`` and ``definition_*`` pin the case to the workflow version it started on.
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_instructor_state", "instructor_id", "state"),
        Index("ix_cases_org_state", "org_unit_id", "state"),
        Index("ix_cases_instructor_next_due", "instructor_id", "next_due"),
        Index("ix_cases_org_next_due", "org_unit_id", "next_due"),
        # The inbox order, walked when a whole city is listed; scope and stage are checked from
        # the index itself (services/case_list.py).
        Index(
            "ix_cases_due_order",
            text("(next_due IS NULL)"),
            "next_due",
            "id",
            "org_unit_id",
            "state",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    jurisdiction: Mapped[str] = mapped_column(String(32))
    definition_name: Mapped[str] = mapped_column(String(32))
    definition_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(32), index=True)
    instructor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    round: Mapped[str] = mapped_column(String(16), default="new")  # new | renewal
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # Earliest open, running deadline: kept by the engine so the inbox sorts on an index.
    next_due: Mapped[date | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it as is)

    enterprise: Mapped[Enterprise | None] = relationship(lazy="raise")
    sector: Mapped[Sector | None] = relationship(lazy="raise")
    org_unit: Mapped[OrgUnit] = relationship(lazy="raise")
    instructor: Mapped[User | None] = relationship(lazy="raise")
    parent: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[parent_id], lazy="raise")


class CaseCoverage(Base):
    """An enterprise bound by a sector case, with the headcount it brings."""

    __tablename__ = "case_coverage"
    __table_args__ = (UniqueConstraint("case_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    headcount: Mapped[int] = mapped_column(default=0)
    # False once an enterprise declined a sector agreement where it binds only those accepting it.
    bound: Mapped[bool] = mapped_column(default=True, server_default=true())


class Representative(Base):
    """A negotiation representative (协商代表); ``chief`` = 首席代表."""

    __tablename__ = "representatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    side: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    person_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(100))
    chief: Mapped[bool] = mapped_column(default=False)
    outsider: Mapped[bool] = mapped_column(default=False)
    front_line: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NegotiationRound(Base):
    """A negotiation meeting (协商会议) and its minutes (会议记录)."""

    __tablename__ = "negotiation_rounds"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[int]
    held_on: Mapped[date]
    place: Mapped[str | None] = mapped_column(String(200))
    chair_side: Mapped[str] = mapped_column(String(16))
    recorder: Mapped[str | None] = mapped_column(String(100))
    attendees: Mapped[str | None] = mapped_column(Text)
    minutes: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CongressVote(Base):
    """A worker-congress (职代会) vote on the draft, with the outcome under the case's rule set."""

    __tablename__ = "congress_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # Set when a sector agreement is approved enterprise by enterprise instead of by a sector congress.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    accepted: Mapped[bool] = mapped_column(default=True, server_default=true())  # accepted/sealed (SH, SD)
    held_on: Mapped[date]
    total: Mapped[int]
    present: Mapped[int]
    votes_for: Mapped[int]
    against: Mapped[int]
    abstain: Mapped[int]
    quorum_met: Mapped[bool]
    passed: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    rule_basis: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Document(Base):
    """A stage's paper (要约书, 回应书, 职代会决议 …): the data it records and, once rendered, its PDF.

    The data snapshot is what the document says; rendering (template name/version/hash, PDF
    SHA-256, storage path) is filled in later and never changes the snapshot.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, object]] = mapped_column(JSONData, default=dict)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    event: Mapped[Event | None] = relationship(foreign_keys=[event_id], lazy="raise")  # write-only
    template_name: Mapped[str | None] = mapped_column(String(100))
    template_version: Mapped[str | None] = mapped_column(String(32))
    template_hash: Mapped[str | None] = mapped_column(String(64))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    storage_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
