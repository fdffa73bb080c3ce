"""Mermaid state diagrams drawn from the same definition the engine fires."""

from __future__ import annotations

from .spec import WorkflowDefinition


def mermaid(definition: WorkflowDefinition, current: str | None = None) -> str:
    lines = ["stateDiagram-v2", "    direction LR"]
    for state in definition.states:
        lines.append(f'    state "{state.label}" as {state.name}')
    lines.append(f"    [*] --> {definition.initial}")
    seen: set[tuple[str, str, str]] = set()
    for action in definition.actions:
        for branch in action.branches:
            for source in action.sources:
                label = action.label if len(action.branches) == 1 else f"{action.label}（{branch.label}）"
                key = (source, branch.dest, label)
                if key in seen or source == branch.dest:
                    continue
                seen.add(key)
                lines.append(f"    {source} --> {branch.dest} : {label}")
    for state in definition.states:
        if state.terminal:
            lines.append(f"    {state.name} --> [*]")
    if current is not None:
        lines.append("    classDef current fill:#fde68a,stroke:#b45309,stroke-width:3px,font-weight:bold")
        lines.append(f"    class {current} current")
    return "\n".join(lines) + "\n"
