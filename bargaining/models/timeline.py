"""Deadlines, their suspensions, the append-only event log, and loaded holiday calendars."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONData, utcnow

_OPEN = text("fired_at IS NULL AND closed_at IS NULL")
# The events that mark a stage of a case, as the annual report reads them
# (services/reports/annual.py, stage_event_condition).
_STAGE = text(
    "trigger IN ('disclose', 'file_for_review', 'open_renewal', 'record_response', "
    "'record_review_opinion', 'send_offer') "
    "OR (trigger = 'record_congress_vote' AND to_state = 'awaiting_signature')"
)


class Event(Base):
    """One row per change to a case, written in the same transaction as the change.

    Append-only: a database trigger refuses UPDATE and DELETE (see the first migration).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_case_at", "case_id", "id"),
        # The annual report's stage figures: an index-only scan over the stage events alone.
        Index("ix_events_stage_case", "case_id", "trigger", postgresql_where=_STAGE, sqlite_where=_STAGE),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    trigger: Mapped[str] = mapped_column(String(40), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, object]] = mapped_column(JSONData, default=dict)
    definition_name: Mapped[str | None] = mapped_column(String(32))
    definition_version: Mapped[int | None]
    request_id: Mapped[str | None] = mapped_column(String(64))


class Deadline(Base):
    """A statutory clock on a case: what is due, by when, under which rule, and what happened.

    ``fire_at`` is the UTC instant the sweep acts (the end of the last legal day, 24:00 China
    time, or the start of the day a window opens); ``paused_at`` is set while bargaining is
    suspended (中止) and the clock does not run.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        # Partial index: the sweep only ever looks at open, unfired deadlines.
        Index("ix_deadlines_sweep", "fire_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_deadlines_case_kind", "case_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date]
    due: Mapped[date]
    fire_at: Mapped[datetime | None]
    legal_basis: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(32))
    provisional: Mapped[bool] = mapped_column(default=False)
    on_expiry: Mapped[str] = mapped_column(String(40))  # "escalate" or a trigger fired by the system
    opened_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    fired_at: Mapped[datetime | None]
    fired_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    closed_at: Mapped[datetime | None]
    closed_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    paused_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Write-only links (never loaded): an action sets the event object before it is flushed, so
    # the event, the case and every deadline it touches go to the database in one flush.
    opened_by_event: Mapped[Event | None] = relationship(foreign_keys=[opened_by_event_id], lazy="raise")
    closed_by_event: Mapped[Event | None] = relationship(foreign_keys=[closed_by_event_id], lazy="raise")


class DeadlineSuspension(Base):
    """An interval during which a deadline's clock stood still, and how far the due date moved."""

    __tablename__ = "deadline_suspensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), index=True)
    suspended_on: Mapped[date]
    resumed_on: Mapped[date | None]
    due_before: Mapped[date]
    due_after: Mapped[date | None]
    suspended_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    resumed_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))

    suspended_by_event: Mapped[Event | None] = relationship(
        foreign_keys=[suspended_by_event_id], lazy="raise"
    )
    resumed_by_event: Mapped[Event | None] = relationship(foreign_keys=[resumed_by_event_id], lazy="raise")


class CalendarYear(Base):
    """A year's holiday notice (国务院办公厅关于…部分节假日安排的通知) loaded after the package's data."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    days_off: Mapped[list[str]] = mapped_column(JSONData, default=list)
    makeup_workdays: Mapped[list[str]] = mapped_column(JSONData, default=list)
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["CalendarYear", "Deadline", "DeadlineSuspension", "Event"]
