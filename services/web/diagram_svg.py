"""The case's state diagram as inline SVG (no JavaScript), drawn from the workflow definition.

Main-line states sit on one row in statutory order; side states (suspension, dispute,
termination, expiry) on a second row under the state they leave from. The current state is
highlighted; states already passed are shaded.
"""

from __future__ import annotations

from html import escape

from workflows.spec import WorkflowDefinition

MAIN = [
    "preparation",
    "offer_sent",
    "negotiating",
    "awaiting_congress",
    "awaiting_signature",
    "signed",
    "disclosed",
    "under_review",
    "in_force",
    "expired",
]
SIDE = {"dispute": 1, "suspended": 2, "terminated": 3}
W, H, GAP_X, ROW_Y = 96, 34, 22, (18, 96)


def svg(definition: WorkflowDefinition, current: str, passed: set[str] | None = None) -> str:
    names = [s.name for s in definition.states]
    main = [n for n in MAIN if n in names]
    pos: dict[str, tuple[int, int]] = {n: (i * (W + GAP_X) + 8, ROW_Y[0]) for i, n in enumerate(main)}
    for name, col in SIDE.items():
        if name in names:
            pos[name] = (col * (W + GAP_X) + 8, ROW_Y[1])
    extra = [n for n in names if n not in pos]
    for i, n in enumerate(extra):
        pos[n] = ((len(SIDE) + 1 + i) * (W + GAP_X) + 8, ROW_Y[1])
    width = max(x for x, _ in pos.values()) + W + 10
    height = ROW_Y[1] + H + 14
    parts = [
        f'<svg class="diagram" viewBox="0 0 {width} {height}" role="img" aria-label="流程图，当前阶段：'
        f'{escape(definition.state_label(current))}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>',
    ]
    seen: set[tuple[str, str]] = set()
    for action in definition.actions:
        for branch in action.branches:
            for source in action.sources:
                if source == branch.dest or (source, branch.dest) in seen or source not in pos:
                    continue
                seen.add((source, branch.dest))
                parts.append(_edge(pos[source], pos[branch.dest], action.label))
    for state in definition.states:
        x, y = pos[state.name]
        cls = "cur" if state.name == current else "done" if passed and state.name in passed else "st"
        parts.append(
            f'<g class="{cls}"><title>{escape(state.label)}：{escape(state.description)}</title>'
            f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="6"/>'
            f'<text x="{x + W / 2}" y="{y + H / 2 + 5}" text-anchor="middle">{escape(state.label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _edge(a: tuple[int, int], b: tuple[int, int], label: str) -> str:
    (ax, ay), (bx, by) = a, b
    x1: float  # ints on a row, halves between rows
    x2: float
    if ay == by:
        if bx > ax:
            x1, x2 = ax + W, bx
            y1 = y2 = ay + H / 2
            return (
                f'<line class="edge" x1="{x1}" y1="{y1}" x2="{x2 - 1}" y2="{y2}" marker-end="url(#arr)">'
                f"<title>{escape(label)}</title></line>"
            )
        # Backwards on the same row: an arc above the boxes.
        y = ay - 6
        return (
            f'<path class="edge back" d="M{ax + W / 2},{ay} C{ax + W / 2},{y - 14} {bx + W / 2},{y - 14} '
            f'{bx + W / 2},{by}" fill="none" marker-end="url(#arr)"><title>{escape(label)}</title></path>'
        )
    x1 = ax + W / 2 + (8 if by > ay else -8)
    x2 = bx + W / 2 + (8 if by > ay else -8)
    y1 = ay + H if by > ay else ay
    y2 = by if by > ay else by + H
    return (
        f'<line class="edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" marker-end="url(#arr)">'
        f"<title>{escape(label)}</title></line>"
    )
