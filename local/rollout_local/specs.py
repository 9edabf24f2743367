"""The world before the start, as a scenario describes it: endpoints, their variants, the first approval, the
alarms, people's commands (the older ``operator:`` key)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rollout_local.emulator.world import AlarmSpec

PACKAGE_REF = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/[1-9][0-9]*$"  # group/version
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
    as_: str | None = Field(default=None, alias="as", description="who (one of `people`; default: the first)")
    signed: bool = Field(default=True, description="false: the request goes without a SigV4 signature")
    by: str = Field(default="", description="a comment: the name the person gives (--by)")
    reason: str = ""


# The IAM policies the README recommends for people, by name (${...}: the stack's names, filled in when deployed).
PERSON_POLICIES: dict[str, list[dict[str, Any]]] = {
    "steer": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "${SteeringApiArn}/POST/endpoints/*"},
    ],
    "start": [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": "${StateMachineArn}"}],
    "read": [
        {"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": "${StackArn}"},
        {"Effect": "Allow", "Action": "states:ListExecutions", "Resource": "${StateMachineArn}"},
        {
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:GetExecutionHistory"],
            "Resource": "${ExecutionArns}",
        },
        {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": "${TableArn}",
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ENDPOINT#*"]}},
        },
        {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": "${PolicyParameterArns}"},
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeModelPackage"],
            "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:model-package/*"],
        },
    ],
}


class PersonSpec(Strict):
    """Someone who uses the `rollout` command: the IAM role they act in, and what it allows."""

    name: str = Field(pattern=r"^[\w+=,.@-]{2,64}$", description="the role session name")
    role: str | None = Field(default=None, pattern=r"^[\w+=,.@-]{1,64}$", description="the role (default: name)")
    policies: list[Literal["steer", "start", "read"]] = Field(
        default_factory=list, description="the README's policies: steer, start, read"
    )
    statements: list[dict[str, Any]] = Field(
        default_factory=list, description="more identity-based policy statements (${SteeringApiArn} and co. allowed)"
    )


DEFAULT_PEOPLE = [PersonSpec(name="alice", role="RolloutOperator", policies=["steer", "start", "read"])]


class ScenarioAlarm(AlarmSpec):
    """An alarm that exists before the first approval; a metric alarm watches a variant of ``endpoint``."""

    endpoint: str | None = Field(default=None, description="the endpoint of a metric alarm (default: the only one)")
