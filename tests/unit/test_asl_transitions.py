"""The state machine mirrors the transition table: for every row, the ASL - evaluated as Step Functions evaluates it,
from the row's state through its Choice states (or, for a row whose step raises an error, through the state's
Catch) - reaches the state the row names; every next action the table can
produce is one the ASL routes; and every value a Choice compares ``$.next`` or ``$.phase`` with is one the table
can produce (a Choice rule no transition can satisfy is a dead branch, or a typo).

A Choice rule whose variable the state does not hold is a runtime error in Step Functions (``States.Runtime``), so
the evaluator raises on it too: a row that leaves ``next`` unchanged must not reach a Choice that reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rollout.models.progress import Phase
from rollout.transition import ACTIONS, ROUTES, TABLE, Row

from tests.helpers import ROOT

ASL = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())
STATES: dict[str, dict[str, Any]] = ASL["States"]
MISSING = object()


class ChoiceRuntimeError(Exception):
    """What Step Functions raises when a Choice rule reads a path the input does not hold."""


def _read(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.removeprefix("$.").split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """One Choice rule as Step Functions evaluates it (the comparisons this ASL uses)."""
    if "And" in rule:
        return all(matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data)
    value = _read(data, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not MISSING) == rule["IsPresent"]
    if value is MISSING:
        raise ChoiceRuntimeError(f"Invalid path '{rule['Variable']}': the state holds no such field")
    if "IsNull" in rule:
        return (value is None) == rule["IsNull"]
    if "StringEquals" in rule:
        return isinstance(value, str) and value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return isinstance(value, bool) and value == rule["BooleanEquals"]
    raise AssertionError(f"the evaluator does not know {sorted(rule)}: teach it before using that comparison")


def route(start: str, data: dict[str, Any], stop: str) -> str:
    """Where the state machine goes from task ``start`` with output ``data``: through its Choice states (the task's
    ``Next`` and on) to the first state that is not a Choice, or to ``stop``."""
    name = STATES[start]["Next"]
    seen = set()
    while name != stop and STATES[name]["Type"] == "Choice":
        assert name not in seen, f"a loop of Choice states at {name}"
        seen.add(name)
        choice = STATES[name]
        name = next((c["Next"] for c in choice["Choices"] if matches(c, data)), choice.get("Default", "(none)"))
    return name


def caught(state: str, error: str) -> str | None:
    """Where a task's Catch sends ``error``: the first clause naming it exactly or States.ALL."""
    for clause in STATES[state].get("Catch", []):
        if error in clause["ErrorEquals"] or "States.ALL" in clause["ErrorEquals"]:
            return str(clause["Next"])
    return None


def _paths() -> list[tuple[Row, ...]]:
    """Every path through the table: a row, or a row with ``then`` followed by each row of that observation."""
    paths: list[tuple[Row, ...]] = []
    for row in TABLE.values():
        if row.then is None:
            paths.append((row,))
        else:
            paths += [(row, after) for after in TABLE.values() if after.seen == row.then and after.then is None]
            paths += [
                (row, after, last)
                for after in TABLE.values()
                if after.seen == row.then and after.then is not None
                for last in TABLE.values()
                if last.seen == after.then
            ]
    return paths


PATHS = _paths()


def _output(path: tuple[Row, ...]) -> dict[str, Any]:
    """The state a step returns after the path: only what the rows set (a Choice must not read anything else), the
    loop flags every state holds, and the lock status before a lock row."""
    data: dict[str, Any] = {"continue_as_new": False, "resume_at": None, "lock": {"status": "none"}}
    for row in path:
        if row.next is not None:
            data["next"] = row.next
        if row.phase is not None:
            data["phase"] = row.phase.value
        if row.lock is not None:
            data["lock"] = {"status": row.lock.value}
        if row.outcome is not None:
            data["outcome"] = row.outcome.value
    return data


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " > ".join(r.key for r in p))
def test_the_asl_routes_every_row_where_the_table_says(path):
    first, last = path[0], path[-1]
    if last.goes_to.startswith("("):  # a row the step itself follows with another look (Roll Back's first turn)
        assert last.goes_to == "(one move)" and last.at == "Roll Back"
        return
    assert first.at in STATES, f"{first.key}: no ASL state {first.at}"
    assert STATES[first.at]["Type"] == "Task"
    if last.fails is not None:  # the step raises it: the state's Catch decides, as Step Functions matches it
        assert caught(first.at, last.fails.__name__) == last.goes_to
        return
    assert route(first.at, _output(path), stop=last.goes_to) == last.goes_to


def test_every_next_action_routes_to_its_state_from_the_hub():
    for action in ACTIONS:
        data = {"continue_as_new": False, "next": action, "phase": Phase.BAKING.value}
        assert route("Evaluate Health", data, stop="(never)") == ROUTES[action], action


def test_every_value_a_choice_compares_with_next_or_phase_is_one_the_table_produces():
    produced = {
        "$.next": {row.next for row in TABLE.values() if row.next} | {"wait"},  # wait: every state's default
        "$.phase": {row.phase.value for row in TABLE.values() if row.phase},
    }

    def rules(rule: dict[str, Any]) -> list[dict[str, Any]]:
        nested = [*rule.get("And", []), *rule.get("Or", []), *([rule["Not"]] if "Not" in rule else [])]
        return [rule, *(r for n in nested for r in rules(n))]

    for name, state in STATES.items():
        for choice in state.get("Choices", []):
            for rule in rules(choice):
                if rule.get("Variable") in produced and "StringEquals" in rule:
                    assert rule["StringEquals"] in produced[rule["Variable"]], f"{name}: {rule}"


def test_a_choice_reading_a_field_the_state_does_not_hold_is_an_error():
    with pytest.raises(ChoiceRuntimeError):
        route("Check Endpoint", {"continue_as_new": False}, stop="(never)")
