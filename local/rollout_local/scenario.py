"""The scenario file: the world before an approval, what gets approved, and what goes wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rollout_local.emulator.faults import Fault
from rollout_local.emulator.sagemaker import Timings
from rollout_local.emulator.world import AlarmSpec, Behaviour, Traffic


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
    """The live endpoint before the approval."""

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


class ApprovalSpec(Strict):
    """What is approved and how the rollout is started."""

    group: str = "churn"
    event: str | dict[str, Any] | None = None
    manual: dict[str, Any] | None = None
    package_status: Literal["Approved", "PendingManualApproval", "Rejected"] = "Approved"
    package_exists: bool = True
    metadata: dict[str, str] = Field(default_factory=dict, description="the package's CustomerMetadataProperties")
    duplicates: int = Field(default=0, ge=0, le=5, description="deliver the same event this many more times")

    @model_validator(mode="after")
    def _one_start(self) -> ApprovalSpec:
        if (self.event is None) == (self.manual is None):
            raise ValueError("approval needs exactly one of 'event' or 'manual'")
        return self


class OperatorAction(Strict):
    """A person steering the rollout at a simulated time (what `rollout approve/abort/promote` do)."""

    at_seconds: int = Field(ge=0)
    action: Literal["approve", "reject", "abort", "promote"]
    by: str = "alice@example.com"
    reason: str = ""


class Scenario(Strict):
    name: str
    description: str = ""
    endpoint: EndpointSpec | None = None
    approval: ApprovalSpec
    policy: dict[str, Any] | None = Field(default=None, description="stored as the group's SSM policy parameter")
    stack: dict[str, str] = Field(default_factory=dict, description="template parameter overrides")
    faults: list[Fault] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    traffic: Traffic = Field(default_factory=Traffic)
    model_behaviour: dict[Literal["baseline", "new"], Behaviour | list[Behaviour]] = Field(
        default_factory=dict, description="how the live model(s) and the approved model answer"
    )
    alarms: list[AlarmSpec] = Field(default_factory=list, description="alarms that exist before the approval")
    operator: list[OperatorAction] = Field(default_factory=list, description="people steering the rollout")

    def behaviours(self) -> dict[str, list[Behaviour]]:
        return {k: (v if isinstance(v, list) else [v]) for k, v in self.model_behaviour.items()}

    base_dir: Path = Field(default=Path("."), exclude=True)

    def load_event(self, root: Path) -> dict[str, Any]:
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


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON); a mistake is one line naming where it is."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        raise ValueError(one_line(exc)) from None


def one_line(exc: ValidationError) -> str:
    """A pydantic error as one line: each problem as ``where: what``."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        what = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            what = "unknown key"
        problems.append(f"{where}: {what}" if where else what)
    return "; ".join(problems)


def endpoint_name_of(scenario: Scenario) -> str | None:
    """The endpoint a scenario is about: the live one, or the one its policy or manual start names."""
    if scenario.endpoint is not None:
        return scenario.endpoint.name
    for source in (
        scenario.approval.manual or {},
        (scenario.approval.manual or {}).get("policy") or {},
        scenario.policy or {},
    ):
        if isinstance(source, dict) and isinstance(source.get("endpoint_name"), str):
            return str(source["endpoint_name"])
    return None
