"""Workflow definitions as data.

A definition lists states and actions. Each action names its trigger, the states it may be
fired from, where it goes (one state, branches chosen by a condition, or nowhere for an action
recorded inside a state), the roles that may fire it, guards that return the reason it is not
allowed, the documents it needs and produces, and the deadlines it opens, closes, pauses and
resumes. The engine, the allowed-actions list, the diagram and the docs all read this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fields import Field

if TYPE_CHECKING:
    from bargaining.rules.jurisdictions import RuleSet

    from .context import FireContext

# A guard returns None when satisfied, otherwise the reason in Chinese.
Guard = Callable[["FireContext"], "str | None"]
Effect = Callable[["FireContext"], None]
RuleCondition = Callable[["RuleSet"], bool]


@dataclass(frozen=True)
class State:
    name: str
    label: str
    terminal: bool = False
    description: str = ""


@dataclass(frozen=True)
class Branch:
    """One possible destination of an action; ``when`` None means "otherwise"."""

    dest: str
    label: str
    when: Callable[[FireContext], bool] | None = None


@dataclass(frozen=True)
class Opens:
    """A deadline an action opens.

    ``anchor`` names the date it counts from: a field of the action's input, or ``term_end`` /
    ``term_start`` of the agreement. ``on_expiry`` is "escalate" or a trigger the system fires.
    ``if_dest`` limits it to one branch; ``if_rule`` to jurisdictions where it applies.
    """

    kind: str
    anchor: str
    on_expiry: str = "escalate"
    if_dest: str | None = None
    if_rule: RuleCondition | None = None


@dataclass(frozen=True)
class Action:
    trigger: str
    label: str
    sources: tuple[str, ...]
    dest: str | tuple[Branch, ...] | None
    roles: frozenset[str]
    fields: tuple[Field, ...] = ()
    guards: tuple[Guard, ...] = ()
    prepare: Effect | None = None  # computes what branches depend on (e.g. the vote outcome)
    effects: tuple[Effect, ...] = ()  # domain rows written in the same transaction
    requires_documents: tuple[str, ...] = ()
    produces_document: str | None = None
    opens: tuple[Opens, ...] = ()
    closes: tuple[str, ...] = ()
    pauses: tuple[str, ...] = ()
    resumes: tuple[str, ...] = ()
    reason_required: bool = False
    if_rule: RuleCondition | None = None  # the action exists only where the rule set says so
    rule_unmet: str = ""  # why, when if_rule is false
    description: str = ""

    @property
    def branches(self) -> tuple[Branch, ...]:
        if isinstance(self.dest, tuple):
            return self.dest
        if self.dest is None:
            return ()
        return (Branch(self.dest, self.label),)

    @property
    def internal(self) -> bool:
        """Recorded inside the current state (no state change)."""
        return self.dest is None


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: int
    label: str
    states: tuple[State, ...]
    initial: str
    actions: tuple[Action, ...]
    documents: dict[str, str] = field(default_factory=dict)  # document kind -> Chinese title

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def state(self, name: str) -> State:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    def action(self, trigger: str) -> Action | None:
        for a in self.actions:
            if a.trigger == trigger:
                return a
        return None

    def state_label(self, name: str) -> str:
        try:
            return self.state(name).label
        except KeyError:
            return name
