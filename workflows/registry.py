"""One shared ``transitions`` Machine per definition version, built once at import.

``model=None`` and ``auto_transitions=False``: cases are never registered on the machine (that
costs ~8 KiB and an O(n) list insert per model); the engine fires ``machine.events[t].trigger(case)``
on the loaded row, which only reads and sets ``case.state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from bargaining.errors import ValidationError

from .definitions import ALL_DEFINITIONS
from .spec import WorkflowDefinition


@dataclass(frozen=True)
class Compiled:
    definition: WorkflowDefinition
    machine: Machine


def _branch_condition(branch_when: Any) -> Any:
    # transitions passes EventData (send_event=True); our conditions read the FireContext.
    return lambda event: bool(branch_when(event.kwargs["ctx"]))


def compile_definition(definition: WorkflowDefinition) -> Compiled:
    transitions: list[dict[str, Any]] = []
    for action in definition.actions:
        if action.internal:
            transitions.append({"trigger": action.trigger, "source": list(action.sources), "dest": None})
            continue
        for branch in action.branches:
            spec: dict[str, Any] = {
                "trigger": action.trigger,
                "source": list(action.sources),
                "dest": branch.dest,
            }
            if branch.when is not None:
                spec["conditions"] = [_branch_condition(branch.when)]
            transitions.append(spec)
    machine = Machine(
        model=None,
        states=[s.name for s in definition.states],
        transitions=transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
        queued=False,
    )
    return Compiled(definition, machine)


_COMPILED: dict[tuple[str, int], Compiled] = {
    (d.name, d.version): compile_definition(d) for d in ALL_DEFINITIONS
}
_CURRENT: dict[str, WorkflowDefinition] = {}
for _d in ALL_DEFINITIONS:
    if _d.name not in _CURRENT or _d.version > _CURRENT[_d.name].version:
        _CURRENT[_d.name] = _d


def compiled(name: str, version: int) -> Compiled:
    try:
        return _COMPILED[(name, version)]
    except KeyError:
        raise ValidationError(f"流程定义 {name}@{version} 不存在") from None


def definition(name: str, version: int) -> WorkflowDefinition:
    return compiled(name, version).definition


def current_definition(kind: str) -> WorkflowDefinition:
    """The version new cases of a kind start on (the case kind is the definition name)."""
    try:
        return _CURRENT[kind]
    except KeyError:
        raise ValidationError(f"没有“{kind}”类型的流程定义") from None


def all_definitions() -> tuple[WorkflowDefinition, ...]:
    return ALL_DEFINITIONS
