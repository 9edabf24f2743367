"""The types that cross every boundary: what was asked (request, policy) and what has happened (state).

Spec and status stay apart, as in Argo Rollouts: ``Policy`` is the immutable input, ``RolloutState`` is the
progress that every step of the state machine receives and returns whole.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SAGEMAKER_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
MODEL_PACKAGE_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:model-package/[\S]{1,2048}$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- Policy ---------------------------------------------------------------------------------------------


class ServerlessCapacity(Frozen):
    """A serverless variant's size (SageMaker ServerlessConfig)."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    max_concurrency: int = Field(ge=1, le=200)


class Capacity(Frozen):
    """The capacity of the new model's variant(s). Unset fields keep what the live endpoint has."""

    instance_type: str | None = Field(default=None, pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: int | None = Field(default=None, ge=1, le=100)
    serverless: ServerlessCapacity | None = None

    @model_validator(mode="after")
    def _instances_or_serverless(self) -> Capacity:
        if self.serverless is not None and (self.instance_type or self.instance_count):
            raise ValueError("give either serverless or instance_type/instance_count, not both")
        return self


class Step(Frozen):
    """One traffic step (Argo's setWeight + pause): the new model's share, then how long to judge it."""

    weight_percent: float = Field(gt=0, le=100, description="share of traffic the new model serves")
    bake_seconds: int = Field(default=0, ge=0, le=86400, description="how long to judge this step")
    confirm: bool = Field(default=False, description="after this step passes, wait for a person before going on")


class Gates(Frozen):
    """Points where a person must approve (callback task + `rollout approve`), with a timeout and its action."""

    confirm_before_start: bool = False
    confirm_before_promotion: bool = False
    timeout_seconds: int = Field(default=86400, ge=60, le=604800, description="how long a gate waits")
    on_timeout: Literal["proceed", "roll_back"] = "roll_back"


class AllAtOnce(Frozen):
    """Switch the endpoint to the new model in one zero-downtime UpdateEndpoint (SageMaker's standard update)."""

    type: Literal["all_at_once"] = "all_at_once"
    bake_seconds: int = Field(default=0, ge=0, le=86400, description="judge the new model this long afterwards")


class Canary(Frozen):
    """``canary_percent`` of traffic for ``bake_seconds``, then 100% (optionally judged for ``final_bake_seconds``)."""

    type: Literal["canary"] = "canary"
    canary_percent: float = Field(gt=0, lt=100)
    bake_seconds: int = Field(ge=0, le=86400)
    final_bake_seconds: int = Field(default=0, ge=0, le=86400)


class Linear(Frozen):
    """``step_percent`` more traffic every ``interval_seconds`` until 100%."""

    type: Literal["linear"] = "linear"
    step_percent: float = Field(gt=0, lt=100)
    interval_seconds: int = Field(ge=0, le=86400)


class Steps(Frozen):
    """The general form: an explicit list of steps. Canary and linear expand into it."""

    type: Literal["steps"] = "steps"
    steps: tuple[Step, ...] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _increasing_to_100(self) -> Steps:
        weights = [s.weight_percent for s in self.steps]
        if any(b <= a for a, b in itertools.pairwise(weights)):
            raise ValueError(f"step weights must increase strictly, got {weights}")
        if weights[-1] != 100:
            raise ValueError(f"the last step must send 100% of traffic to the new model, got {weights[-1]}")
        return self


Strategy = Annotated[AllAtOnce | Canary | Linear | Steps, Field(discriminator="type")]


class Analysis(Frozen):
    """How every step is judged: the policy's alarms and built-in checks on the new variant's metrics."""

    alarms: tuple[str, ...] = Field(default=(), max_length=100, description="CloudWatch alarm names; ALARM fails")
    treat_missing: Literal["ok", "inconclusive"] = Field(
        default="ok", description="what an alarm in INSUFFICIENT_DATA means"
    )
    max_error_rate: float | None = Field(
        default=None, ge=0, le=1, description="highest Invocation5XXErrors / Invocations of the new variant"
    )
    max_error_rate_increase: float | None = Field(
        default=None, ge=0, le=1, description="highest error rate above the baseline's over the same window"
    )
    max_latency_ms: float | None = Field(default=None, gt=0, description="highest ModelLatency of the new variant")
    max_latency_ratio: float | None = Field(
        default=None, gt=0, description="highest ModelLatency of the new variant divided by the baseline's"
    )
    latency_statistic: Literal["p50", "p90", "p99", "Average"] = "p99"
    min_invocations: int = Field(default=100, ge=0, description="invocations of the new variant before a verdict")
    check_interval_seconds: int = Field(default=60, ge=10, le=3600, description="seconds between checks in a bake")
    max_inconclusive: int = Field(default=3, ge=0, le=100, description="bake extensions for inconclusive verdicts")
    on_inconclusive: Literal["fail", "pass"] = Field(
        default="fail", description="the verdict once max_inconclusive extensions are used up"
    )
    failure_threshold: int = Field(default=1, ge=1, le=100, description="failed checks that trigger rollback")

    @property
    def has_metric_checks(self) -> bool:
        return any(
            v is not None
            for v in (self.max_error_rate, self.max_error_rate_increase, self.max_latency_ms, self.max_latency_ratio)
        )


class Policy(Frozen):
    """The rollout policy document. ``docs/policy.schema.json`` is generated from this class."""

    endpoint_name: str = Field(pattern=SAGEMAKER_NAME, description="The real-time endpoint to roll out to.")
    strategy: Strategy = Field(default_factory=AllAtOnce, description="How traffic moves to the new model.")
    analysis: Analysis = Field(default_factory=Analysis, description="How each step is judged.")
    gates: Gates = Field(default_factory=Gates, description="Where a person must approve.")
    on_rollback: Literal["none", "reject_package"] = Field(
        default="none", description="reject_package sets the package to Rejected with the reason"
    )
    on_busy: Literal["queue", "reject"] = Field(
        default="queue", description="When another rollout holds the endpoint: wait for it, or refuse at once."
    )
    queue_timeout_seconds: int = Field(
        default=3600, ge=0, le=86400, description="How long a queued rollout waits for the endpoint."
    )
    lock_poll_seconds: int = Field(default=60, ge=10, le=3600, description="How often a queued rollout retries.")
    update_timeout_seconds: int = Field(
        default=3600, ge=300, le=28800, description="How long an update may take to reach InService."
    )
    poll_interval_seconds: int = Field(
        default=30, ge=10, le=600, description="Seconds between endpoint status checks (botocore's waiter uses 30)."
    )
    capacity: Capacity | None = Field(
        default=None,
        description="Capacity of the new variant(s); required for a first deployment. For traffic-shifting "
        "strategies, unset fields take the largest baseline variant's instance type and live count.",
    )
    variant_name: str = Field(
        default="AllTraffic", pattern=SAGEMAKER_NAME, description="Variant name used when creating a new endpoint."
    )


# --- Request --------------------------------------------------------------------------------------------


class StartSource(StrEnum):
    EVENT = "event"
    MANUAL = "manual"


class RolloutRequest(Frozen):
    """What to roll out, wherever the execution came from (approval event, console, CLI)."""

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN)
    source: StartSource
    endpoint_name: str | None = Field(default=None, pattern=SAGEMAKER_NAME)
    policy_override: dict[str, object] | None = None
    event_id: str | None = None


class ModelPackage(Frozen):
    """The parts of a registry model package this service reads."""

    arn: str
    group_name: str
    version: int | None
    approval_status: str
    metadata: dict[str, str] = Field(default_factory=dict)


# --- Endpoint snapshots ---------------------------------------------------------------------------------


class VariantSnapshot(Frozen):
    """One production variant as it is live: its model, weight and capacity."""

    name: str
    model_name: str
    weight: float
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: ServerlessCapacity | None = None


class VariantScaling(Frozen):
    """A variant's Application Auto Scaling target and policies (as their Put* requests take them)."""

    variant: str
    min_capacity: int
    max_capacity: int
    policies: list[dict[str, Any]] = Field(default_factory=list)


class EndpointSnapshot(Frozen):
    """An endpoint as described before the rollout touched it (the rollback target) or at any later check."""

    name: str
    exists: bool
    status: str | None = None
    config_name: str | None = None
    variants: tuple[VariantSnapshot, ...] = ()
    failure_reason: str | None = None
    pending_config_name: str | None = None
    scaling: tuple[VariantScaling, ...] = Field(default=(), description="autoscaled variants before the rollout")


# --- State ----------------------------------------------------------------------------------------------


class Phase(StrEnum):
    RESOLVED = "resolved"
    WAITING_FOR_LOCK = "waiting_for_lock"
    LOCKED = "locked"
    BASELINED = "baselined"
    PREPARED = "prepared"
    UPDATING = "updating"
    SHIFTING = "shifting"
    BAKING = "baking"
    PROMOTING = "promoting"
    DEPLOYED = "deployed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FINISHED = "finished"


class LockStatus(StrEnum):
    NONE = "none"
    ACQUIRED = "acquired"
    BUSY = "busy"
    REFUSED = "refused"
    DUPLICATE = "duplicate"
    RELEASED = "released"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class LockState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: LockStatus = LockStatus.NONE
    holder: str | None = None
    first_tried_at: datetime | None = None
    attempts: int = 0


class Target(Frozen):
    """What this rollout creates and deploys."""

    model_name: str
    config_name: str = Field(description="the config the endpoint ends on when the rollout succeeds")
    creates_endpoint: bool
    variant_name: str | None = Field(default=None, description="the new variant while traffic shifts")
    shift_config_name: str | None = Field(default=None, description="baseline variants + the new one at 0")

    @property
    def shifts_traffic(self) -> bool:
        return self.shift_config_name is not None


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class StepRecord(Frozen):
    """What happened at one check of one step: kept in the state, small, for the record and the report."""

    step: int
    weight_percent: float
    at: datetime
    verdict: Verdict
    reason: str


class GateState(Frozen):
    """A gate waiting for a person: what follows its approval, and when it times out."""

    name: str
    opened_at: datetime
    deadline: datetime
    then: Literal["start", "shift", "promote"]


class BakeState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    started_at: datetime | None = None
    ends_at: datetime | None = None
    checks: int = 0
    failures: int = 0
    inconclusive: int = 0
    next_check_seconds: int = 10


class TaskError(BaseModel):
    """A caught error as Step Functions puts it in the state (``Catch`` with ``ResultPath: $.error``)."""

    model_config = ConfigDict(extra="ignore")

    Error: str
    Cause: str | None = None


class RolloutState(BaseModel):
    """Everything a step needs to do its work again: the progress of one rollout."""

    model_config = ConfigDict(extra="forbid")

    rollout_id: str
    execution_arn: str
    started_at: datetime
    request: RolloutRequest
    package: ModelPackage
    policy: Policy
    baseline: EndpointSnapshot | None = None
    phase: Phase = Phase.RESOLVED
    lock: LockState = Field(default_factory=LockState)
    target: Target | None = None
    steps: tuple[Step, ...] = ()
    step_index: int = 0
    next: Literal["wait", "start", "shift", "bake", "gate", "promote", "done"] = "wait"
    gate: GateState | None = None
    promote_now: bool = Field(default=False, description="a person asked to skip the remaining steps")
    bake: BakeState = Field(default_factory=BakeState)
    history: list[StepRecord] = Field(default_factory=list)
    service_alarms: list[str] = Field(default_factory=list, description="alarms this rollout created and deletes")
    touched: bool = False
    update_started_at: datetime | None = None
    rollback_started_at: datetime | None = None
    polls: int = 0
    outcome: Outcome | None = None
    reason: str | None = None
    error: TaskError | None = None
    signal: TaskError | None = Field(default=None, description="how the last bake ended: States.Timeout or an alarm")
    teardown_error: TaskError | None = None
    message: str = ""

    @property
    def endpoint_name(self) -> str:
        return self.policy.endpoint_name

    @property
    def current_step(self) -> Step:
        return self.steps[self.step_index]

    @property
    def watched_alarms(self) -> list[str]:
        """The policy's alarms and the ones this rollout created: any of them in ALARM fails a bake."""
        return [*self.policy.analysis.alarms, *self.service_alarms]

    def require_baseline(self) -> EndpointSnapshot:
        """The pre-rollout endpoint; every step after Snapshot Endpoint has it."""
        if self.baseline is None:
            raise ValueError("this step runs after Snapshot Endpoint, which records the baseline")
        return self.baseline
