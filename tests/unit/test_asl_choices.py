"""The state machine's Choice states and the state model agree: every variable a Choice reads is a field of
``RolloutState``, every value it compares is one the field can hold, and every ``next`` the steps can ask for and
every outcome they can end with has a branch. Step Functions would silently take the Default for a value no rule
matches, so a typo on either side is a wrong turn in production, not an error."""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from rollout.models.progress import Outcome, RolloutState

from tests.helpers import ROOT

ASL = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())
COMPARISONS = {"StringEquals": str, "BooleanEquals": bool, "NumericEquals": (int, float), "IsNull": bool}


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])
        if "Iterator" in state or "ItemProcessor" in state:
            yield from _states((state.get("ItemProcessor") or state["Iterator"])["States"])


def _rules(rule: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("And", "Or"):
        for sub in rule.get(key, []):
            yield from _rules(sub)
    if "Not" in rule:
        yield from _rules(rule["Not"])
    if "Variable" in rule:
        yield rule


def choice_rules() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, rule)
        for name, state in _states(ASL["States"])
        if state["Type"] == "Choice"
        for choice in state["Choices"]
        for rule in _rules(choice)
    ]


def _field_type(path: str) -> Any:
    """The annotation of the RolloutState field a JSONPath like ``$.lock.status`` names."""
    assert path.startswith("$."), path
    model: Any = RolloutState
    annotation: Any = None
    for part in path[2:].split("."):
        model = _model_in(annotation) if annotation is not None else model
        assert model is not None and part in model.model_fields, f"{path}: {part} is no field of the state"
        annotation = model.model_fields[part].annotation
    return annotation


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _values(annotation: Any) -> set[Any] | None:
    """The values a field can hold, when they are a closed set (Literal, enum, bool); None when open."""
    values: set[Any] = set()
    for member in _members(annotation):
        if get_origin(member) is Literal:
            values |= set(get_args(member))
        elif isinstance(member, type) and issubclass(member, enum.Enum):
            values |= {m.value for m in member}
        elif member is bool:
            values |= {True, False}
        elif member is type(None):
            continue
        else:
            return None
    return values


@pytest.mark.parametrize(("state", "rule"), choice_rules(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_choice_compares_a_value_the_state_can_hold(state, rule):
    annotation = _field_type(rule["Variable"])
    (comparison,) = [key for key in rule if key in COMPARISONS or key.endswith(("Equals", "Than", "Present", "Null"))]
    if comparison == "IsNull":
        assert type(None) in _members(annotation), f"{state}: {rule['Variable']} can never be null"
        return
    value = rule[comparison]
    assert comparison in COMPARISONS, f"{state}: compare with {comparison} only with care (not checked)"
    assert isinstance(value, COMPARISONS[comparison]), f"{state}: {comparison} {value!r}"
    allowed = _values(annotation)
    assert allowed is not None, f"{state}: {rule['Variable']} is an open type; compare only closed sets"
    holds = sorted(map(str, allowed))
    assert value in allowed, f"{state}: {rule['Variable']} can never be {value!r} (it holds {holds})"


def _compared(variable: str) -> set[Any]:
    return {rule.get("StringEquals") for _, rule in choice_rules() if rule["Variable"] == variable}


def test_every_next_action_but_wait_has_a_branch():
    hub = ASL["States"]["Next Action?"]
    wait = ASL["States"][hub["Default"]]
    assert hub["Default"] == "Wait For Endpoint", "the Default of Next Action? is the endpoint wait"
    assert wait["Resource"].endswith(".waitForTaskToken") and wait["Next"] == "Check Endpoint"
    # "wait" is the Default (Wait For Endpoint, then Check Endpoint); every other action must route somewhere
    asked = _values(_field_type("$.next")) or set()
    assert asked - {"wait"} <= _compared("$.next"), asked - {"wait"} - _compared("$.next")


def test_every_outcome_ends_somewhere():
    finished = [s for n, s in ASL["States"].items() if n == "Rollout Finished?"]
    assert finished, "no 'Rollout Finished?' choice"
    routed = _compared("$.outcome")
    unrouted = {o.value for o in Outcome} - routed
    # outcomes no Choice names take the Default: it must be a Fail state (never a silent success)
    default = ASL["States"][finished[0]["Default"]] if "Default" in finished[0] else None
    assert not unrouted or (default is not None and default["Type"] == "Fail"), unrouted


def test_the_state_model_has_no_typing_surprises():
    assert typing.get_type_hints(RolloutState)
