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
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rollout_local.emulator.sagemaker import Fault, Timings
from rollout_local.emulator.world import AlarmSpec, Behaviour, Traffic

PACKAGE_REF = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/[1-9][0-9]*$"
ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerlessSpec(Strict):
    memory_size_mb: int
    max_concurrency: int


class AutoscalingSpec(Strict):
    min_capacity: int = Field(default=1, ge=1)
    max_capacity: int = Field(default=4, ge=1)
    target_invocations_per_instance: float = Field(default=70.0, gt=0)


class VariantSpec(Strict):
    name: str
    autoscaling: AutoscalingSpec | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: ServerlessSpec | None = None
    weight: float = 1.0
    model: str | None = Field(default=None, description="the live model's name (default: <endpoint>-<variant>-model)")


class EndpointSpec(Strict):
    """A live endpoint before the first approval."""

    name: str
    variants: list[VariantSpec]
    status: Literal["InService", "Creating", "Updating", "Failed", "OutOfService"] = "InService"
    config_name: str | None = None
    config_extras: dict[str, Any] = Field(
        default_factory=dict, description="more CreateEndpointConfig keys (DataCaptureConfig, KmsKeyId, ...)"
    )
    config_missing: bool = Field(default=False, description="delete the live config before the approval")
    live_weights: dict[str, float] = Field(
        default_factory=dict, description="weights set live (UpdateEndpointWeightsAndCapacities) after creation"
    )

    @property
    def config(self) -> str:
        """The config the endpoint is created on."""
        return self.config_name or f"{self.name}-config-v0"


class ApprovalSpec(Strict):
    """What is approved at the start and how the rollout is started."""

    group: str = "churn"
    event: str | dict[str, Any] | None = None
    manual: dict[str, Any] | None = None
    package_status: ApprovalStatus = "Approved"
    package_exists: bool = True
    metadata: dict[str, str] = Field(default_factory=dict, description="the package's CustomerMetadataProperties")
    duplicates: int = Field(default=0, ge=0, le=5, description="deliver the same event this many more times")

    @model_validator(mode="after")
    def _one_start(self) -> ApprovalSpec:
        if (self.event is None) == (self.manual is None):
            raise ValueError("approval needs exactly one of 'event' or 'manual'")
        return self


class OperatorAction(Strict):
    """A person steering the rollout at a simulated time (the older ``operator:`` key; the timeline's
    ``action: operator`` is the same)."""

    at_seconds: int = Field(ge=0)
    action: Literal["approve", "reject", "abort", "promote"]
    by: str = "alice@example.com"
    reason: str = ""


class ScenarioAlarm(AlarmSpec):
    """An alarm that exists before the first approval; a metric alarm watches a variant of ``endpoint``."""

    endpoint: str | None = Field(default=None, description="the endpoint of a metric alarm (default: the only one)")


# --- the timeline ------------------------------------------------------------------------------------------------


class _Entry(Strict):
    at_seconds: float = Field(ge=0, description="simulated seconds since the start")


class Approve(_Entry):
    """Register a new version of ``group`` (or take ``package``) and set it Approved; SageMaker emits the event."""

    action: Literal["approve"]
    group: str | None = None
    package: str | None = Field(default=None, pattern=PACKAGE_REF, description="an existing version: group/version")
    metadata: dict[str, str] = Field(default_factory=dict, description="CustomerMetadataProperties of a new version")
    description: str = Field(default="", description="ApprovalDescription")
    duplicates: int = Field(
        default=0, ge=0, le=5, description="SageMaker sends the Approved event this many more times"
    )

    @model_validator(mode="after")
    def _one_package(self) -> Approve:
        if (self.group is None) == (self.package is None):
            raise ValueError("approve needs exactly one of 'group' (a new version) or 'package' (group/version)")
        if self.package is not None and self.metadata:
            raise ValueError("approve: 'metadata' is for a new version ('group'); an existing package keeps its own")
        return self


class SetApproval(_Entry):
    """Change a package's approval status; SageMaker emits the state change event."""

    action: Literal["set_approval"]
    package: str = Field(pattern=PACKAGE_REF)
    status: ApprovalStatus
    description: str = Field(default="", description="ApprovalDescription")
    duplicates: int = Field(default=0, ge=0, le=5)


class PackageEvent(_Entry):
    """A state change event without an approval change (a lifecycle or metadata update), current status included."""

    action: Literal["package_event"]
    package: str = Field(pattern=PACKAGE_REF)
    metadata: dict[str, str] = Field(default_factory=dict, description="CustomerMetadataProperties to update")
    duplicates: int = Field(default=0, ge=0, le=5)


class Operator(_Entry):
    """A person's command, through the same code as the `rollout` CLI."""

    action: Literal["operator"]
    command: Literal["approve", "reject", "abort", "promote", "start"]
    endpoint: str | None = Field(default=None, description="default: the scenario's endpoint")
    by: str = "alice@example.com"
    reason: str = ""
    package: str | None = Field(default=None, pattern=PACKAGE_REF, description="start: the package (group/version)")
    policy: dict[str, Any] | None = Field(default=None, description="start: policy fields overriding every source")

    @model_validator(mode="after")
    def _start_fields(self) -> Operator:
        if self.command == "start" and self.package is None:
            raise ValueError("operator start needs 'package' (group/version)")
        if self.command != "start" and (self.package is not None or self.policy is not None):
            raise ValueError(f"operator {self.command}: 'package' and 'policy' are for 'start' only")
        return self


class ConfigVariant(VariantSpec):
    """A variant of a config someone else creates; its model is made from ``package`` when it does not exist."""

    package: str | None = Field(default=None, pattern=PACKAGE_REF, description="the model's package: group/version")


class UpdateEndpoint(_Entry):
    """Someone else's UpdateEndpoint: to an existing ``config``, or to a new one described by ``variants``."""

    action: Literal["update_endpoint"]
    endpoint: str
    config: str | None = Field(default=None, description="the config (with variants: the new config's name)")
    variants: list[ConfigVariant] | None = None
    config_extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _config_or_variants(self) -> UpdateEndpoint:
        if self.config is None and not self.variants:
            raise ValueError("update_endpoint needs 'config' (an existing config) or 'variants' (a new one)")
        if self.config_extras and not self.variants:
            raise ValueError("update_endpoint: 'config_extras' describe a new config; give 'variants' too")
        return self


class UpdateWeights(_Entry):
    """Someone else's UpdateEndpointWeightsAndCapacities."""

    action: Literal["update_weights"]
    endpoint: str
    weights: dict[str, float] = Field(default_factory=dict, description="variant -> DesiredWeight")
    instance_counts: dict[str, int] = Field(default_factory=dict, description="variant -> DesiredInstanceCount")

    @model_validator(mode="after")
    def _something(self) -> UpdateWeights:
        if not self.weights and not self.instance_counts:
            raise ValueError("update_weights needs 'weights' or 'instance_counts'")
        return self


class SetAlarm(_Entry):
    """CloudWatch SetAlarmState: the state holds until the alarm's next evaluation, and the change is an event."""

    action: Literal["set_alarm"]
    alarm: str
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = "set by the scenario's timeline"


class DeleteEndpoint(_Entry):
    action: Literal["delete_endpoint"]
    endpoint: str


class DeleteConfig(_Entry):
    """DeleteEndpointConfig of ``config``, or of the config ``endpoint`` serves at that moment."""

    action: Literal["delete_config"]
    config: str | None = None
    endpoint: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DeleteConfig:
        if (self.config is None) == (self.endpoint is None):
            raise ValueError("delete_config needs exactly one of 'config' or 'endpoint' (the config it serves now)")
        return self


TimelineEntry = Annotated[
    Approve
    | SetApproval
    | PackageEvent
    | Operator
    | UpdateEndpoint
    | UpdateWeights
    | SetAlarm
    | DeleteEndpoint
    | DeleteConfig,
    Field(discriminator="action"),
]
ACTIONS = (
    "approve",
    "set_approval",
    "package_event",
    "operator",
    "update_endpoint",
    "update_weights",
    "set_alarm",
    "delete_endpoint",
    "delete_config",
)


class Scenario(Strict):
    name: str
    description: str = ""
    endpoint: EndpointSpec | None = Field(default=None, description="one live endpoint (shorthand for endpoints)")
    endpoints: list[EndpointSpec] = Field(default_factory=list, description="the live endpoints")
    approval: ApprovalSpec | None = None
    policy: dict[str, Any] | None = Field(default=None, description="the approval group's SSM policy parameter")
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict, description="group -> SSM policy parameter")
    stack: dict[str, str] = Field(default_factory=dict, description="template parameter overrides")
    faults: list[Fault] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    traffic: Traffic = Field(default_factory=Traffic)
    model_behaviour: dict[str, Behaviour | list[Behaviour]] = Field(
        default_factory=dict,
        description="how models answer, by model name, group/version, group, 'new' (approved by the scenario) "
        "or 'baseline' (everything else); the most specific key wins",
    )
    alarms: list[ScenarioAlarm] = Field(default_factory=list, description="alarms that exist before the start")
    operator: list[OperatorAction] = Field(default_factory=list, description="people steering the rollout")
    timeline: list[TimelineEntry] = Field(default_factory=list, description="what the outside world does, in order")

    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        from rollout_local.timeline import check_scenario

        check_scenario(self)
        return self

    def live_endpoints(self) -> list[EndpointSpec]:
        """Every endpoint that exists before the start (``endpoint`` and ``endpoints`` together)."""
        return ([self.endpoint] if self.endpoint is not None else []) + list(self.endpoints)

    def all_policies(self) -> dict[str, dict[str, Any]]:
        """Group -> policy: ``policies`` plus ``policy`` for the approval's group."""
        found = dict(self.policies)
        if self.policy is not None and self.approval is not None:
            found[self.approval.group] = self.policy
        return found

    def behaviours(self) -> dict[str, list[Behaviour]]:
        return {k: (v if isinstance(v, list) else [v]) for k, v in self.model_behaviour.items()}

    def operator_entries(self) -> list[Operator]:
        """The older ``operator:`` key as timeline entries (same effect, same time)."""
        return [
            Operator(at_seconds=a.at_seconds, action="operator", command=a.action, by=a.by, reason=a.reason)
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
        return parse_scenario(yaml.safe_load(path.read_text()), path.parent)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def one_line(exc: ValidationError) -> str:
    """Pydantic's errors as one line: where (``timeline[2].status``), then what, with a suggestion for typos."""
    return "; ".join(_describe(error) for error in exc.errors())


def _describe(error: Any) -> str:
    raw = list(error["loc"])
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    loc = [p for i, p in enumerate(raw) if not (i == 2 and raw[0] == "timeline" and p in ACTIONS)]
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
    return f"{where or 'scenario'}: {message}"


def _where(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """The model an error location points into (for the keys it knows); dict keys and union labels are skipped."""
    model: type[BaseModel] | None = Scenario
    in_timeline = False
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if in_timeline:
            model, in_timeline = _ENTRY_MODELS.get(str(part)), False
            continue
        if model is Scenario and part == "timeline":
            in_timeline = True
            continue
        field = model.model_fields.get(str(part))
        if field is not None:
            model = _inner_model(field.annotation)
    return None if in_timeline else model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``; None for plain values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "approve": Approve,
    "set_approval": SetApproval,
    "package_event": PackageEvent,
    "operator": Operator,
    "update_endpoint": UpdateEndpoint,
    "update_weights": UpdateWeights,
    "set_alarm": SetAlarm,
    "delete_endpoint": DeleteEndpoint,
    "delete_config": DeleteConfig,
}


def endpoint_name_of(scenario: Scenario) -> str | None:
    """The endpoint a scenario is about: its only live endpoint, the one its approval targets, or the first."""
    live = scenario.live_endpoints()
    if len(live) == 1:
        return live[0].name
    target = approval_target(scenario)
    if live and target not in {e.name for e in live}:
        return live[0].name
    return target


def approval_target(scenario: Scenario) -> str | None:
    """The endpoint the initial approval names (manual input, package metadata, or its group's policy)."""
    approval = scenario.approval
    if approval is None:
        return None
    manual = approval.manual or {}
    for source in (
        manual,
        manual.get("policy") or {},
        {"endpoint_name": approval.metadata.get("rollout:endpoint_name")},
        scenario.all_policies().get(approval.group) or {},
    ):
        if isinstance(source, dict) and isinstance(source.get("endpoint_name"), str):
            return str(source["endpoint_name"])
    return None
