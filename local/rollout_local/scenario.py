"""The scenario file: the world before the first approval, what gets approved, what happens meanwhile, and what
goes wrong.

A scenario names its endpoints (``endpoint:`` for one, ``endpoints:`` for several), the approval that starts the
story (``approval:``, optional when the ``timeline:`` approves instead), the policies per model package group,
how each model behaves, the alarms, and a ``timeline`` of what the outside world does at simulated times. Every
key is checked strictly when the file loads; a mistake is one line naming the entry and the key.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from rollout_local.actions import ACTIONS, ENTRY_MODELS, Operator, TimelineEntry
from rollout_local.emulator.faults import Fault
from rollout_local.emulator.limits import AwsTimings, FunctionFault, Limits
from rollout_local.emulator.sagemaker import Timings
from rollout_local.emulator.world import Behaviour, Traffic
from rollout_local.expect import Expect
from rollout_local.references import approval_target, check_scenario, endpoint_name_of
from rollout_local.specs import (
    DEFAULT_PEOPLE,
    ApprovalSpec,
    AutoscalingSpec,
    EndpointSpec,
    OperatorAction,
    PersonSpec,
    ScenarioAlarm,
    ServerlessSpec,
    Strict,
    VariantSpec,
)
from rollout_local.stack import function_ids

__all__ = [  # the world's specs are part of the scenario's vocabulary
    "ApprovalSpec",
    "AutoscalingSpec",
    "EndpointSpec",
    "OperatorAction",
    "Scenario",
    "ScenarioAlarm",
    "ScenarioError",
    "ServerlessSpec",
    "VariantSpec",
    "approval_target",
    "endpoint_name_of",
    "load_scenario",
    "parse_scenario",
]


def _fault_kind(value: Any) -> str:
    """A fault naming a ``function`` is a Lambda function fault; any other is an AWS API fault."""
    if isinstance(value, dict):
        return "function" if "function" in value else "api"
    return "function" if isinstance(value, FunctionFault) else "api"


AnyFault = Annotated[
    Annotated[Fault, Tag("api")] | Annotated[FunctionFault, Tag("function")], Discriminator(_fault_kind)
]


class Scenario(Strict):
    name: str
    description: str = ""
    endpoint: EndpointSpec | None = Field(default=None, description="one live endpoint (shorthand for endpoints)")
    endpoints: list[EndpointSpec] = Field(default_factory=list, description="the live endpoints")
    approval: ApprovalSpec | None = None
    policy: dict[str, Any] | None = Field(default=None, description="the approval group's SSM policy parameter")
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict, description="group -> SSM policy parameter")
    stack: dict[str, str] = Field(default_factory=dict, description="template parameter overrides")
    faults: list[AnyFault] = Field(
        default_factory=list, description="API faults (api: ...) and Lambda function faults (function: ...)"
    )
    timings: Timings = Field(default_factory=Timings)
    aws_timings: AwsTimings = Field(
        default_factory=AwsTimings, description="Lambda durations, EventBridge delivery, CloudWatch metric delay"
    )
    limits: Limits = Field(default_factory=Limits, description="AWS quotas, which a scenario may only lower")
    traffic: Traffic = Field(default_factory=Traffic)
    model_behaviour: dict[str, Behaviour | list[Behaviour]] = Field(
        default_factory=dict,
        description="how models answer, by model name, group/version, group, 'new' (approved by the scenario) "
        "or 'baseline' (everything else); the most specific key wins",
    )
    alarms: list[ScenarioAlarm] = Field(default_factory=list, description="alarms that exist before the start")
    operator: list[OperatorAction] = Field(default_factory=list, description="people steering the rollout")
    people: list[PersonSpec] = Field(
        default_factory=list, description="who may use the rollout command, with their IAM policies (default: alice)"
    )
    timeline: list[TimelineEntry] = Field(default_factory=list, description="what the outside world does, in order")
    expect: Expect | None = Field(
        default=None, description="how the story should end (checked by 'rollout simulate' and the tests)"
    )

    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        check_scenario(self)
        return self

    def everyone(self) -> list[PersonSpec]:
        """The scenario's people (alice, an operator with the README's policies, when it names none)."""
        return list(self.people) or list(DEFAULT_PEOPLE)

    def live_endpoints(self) -> list[EndpointSpec]:
        """Every endpoint that exists before the start (``endpoint`` and ``endpoints`` together)."""
        return ([self.endpoint] if self.endpoint is not None else []) + list(self.endpoints)

    def all_policies(self) -> dict[str, dict[str, Any]]:
        """Group -> policy: ``policies`` plus ``policy`` for the approval's group."""
        found = dict(self.policies)
        if self.policy is not None and self.approval is not None:
            found[self.approval.group] = self.policy
        return found

    @field_validator("faults")
    @classmethod
    def _faults_name_known_functions(cls, faults: list[AnyFault]) -> list[AnyFault]:
        _known_functions([f.function for f in faults if isinstance(f, FunctionFault)])
        return faults

    @field_validator("aws_timings")
    @classmethod
    def _timings_name_known_functions(cls, timings: AwsTimings) -> AwsTimings:
        _known_functions(list(timings.function_run_seconds))
        return timings

    def behaviours(self) -> dict[str, list[Behaviour]]:
        return {k: (v if isinstance(v, list) else [v]) for k, v in self.model_behaviour.items()}

    def operator_entries(self) -> list[Operator]:
        """The older ``operator:`` key as timeline entries (same effect, same time)."""
        return [
            Operator.model_validate(
                {"at_seconds": a.at_seconds, "action": "operator", "command": a.action, "as": a.as_, "by": a.by}
                | {"reason": a.reason, "signed": a.signed}
            )
            for a in self.operator
        ]

    def load_event(self, root: Path) -> dict[str, Any]:
        assert self.approval is not None
        event = self.approval.event
        if isinstance(event, dict):
            copied: dict[str, Any] = json.loads(json.dumps(event))
            return copied
        assert event is not None
        for base in (self.base_dir, root):
            candidate = base / event
            if candidate.exists():
                loaded: dict[str, Any] = json.loads(candidate.read_text())
                return loaded
        raise FileNotFoundError(f"approval event file {event} not found next to the scenario or in {root}")


def _known_functions(names: list[str]) -> None:
    known = function_ids()
    unknown = sorted({name for name in names if name not in known})
    if unknown:
        raise ValueError(f"no function named {', '.join(unknown)} in template.yaml (functions: {', '.join(known)})")


class ScenarioError(ValueError):
    """A scenario that cannot run, explained in one line."""


def parse_scenario(data: Any, base_dir: Path = Path(".")) -> Scenario:
    """Validate a scenario document; every mistake is reported on one line (``ScenarioError``)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"a scenario is a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(one_line(exc)) from None


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON)."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ScenarioError(f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}{where}") from None
    try:
        return parse_scenario(document, path.parent)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def one_line(exc: ValidationError) -> str:
    """Pydantic's errors as one line: where (``timeline[2].status``), then what, with a suggestion for typos."""
    errors = exc.errors()
    locs = [tuple(e["loc"]) for e in errors]
    kept = [e for e in errors if not _other_branch(tuple(e["loc"]), str(e["type"]), locs)]
    return "; ".join(dict.fromkeys(_describe(error) for error in kept))


def _other_branch(loc: tuple[Any, ...], kind: str, locs: list[tuple[Any, ...]]) -> bool:
    """A value that fits no branch of a union (``Behaviour | list[Behaviour]``) fails every branch; the
    "should be a valid list" of the branch it was not meant for says nothing when another branch says more."""
    parent = loc[:-1]
    return kind.endswith("_type") and any(len(other) > len(loc) and other[: len(parent)] == parent for other in locs)


def _describe(error: Any) -> str:
    raw = [p for p in error["loc"] if not _is_branch_label(p)]
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    loc = [p for i, p in enumerate(raw) if not (i == 2 and p in _TAGGED.get(str(raw[0]), {}))]
    where = _where(loc)
    if kind == "extra_forbidden":
        model = _model_at(raw[:-1])
        hint = _suggest(str(raw[-1]), sorted(model.model_fields) if model else [])
        return f"{_where(loc[:-1]) or 'scenario'}: unknown key '{raw[-1]}'{hint}"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "?")
        return f"{where}: unknown action '{tag}'{_suggest(str(tag), list(ACTIONS))}; actions: {', '.join(ACTIONS)}"
    if kind == "union_tag_not_found":
        return f"{where}: every timeline entry needs 'action' ({', '.join(ACTIONS)})"
    if kind == "missing":
        return f"{_where(loc[:-1]) or 'scenario'}: missing '{loc[-1]}'"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "package":
        return f"{where}: '{error.get('input')}' is not group/version (for example churn/2)"
    return f"{where}: {message}" if where else message  # the scenario-wide checks name their place themselves


def _is_branch_label(part: Any) -> bool:
    """Pydantic names the branch of a union in an error's location (``Behaviour``, ``list[Behaviour]``, ``str``)."""
    return isinstance(part, str) and (part in _BRANCH_LABELS or "[" in part)


def _where(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """The model an error location points into (for the keys it knows); dict keys and union labels are skipped."""
    model: type[BaseModel] | None = Scenario
    tagged: dict[str, type[BaseModel]] | None = None  # a tagged union's branches, when its tag comes next
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if tagged is not None:
            model, tagged = tagged.get(str(part)), None
            continue
        if model is Scenario and str(part) in _TAGGED:
            tagged = _TAGGED[str(part)]
            continue
        field = model.model_fields.get(str(part))
        if field is not None:
            model = _inner_model(field.annotation)
    return None if tagged is not None else model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``; None for plain values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_BRANCH_LABELS = {"Behaviour", "str", "int", "float", "bool"}
# lists of tagged unions: pydantic puts the tag (a timeline entry's action, a fault's kind) into the location
_TAGGED: dict[str, dict[str, type[BaseModel]]] = {
    "timeline": dict(ENTRY_MODELS),
    "faults": {"api": Fault, "function": FunctionFault},
}


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
