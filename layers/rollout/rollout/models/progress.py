"""Where a rollout is: its phase, lock, target, verdicts, bake, gate and pause, results, and ``RolloutState``.

A room because this is the status every step of the state machine receives and returns whole (the spec - policy,
request - stays apart and unchanged); its JSON is the execution's state, so its shapes are a contract with the ASL.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rollout.models.base import Frozen
from rollout.models.endpoint import EndpointSnapshot, Expectation, VariantScaling
from rollout.models.policy import Analysis, Policy, Step
from rollout.models.request import ModelPackage, RolloutRequest


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
    VERIFYING = "verifying"  # the promoted model is judged once more (post_promotion_bake_seconds)
    DEPLOYED = "deployed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    STOPPED = "stopped"  # the rollout stopped and left the endpoint exactly as it is: a person must look
    FINISHED = "finished"


class LockStatus(StrEnum):
    NONE = "none"
    ACQUIRED = "acquired"
    BUSY = "busy"
    REFUSED = "refused"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    RELEASED = "released"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    NEEDS_ATTENTION = "needs_attention"


class LockState(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: LockStatus = LockStatus.NONE
    holder: str | None = None
    first_tried_at: datetime | None = None
    attempts: int = 0
    told_held: bool = Field(default=False, description="the rollout announced that it waits for a held endpoint")


class Target(Frozen):
    """What this rollout creates and deploys."""

    model_name: str
    config_name: str = Field(description="the config the endpoint ends on when the rollout succeeds")
    creates_endpoint: bool
    variant_name: str | None = Field(default=None, description="the new variant while traffic shifts")
    shift_config_name: str | None = Field(
        default=None, description="baseline variants + the new one at 0 (a shadow test: the new one as shadow)"
    )
    shadow: bool = Field(default=False, description="the new variant is a shadow variant while it is judged")
    promoted_variant: str | None = Field(
        default=None, description="the new model's variant after a promotion: the largest baseline variant's name"
    )
    guardrails: bool = Field(default=False, description="SageMaker's deployment guardrails carry the update")

    @property
    def shifts_traffic(self) -> bool:
        return self.shift_config_name is not None and not self.shadow


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class JudgeFigures(Frozen):
    """The statistical judge's figures at one check: what each side served, the evidence, what would decide it."""

    new_invocations: int
    new_errors: int
    baseline_invocations: int
    baseline_errors: int
    p_worse: float | None = Field(default=None, description="error rate: evidence the new one is worse")
    p_within: float | None = Field(default=None, description="error rate: evidence it is within the tolerance")
    more_invocations: int | None = Field(default=None, description="new-variant invocations that would decide it")
    new_latency_ms: float | None = Field(default=None, description="median of the new variant's per-minute figures")
    baseline_latency_ms: float | None = None
    p_slower: float | None = Field(default=None, description="latency: evidence the new one is slower")
    more_minutes: int | None = Field(default=None, description="latency: more minutes that would decide it")
    sequential_p: float | None = Field(default=None, description="A/B: the always-valid p-value of the test")


class StepRecord(Frozen):
    """What happened at one check of one step: kept in the state, small, for the record and the report. The
    figures are the new variant's (and the baseline's) over the step's bake so far, as the check read them."""

    step: int
    weight_percent: float
    at: datetime
    verdict: Verdict
    reason: str
    checks: int = Field(default=1, ge=1, description="checks of this step so far (this one included)")
    invocations: int | None = Field(default=None, description="the new variant's invocations judged")
    error_rate: float | None = Field(default=None, description="the new variant's 5XX rate (0..1)")
    latency_ms: float | None = Field(default=None, description="the new variant's ModelLatency (the policy's stat)")
    baseline_error_rate: float | None = None
    baseline_latency_ms: float | None = None
    alarm: str | None = Field(default=None, description="the alarm in ALARM that failed the check")
    figures: JudgeFigures | None = Field(default=None, description="the statistical judge's figures")


class GateState(Frozen):
    """A gate waiting for a person: what follows its approval, and when it times out."""

    name: str
    opened_at: datetime
    deadline: datetime
    then: Literal["start", "shift", "promote"]


class PauseState(Frozen):
    """A person's pause: the rollout holds its current weight (checks and alarms go on) until resumed."""

    at: datetime
    by: str
    reason: str = ""
    bake_seconds_left: int | None = Field(default=None, description="what was left of the bake when it paused")


class BakeState(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    started_at: datetime | None = None
    ends_at: datetime | None = None
    checks: int = 0
    failures: int = 0
    inconclusive: int = 0
    read_errors: int = Field(default=0, ge=0, description="checks in a row that could not read alarms or metrics")
    next_check_seconds: int = 10


class TaskError(BaseModel):
    """A caught error as Step Functions puts it in the state (``Catch`` with ``ResultPath: $.error``)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Error: str
    Cause: str | None = None


class SideFigures(Frozen):
    """One side of an experiment over its whole run."""

    variants: tuple[str, ...]
    invocations: int
    errors: int
    error_rate: float | None
    latency_ms: float | None
    value: float | None = Field(description="the judged metric (A/B) or None")


class ReplayExample(Frozen):
    """One request the two variants answered differently."""

    request: str
    baseline: str
    new: str
    why: str


class VerificationResult(Frozen):
    """How the pre-traffic verification went: the figures, the verdict, a few disagreements."""

    passed: bool
    requests: int
    sample_source: str
    baseline_variant: str
    baseline_errors: int
    new_errors: int
    baseline_latency_ms: float | None
    new_latency_ms: float | None
    label_agreement: float | None
    score_mean_abs_difference: float | None
    score_ks: float | None
    examples: tuple[ReplayExample, ...] = ()
    reason: str
    replayed_until: datetime | None = Field(
        default=None,
        description="when the last replayed request was sent: CloudWatch counts the replay in its minute, so later "
        "checks judge from the next whole minute on",
    )


class ExperimentResult(Frozen):
    """How an A/B or shadow test ended: both sides' figures, the winner, and what was done about it."""

    kind: Literal["ab_test", "shadow"]
    metric: str
    baseline: SideFigures
    new: SideFigures
    winner: Literal["new", "baseline", "none"]
    passed: bool
    decision: Literal["promote", "keep_both", "keep", "rollback", "discard"]
    reason: str
    stopped_early: bool = Field(default=False, description="an A/B test a sequential test ended before its duration")
    p_value: float | None = Field(default=None, description="the sequential test's always-valid p-value (statistical)")


class RolloutState(BaseModel):
    """Everything a step needs to do its work again: the progress of one rollout."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

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
    next: Literal["wait", "start", "verify", "shift", "bake", "gate", "promote", "restore", "done"] = "wait"
    gate: GateState | None = None
    promote_now: bool = Field(default=False, description="a person asked to skip the remaining steps")
    pause: PauseState | None = Field(default=None, description="a person paused the rollout at its current weight")
    bake: BakeState = Field(default_factory=BakeState)
    history: list[StepRecord] = Field(default_factory=list)
    experiment: ExperimentResult | None = None
    verification: VerificationResult | None = Field(default=None, description="the pre-traffic verification")
    service_alarms: list[str] = Field(default_factory=list, description="alarms this rollout created and deletes")
    leftovers: list[str] = Field(
        default_factory=list, description="what Clean Up could not delete (kind:name): recorded, retried next time"
    )
    inherited_from: list[str] = Field(
        default_factory=list, description="the earlier rollouts whose leftovers this one took over"
    )
    inherited_leftovers: list[str] = Field(
        default_factory=list, description="earlier rollouts' leftovers on this endpoint, for Clean Up to try again"
    )
    ignored_alarms: list[str] = Field(
        default_factory=list, description="alarms already in ALARM at the start, set aside (alarm_at_start fix_forward)"
    )
    touched: bool = False
    touched_at: datetime | None = Field(default=None, description="when the rollout first changed the endpoint")
    expected: Expectation | None = Field(default=None, description="the endpoint as the rollout last left it")
    alarms_seen_until: datetime | None = Field(
        default=None, description="the watched alarms' history is read up to here (no ALARM is missed between checks)"
    )
    promotion_scaling: VariantScaling | None = Field(
        default=None, description="the autoscaling the promoted variant gets once the promotion has settled"
    )
    update_started_at: datetime | None = None
    rollback_started_at: datetime | None = None
    rollback_errors: int = Field(default=0, ge=0, description="consecutive AWS errors of Roll Back (retried)")
    rollback_error: str | None = Field(default=None, description="the last AWS error Roll Back met")
    polls: int = 0
    poll_seconds: int = Field(
        default=30, ge=1, description="Wait For Endpoint's timeout: the fallback look when no endpoint event came"
    )
    outcome: Outcome | None = None
    reason: str | None = None
    error: TaskError | None = None
    signal: TaskError | None = Field(default=None, description="how the last bake ended: States.Timeout or an alarm")
    teardown_error: TaskError | None = None
    message: str = ""
    announcements_failed: int = Field(default=0, ge=0, description="announcements a channel refused (then retried)")
    unsent: list[dict[str, Any]] = Field(
        default_factory=list, description="announcements not delivered yet: {channel, detail}, sent again later"
    )
    history_events: int = Field(
        default=0, ge=0, description="an upper estimate of this execution's history events (quota: 25,000)"
    )
    generation: int = Field(default=1, ge=1, description="which execution of the rollout this is (1: the first)")
    continue_as_new: bool = Field(default=False, description="go on in a fresh execution at the next loop point")
    resume_at: Literal["next", "lock", "rollback"] | None = Field(
        default=None, description="the loop a continued execution resumes: Next Action?, Lock Acquired?, Rolled Back?"
    )
    next_execution: str | None = Field(default=None, description="the name of the execution this one continues in")
    continuation_error: TaskError | None = Field(default=None, description="why the last continuation failed")

    @property
    def endpoint_name(self) -> str:
        return self.policy.endpoint_name

    @property
    def judging(self) -> Analysis:
        """How every check of this rollout judges: the policy's analysis - without its absolute limits when alarms
        already firing at the start were set aside (alarm_at_start fix_forward): then the new model is judged
        against the baseline only, never against the outage it is meant to fix."""
        judging = self.policy.judging
        if self.ignored_alarms:
            return judging.model_copy(update={"max_error_rate": None, "max_latency_ms": None})
        return judging

    @property
    def current_step(self) -> Step:
        return self.steps[self.step_index]

    @property
    def watched_alarms(self) -> list[str]:
        """The policy's alarms and the ones this rollout created - but not those set aside because they were already
        firing before the start (alarm_at_start fix_forward): any of them in ALARM fails a bake."""
        return [a for a in (*self.policy.analysis.alarms, *self.service_alarms) if a not in self.ignored_alarms]

    def require_baseline(self) -> EndpointSnapshot:
        """The pre-rollout endpoint; every step after Snapshot Endpoint has it."""
        if self.baseline is None:
            raise ValueError("this step runs after Snapshot Endpoint, which records the baseline")
        return self.baseline
