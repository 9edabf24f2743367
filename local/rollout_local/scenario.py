"""The scenario file: the world before an approval, what gets approved, and what goes wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rollout_local.emulator.limits import AwsTimings, FunctionFault, Limits
from rollout_local.emulator.sagemaker import Fault, Timings
from rollout_local.emulator.world import AlarmSpec, Behaviour, Traffic
from rollout_local.stack import function_ids


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
    faults: list[Fault | FunctionFault] = Field(
        default_factory=list, description="API faults (api: ...) and Lambda function faults (function: ...)"
    )
    timings: Timings = Field(default_factory=Timings)
    aws_timings: AwsTimings = Field(
        default_factory=AwsTimings, description="Lambda durations, EventBridge delivery, CloudWatch metric delay"
    )
    limits: Limits = Field(default_factory=Limits, description="AWS quotas, which a scenario may only lower")
    traffic: Traffic = Field(default_factory=Traffic)
    model_behaviour: dict[Literal["baseline", "new"], Behaviour | list[Behaviour]] = Field(
        default_factory=dict, description="how the live model(s) and the approved model answer"
    )
    alarms: list[AlarmSpec] = Field(default_factory=list, description="alarms that exist before the approval")
    operator: list[OperatorAction] = Field(default_factory=list, description="people steering the rollout")

    @field_validator("faults")
    @classmethod
    def _faults_name_known_functions(cls, faults: list[Fault | FunctionFault]) -> list[Fault | FunctionFault]:
        _known_functions([f.function for f in faults if isinstance(f, FunctionFault)])
        return faults

    @field_validator("aws_timings")
    @classmethod
    def _timings_name_known_functions(cls, timings: AwsTimings) -> AwsTimings:
        _known_functions(list(timings.function_run_seconds))
        return timings

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


def _known_functions(names: list[str]) -> None:
    known = function_ids()
    unknown = sorted({name for name in names if name not in known})
    if unknown:
        raise ValueError(f"no function named {', '.join(unknown)} in template.yaml (functions: {', '.join(known)})")


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a mapping, got {type(data).__name__}")
    return Scenario.model_validate({**data, "base_dir": path.parent})


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
