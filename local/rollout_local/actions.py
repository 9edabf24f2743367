"""The scenario timeline's entries: what the outside world does at a simulated time, one action each.

``action`` names the kind; every other key is checked strictly (a typo is an error, never ignored).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from rollout_local.specs import PACKAGE_REF, ApprovalStatus, Strict, VariantSpec


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
    command: Literal["approve", "reject", "abort", "promote", "pause", "resume", "retry", "undo", "release", "start"]
    endpoint: str | None = Field(default=None, description="default: the scenario's endpoint")
    as_: str | None = Field(default=None, alias="as", description="who (one of `people`; default: the first)")
    signed: bool = Field(default=True, description="false: the request goes without a SigV4 signature")
    by: str = Field(default="", description="a comment: the name the person gives (--by)")
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


class StartExecution(_Entry):
    """Someone's StartExecution of the state machine with any JSON input (not an object, malformed, ...)."""

    action: Literal["start_execution"]
    input: Any = Field(description="the execution input, any JSON value (null included)")


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
    | StartExecution
    | UpdateEndpoint
    | UpdateWeights
    | SetAlarm
    | DeleteEndpoint
    | DeleteConfig,
    Field(discriminator="action"),
]
ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "approve": Approve,
    "set_approval": SetApproval,
    "package_event": PackageEvent,
    "operator": Operator,
    "start_execution": StartExecution,
    "update_endpoint": UpdateEndpoint,
    "update_weights": UpdateWeights,
    "set_alarm": SetAlarm,
    "delete_endpoint": DeleteEndpoint,
    "delete_config": DeleteConfig,
}
ACTIONS = tuple(ENTRY_MODELS)
