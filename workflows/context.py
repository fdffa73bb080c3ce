"""What an action sees while it is checked and fired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.models import Agreement, Case, Deadline, Document, Event, NegotiationRound, Representative
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.jurisdictions import RuleSet

if TYPE_CHECKING:
    from .spec import Action, WorkflowDefinition


@dataclass
class FireContext:
    session: Session
    case: Case
    definition: WorkflowDefinition
    action: Action
    actor: Actor
    rule_set: RuleSet
    calendar: HolidayCalendar
    now: datetime
    today: date  # the legal date in China Standard Time
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    request_id: str | None = None
    computed: dict[str, Any] = field(default_factory=dict)
    event: Event | None = None
    dest: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    # Lazily loaded facts guards and effects share (one query each per firing).
    def representatives(self) -> list[Representative]:
        if "reps" not in self._cache:
            self._cache["reps"] = list(
                self.session.scalars(select(Representative).where(Representative.case_id == self.case.id))
            )
        reps: list[Representative] = self._cache["reps"]
        return reps

    def rounds(self) -> list[NegotiationRound]:
        if "rounds" not in self._cache:
            self._cache["rounds"] = list(
                self.session.scalars(
                    select(NegotiationRound)
                    .where(NegotiationRound.case_id == self.case.id)
                    .order_by(NegotiationRound.number)
                )
            )
        rounds: list[NegotiationRound] = self._cache["rounds"]
        return rounds

    def agreement(self) -> Agreement | None:
        if "agreement" not in self._cache:
            self._cache["agreement"] = self.session.scalar(
                select(Agreement).where(Agreement.case_id == self.case.id)
            )
        agreement: Agreement | None = self._cache["agreement"]
        return agreement

    def document_kinds(self) -> set[str]:
        if "doc_kinds" not in self._cache:
            self._cache["doc_kinds"] = set(
                self.session.scalars(select(Document.kind).where(Document.case_id == self.case.id))
            )
        kinds: set[str] = self._cache["doc_kinds"]
        return kinds

    def open_deadlines(self) -> list[Deadline]:
        """The case's open deadlines (paused ones too), kept current by workflows.deadlines."""
        if "deadlines" not in self._cache:
            self._cache["deadlines"] = list(
                self.session.scalars(
                    select(Deadline)
                    .where(Deadline.case_id == self.case.id, Deadline.closed_at.is_(None))
                    .order_by(Deadline.id)
                )
            )
        deadlines: list[Deadline] = self._cache["deadlines"]
        return deadlines
