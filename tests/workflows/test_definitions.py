"""The definitions as data: consistent, complete, and compiled once per version (no database)."""

from __future__ import annotations

import pytest

from bargaining.models import ROLES
from bargaining.rules.jurisdictions import DEADLINE_KINDS, RULE_SETS
from workflows.deadlines import EXPIRY
from workflows.definitions import ALL_DEFINITIONS
from workflows.diagram import mermaid
from workflows.registry import compiled, current_definition

KNOWN_ROLES = set(ROLES) | {"system"}


@pytest.mark.parametrize("definition", ALL_DEFINITIONS, ids=lambda d: d.key)
def test_every_action_refers_to_real_states_roles_and_deadlines(definition):
    states = {s.name for s in definition.states}
    assert definition.initial in states
    for action in definition.actions:
        assert set(action.sources) <= states, action.trigger
        assert {b.dest for b in action.branches} <= states, action.trigger
        assert action.roles and action.roles <= KNOWN_ROLES, action.trigger
        assert action.label, action.trigger
        kinds = {o.kind for o in action.opens} | set(action.closes) | set(action.pauses) | set(action.resumes)
        assert kinds - {"*"} <= set(DEADLINE_KINDS) | {EXPIRY}, action.trigger
        for doc in (
            *action.requires_documents,
            *([action.produces_document] if action.produces_document else []),
        ):
            assert doc in definition.documents, (action.trigger, doc)
        # Only the last branch may be the unconditional "otherwise".
        assert all(b.when is not None for b in action.branches[:-1]), action.trigger


@pytest.mark.parametrize("definition", ALL_DEFINITIONS, ids=lambda d: d.key)
def test_every_state_is_reachable_and_only_terminal_states_are_dead_ends(definition):
    edges: dict[str, set[str]] = {}
    for action in definition.actions:
        for source in action.sources:
            edges.setdefault(source, set()).update(b.dest for b in action.branches)
    seen, todo = {definition.initial}, [definition.initial]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == {s.name for s in definition.states}
    for state in definition.states:
        assert state.terminal == (not edges.get(state.name)), state.name


def test_one_shared_machine_per_version_and_no_case_ever_registered():
    for definition in ALL_DEFINITIONS:
        machine = compiled(definition.name, definition.version).machine
        assert machine is compiled(definition.name, definition.version).machine
        assert machine.models == []
        assert not any(name.startswith("to_") for name in machine.events)  # auto_transitions off


def test_new_cases_start_on_the_latest_version():
    for kind in ("enterprise", "sector", "adoption"):
        latest = max(d.version for d in ALL_DEFINITIONS if d.name == kind)
        assert current_definition(kind).version == latest


def test_every_jurisdiction_has_the_deadlines_the_definitions_open():
    opened = {o.kind for d in ALL_DEFINITIONS for a in d.actions for o in a.opens} - {
        EXPIRY,
        "negotiation_cap",
    }
    for rule_set in RULE_SETS.values():
        from bargaining.rules.jurisdictions import timed_rule

        for kind in opened:
            rule = timed_rule(rule_set, kind)
            assert rule.basis, (rule_set.code, kind)


def test_diagram_highlights_the_current_state_only():
    definition = current_definition("enterprise")
    text = mermaid(definition, "under_review")
    assert text.startswith("stateDiagram-v2")
    assert "class under_review current" in text
    assert text.count("class ") == 1
    assert 'state "审查中" as under_review' in text
    assert "under_review --> in_force" in text
    assert "class" not in mermaid(definition, None).split("classDef")[0].split("\n", 1)[1].replace(
        "classDef", ""
    )
