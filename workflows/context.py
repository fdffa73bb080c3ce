"""What an action sees while it is checked and fired."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.models import Agreement, Case, Deadline, Document, Event, NegotiationRound, Representative
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.jurisdictions import RuleSet

if TYPE_CHECKING:
    from .spec import Action, WorkflowDefinition

S = TypeVar("S")  # the row the action fires on: a bargaining case, an audit case
E = TypeVar("E")  # the event row it writes
T = TypeVar("T")


@dataclass(kw_only=True)
class ActionContext(ABC, Generic[S, E]):
    """What any workflow subject's action sees; ``workflows.firing`` checks and fires with it."""

    session: Session
    case: S
    definition: WorkflowDefinition
    action: Action
    actor: Actor
    # The holiday calendar, or how to get it when a guard or effect first computes a date: a
    # callable that loads it once (``services.runtime.calendar_loader``) and is asked each time.
    calendar_source: HolidayCalendar | Callable[[], HolidayCalendar]
    now: datetime
    today: date  # the legal date in China Standard Time
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    request_id: str | None = None
    computed: dict[str, Any] = field(default_factory=dict)
    event: E | None = None
    dest: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def calendar(self) -> HolidayCalendar:
        source = self.calendar_source
        return source if isinstance(source, HolidayCalendar) else source()

    def _cached(self, key: str, load: Callable[[], T]) -> T:
        """``load()`` once per firing: guards and effects share what they read."""
        if key not in self._cache:
            self._cache[key] = load()
        value: T = self._cache[key]
        return value

    def rule_unmet(self) -> str | None:
        """Why the action does not exist under the subject's local rules (None: it does)."""
        return None

    @abstractmethod
    def document_kinds(self) -> set[str]:
        """The kinds of document the subject has (for ``Action.requires_documents``)."""


@dataclass(kw_only=True)
class FireContext(ActionContext[Case, Event]):
    rule_set: RuleSet

    def rule_unmet(self) -> str | None:
        if self.action.if_rule is None or self.action.if_rule(self.rule_set):
            return None
        return self.action.rule_unmet or f"本地规则（{self.rule_set.name}）无此步骤"

    # Lazily loaded facts guards and effects share (one query each per firing).
    def representatives(self) -> list[Representative]:
        return self._cached(
            "reps",
            lambda: list(
                self.session.scalars(select(Representative).where(Representative.case_id == self.case.id))
            ),
        )

    def rounds(self) -> list[NegotiationRound]:
        return self._cached(
            "rounds",
            lambda: list(
                self.session.scalars(
                    select(NegotiationRound)
                    .where(NegotiationRound.case_id == self.case.id)
                    .order_by(NegotiationRound.number)
                )
            ),
        )

    def agreement(self) -> Agreement | None:
        return self._cached("agreement", lambda: self.session.scalar(_agreements_of([self.case.id])))

    def document_kinds(self) -> set[str]:
        return self._cached(
            "doc_kinds", lambda: {kind for _, kind in self.session.execute(_documents_of([self.case.id]))}
        )

    def open_deadlines(self) -> list[Deadline]:
        """The case's open deadlines (paused ones too), kept current by workflows.deadlines."""
        return self._cached(
            "deadlines", lambda: list(self.session.scalars(_open_deadlines_of([self.case.id])))
        )


# What a firing reads about its case: for one case, lazily (``FireContext``), or for many at once
# (``preload``), by the same statements.
def _agreements_of(case_ids: Collection[int]) -> Select[Agreement]:
    return select(Agreement).where(Agreement.case_id.in_(case_ids))


def _documents_of(case_ids: Collection[int]) -> Select[int, str]:
    return select(Document.case_id, Document.kind).where(Document.case_id.in_(case_ids))


def _open_deadlines_of(case_ids: Collection[int]) -> Select[Deadline]:
    return (
        select(Deadline)
        .where(Deadline.case_id.in_(case_ids), Deadline.closed_at.is_(None))
        .order_by(Deadline.case_id, Deadline.id)
    )


def preload(session: Session, case_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """What ``FireContext`` would read lazily for each of many cases, in three queries: the open
    deadlines, the agreement and the document kinds, keyed as its cache keys them.

    For firing many actions at once (the deadline sweep): each case's dict is handed to one firing
    (``Engine.fire(preloaded=…)``) and is current only until an action changes that case.
    """
    ids = sorted(set(case_ids))
    caches: dict[int, dict[str, Any]] = {
        i: {"deadlines": [], "agreement": None, "doc_kinds": set()} for i in ids
    }
    if not ids:
        return caches
    for deadline in session.scalars(_open_deadlines_of(ids)):
        caches[deadline.case_id]["deadlines"].append(deadline)
    for agreement in session.scalars(_agreements_of(ids)):
        caches[agreement.case_id]["agreement"] = agreement
    for case_id, kind in session.execute(_documents_of(ids)):
        caches[case_id]["doc_kinds"].add(kind)
    return caches
