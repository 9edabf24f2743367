"""What an operator writes: the rollout policy and its parts (``docs/policy.schema.json`` is generated from here).

A room because the policy is the one input a person authors and reviews: strategies, capacities and their limits,
gates, the analysis every check applies, pre-traffic verification, and which fields only the operator may set. It
depends on nothing but the base, so the schema, the CLI's validation and the pure core read it alone.
"""

import itertools
import re
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from rollout.models.base import SAGEMAKER_NAME, Frozen


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
    def _instances_or_serverless(self) -> Self:
        if self.serverless is not None and (self.instance_type or self.instance_count):
            raise ValueError("give either serverless or instance_type/instance_count, not both")
        return self


class CapacityLimits(Frozen):
    """The most capacity a rollout may have (the operator's limits): package metadata and manual starts may never
    ask for more, and the operator's own ``capacity`` must fit too."""

    max_instance_count: int | None = Field(default=None, ge=1, le=100, description="instances per new variant")
    instance_types: tuple[str, ...] = Field(
        default=(), max_length=100, description="the instance types a rollout may use (empty: any)"
    )
    max_memory_size_mb: int | None = Field(default=None, ge=1024, le=6144, description="serverless memory")
    max_concurrency: int | None = Field(default=None, ge=1, le=200, description="serverless concurrency")

    def refusal(self, capacity: Capacity) -> str | None:
        """Why ``capacity`` exceeds these limits, or None."""
        count, most = capacity.instance_count, self.max_instance_count
        if count is not None and most is not None and count > most:
            return f"instance_count {capacity.instance_count} exceeds the limit of {self.max_instance_count}"
        kind = capacity.instance_type
        if kind is not None and self.instance_types and kind not in self.instance_types:
            return f"instance_type {capacity.instance_type} is not one of {', '.join(self.instance_types)}"
        serverless = capacity.serverless
        if serverless is not None:
            if self.max_memory_size_mb is not None and serverless.memory_size_mb > self.max_memory_size_mb:
                return f"memory_size_mb {serverless.memory_size_mb} exceeds the limit of {self.max_memory_size_mb}"
            if self.max_concurrency is not None and serverless.max_concurrency > self.max_concurrency:
                return f"max_concurrency {serverless.max_concurrency} exceeds the limit of {self.max_concurrency}"
        return None


class Step(Frozen):
    """One traffic step (Argo's setWeight + pause): the new model's share, then how long to judge it."""

    weight_percent: float = Field(gt=0, le=100, description="share of traffic the new model serves")
    # up to 30 days: a plan's step also carries an A/B test's or a shadow test's whole duration (continuation keeps
    # such a step inside the history quota)
    bake_seconds: int = Field(default=0, ge=0, le=2592000, description="how long to judge this step")
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
    def _increasing_to_100(self) -> Self:
        weights = [s.weight_percent for s in self.steps]
        if any(b <= a for a, b in itertools.pairwise(weights)):
            raise ValueError(f"step weights must increase strictly, got {weights}")
        if weights[-1] != 100:
            raise ValueError(f"the last step must send 100% of traffic to the new model, got {weights[-1]}")
        return self


class Size(Frozen):
    """A canary size, linear step or batch as SageMaker's CapacitySize takes it."""

    type: Literal["INSTANCE_COUNT", "CAPACITY_PERCENT"]
    value: int = Field(ge=1)

    def shown(self) -> str:
        return f"{self.value}%" if self.type == "CAPACITY_PERCENT" else f"{self.value} instance(s)"


class TrafficRouting(Frozen):
    """How SageMaker's blue/green update moves traffic from the old (blue) fleet to the new (green) one."""

    type: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    canary_size: Size | None = Field(default=None, description="CANARY: the first share (at most 50%)")
    linear_step_size: Size | None = Field(default=None, description="LINEAR: each step (10% to 50%)")
    wait_interval_seconds: int = Field(default=300, ge=0, le=3600, description="bake after each shift")

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.type == "CANARY":
            if self.canary_size is None or self.linear_step_size is not None:
                raise ValueError("CANARY routing takes canary_size (and no linear_step_size)")
            if self.canary_size.type == "CAPACITY_PERCENT" and self.canary_size.value > 50:
                raise ValueError(f"canary_size may be at most 50% of the fleet, got {self.canary_size.value}%")
        elif self.type == "LINEAR":
            if self.linear_step_size is None or self.canary_size is not None:
                raise ValueError("LINEAR routing takes linear_step_size (and no canary_size)")
            step = self.linear_step_size
            if step.type == "CAPACITY_PERCENT" and not 10 <= step.value <= 50:
                raise ValueError(f"linear_step_size must be 10% to 50% of the fleet, got {step.value}%")
        elif self.canary_size is not None or self.linear_step_size is not None:
            raise ValueError("ALL_AT_ONCE routing takes neither canary_size nor linear_step_size")
        return self

    @property
    def shifts(self) -> int:
        """How many traffic shifts (each followed by a wait interval) at most."""
        if self.type == "LINEAR" and self.linear_step_size and self.linear_step_size.type == "CAPACITY_PERCENT":
            return -(-100 // self.linear_step_size.value)
        return 2 if self.type == "CANARY" else 1


class RollingUpdate(Frozen):
    """SageMaker's rolling update: the new fleet replaces the old in batches, each baked with the alarms."""

    max_batch_size: Size = Field(description="each batch: 5% to 50% of the variant's instances")
    wait_interval_seconds: int = Field(default=300, ge=0, le=3600, description="bake after each batch")
    rollback_max_batch_size: Size | None = Field(
        default=None, description="batch size of a rollback (SageMaker's default: the whole old fleet at once)"
    )

    @model_validator(mode="after")
    def _batches(self) -> Self:
        for field_name in ("max_batch_size", "rollback_max_batch_size"):
            size = getattr(self, field_name)
            if size is not None and size.type == "CAPACITY_PERCENT" and not 5 <= size.value <= 50:
                raise ValueError(f"{field_name} must be 5% to 50% of the variant's instances, got {size.value}%")
        return self


class BlueGreen(Frozen):
    """SageMaker's own deployment guardrails: UpdateEndpoint with a DeploymentConfig. SageMaker shifts and
    bakes; this service starts the update, follows it, and tells whether SageMaker rolled it back."""

    type: Literal["blue_green"] = "blue_green"
    traffic_routing: TrafficRouting | None = Field(default=None, description="blue/green traffic shifting")
    rolling: RollingUpdate | None = Field(default=None, description="a rolling update instead of blue/green")
    termination_wait_seconds: int | None = Field(
        default=None, ge=0, le=3600, description="blue/green: final bake before the old fleet is terminated"
    )
    max_execution_timeout_seconds: int = Field(
        default=3600, ge=600, le=28800, description="SageMaker rolls back a deployment that runs longer"
    )
    auto_rollback_alarms: tuple[str, ...] = Field(
        default=(), max_length=10, description="alarms SageMaker watches (1-10); default: analysis.alarms"
    )

    @model_validator(mode="after")
    def _one_policy(self) -> Self:
        if self.traffic_routing is not None and self.rolling is not None:
            raise ValueError("give traffic_routing (blue/green) or rolling, not both")
        if self.rolling is not None and self.termination_wait_seconds is not None:
            raise ValueError("termination_wait_seconds belongs to blue/green traffic_routing, not to rolling")
        waits = self.rolling_waits if self.rolling else self.routing.wait_interval_seconds * self.routing.shifts
        waits += self.termination_wait_seconds or 0
        if waits >= self.max_execution_timeout_seconds:
            raise ValueError(
                f"max_execution_timeout_seconds={self.max_execution_timeout_seconds} must be larger than the "
                f"waits it contains ({waits} s of wait intervals and termination wait)"
            )
        return self

    @property
    def routing(self) -> TrafficRouting:
        return self.traffic_routing or TrafficRouting()

    @property
    def rolling_waits(self) -> int:
        rolling = self.rolling
        if rolling is None:
            return 0
        batches = -(-100 // rolling.max_batch_size.value) if rolling.max_batch_size.type == "CAPACITY_PERCENT" else 1
        return batches * rolling.wait_interval_seconds


class AbMetric(Frozen):
    """What an A/B test compares: the 5XX rate, ModelLatency, or any CloudWatch metric per variant."""

    kind: Literal["error_rate", "model_latency", "cloudwatch"] = "error_rate"
    namespace: str = Field(default="AWS/SageMaker", description="cloudwatch: the metric's namespace")
    metric_name: str | None = Field(
        default=None, description="cloudwatch: the metric's name (dimensions EndpointName and VariantName)"
    )
    statistic: str = Field(
        default="Average",
        pattern=r"^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$",
        description="model_latency and cloudwatch: the statistic over the test",
    )
    direction: Literal["lower_is_better", "higher_is_better"] = "lower_is_better"

    @model_validator(mode="after")
    def _named(self) -> Self:
        if (self.kind == "cloudwatch") != (self.metric_name is not None):
            raise ValueError("metric_name is required for kind=cloudwatch, and only for it")
        return self

    def shown(self) -> str:
        if self.kind == "error_rate":
            return "5XX error rate"
        if self.kind == "model_latency":
            return f"ModelLatency {self.statistic}"
        return f"{self.namespace}/{self.metric_name} {self.statistic}"


class AbTest(Frozen):
    """Both models serve real traffic at fixed weights for ``duration_seconds``; then the metric decides."""

    type: Literal["ab_test"] = "ab_test"
    baseline_weight: float = Field(default=1.0, gt=0, description="relative weight of the live model(s)")
    new_weight: float = Field(default=1.0, gt=0, description="relative weight of the new model")
    duration_seconds: int = Field(ge=60, le=2592000, description="how long both serve")
    metric: AbMetric = Field(default_factory=AbMetric, description="what decides the winner")
    min_invocations: int = Field(default=1000, ge=1, description="invocations each side needs for a decision")
    min_improvement: float = Field(
        default=0.0, ge=0, le=1, description="relative margin the better side needs to win (0.05 = 5%)"
    )
    decision: Literal["promote_winner", "keep_both", "rollback"] = Field(
        default="promote_winner",
        description="promote_winner: the new model takes over if it wins, else the endpoint goes back; "
        "keep_both: both stay at the test weights; rollback: the endpoint goes back whatever the result",
    )
    stop_early: bool = Field(
        default=False,
        description="end the test as soon as a sequential test (valid at every look) finds a winner; needs "
        "analysis.judge statistical",
    )

    @property
    def new_percent(self) -> float:
        return round(100 * self.new_weight / (self.new_weight + self.baseline_weight), 6)


class Shadow(Frozen):
    """The new model gets a sampled copy of production traffic; its answers never reach callers."""

    type: Literal["shadow"] = "shadow"
    sampling_percent: int = Field(ge=1, le=100, description="share of requests copied to the shadow")
    duration_seconds: int = Field(ge=60, le=2592000, description="how long the shadow runs")
    max_error_rate_increase: float | None = Field(
        default=0.01, ge=0, le=1, description="highest 5XX rate of the shadow above production's"
    )
    max_latency_ratio: float | None = Field(
        default=1.5, gt=0, description="highest ModelLatency of the shadow divided by production's"
    )
    min_invocations: int = Field(default=100, ge=0, description="sampled invocations before a verdict")
    instance_count: int | None = Field(
        default=None, ge=1, le=100, description="shadow fleet size (default: production's live count)"
    )
    on_pass: Literal["promote", "keep", "discard"] = Field(
        default="promote",
        description="promote: the new model becomes the production variant (sized by policy capacity, default "
        "production's); keep: leave the shadow running; discard: back to the exact baseline config",
    )
    on_fail: Literal["discard"] = "discard"
    min_label_agreement: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="compare answers: lowest share of captured requests the shadow answers with production's label "
        "(needs the endpoint's data capture)",
    )
    max_score_difference: float | None = Field(
        default=None, ge=0, description="compare answers: highest mean absolute difference of the paired scores"
    )
    answer_sample_size: int = Field(default=500, ge=1, le=5000, description="captured pairs compared at most")

    @property
    def compares_answers(self) -> bool:
        return self.min_label_agreement is not None or self.max_score_difference is not None


class Verification(Frozen):
    """Pre-traffic verification: while the new variant has weight 0, replay a sample of real requests to it and to
    the baseline (InvokeEndpoint with TargetVariant) and compare errors, latency and answers before any caller is
    served by it. A failing verification ends the rollout."""

    sample_s3_uri: str | None = Field(
        default=None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description="a sample of requests in SageMaker's capture format (JSON Lines) under this S3 prefix; default: "
        "the endpoint's data capture (DataCaptureConfig.DestinationS3Uri/<endpoint>/<baseline variant>/)",
    )
    sample_size: int = Field(default=200, ge=1, le=2000, description="requests replayed to each variant at most")
    time_budget_seconds: int = Field(
        default=300, ge=10, le=600, description="the replay stops after this long and judges what it has"
    )
    min_requests: int = Field(default=20, ge=1, le=2000, description="fewer replayed requests than this fail it")
    max_error_rate_increase: float = Field(
        default=0.0, ge=0, le=1, description="highest share of requests the new variant fails beyond the baseline"
    )
    max_latency_ratio: float | None = Field(
        default=2.0, gt=0, description="highest median latency of the new variant divided by the baseline's"
    )
    min_label_agreement: float | None = Field(
        default=0.95, ge=0, le=1, description="lowest share of requests both answer with the same label"
    )
    max_score_difference: float | None = Field(
        default=0.05, ge=0, description="highest mean absolute difference of the paired scores"
    )
    examples: int = Field(default=3, ge=0, le=10, description="example disagreements kept for the record")


# Fields only the operator's policy (stack defaults, the group's SSM parameter) may set.
OPERATOR_ONLY_FIELDS = ("allowed_endpoints", "allow_package_overrides", "capacity_limits")

Strategy = Annotated[AllAtOnce | Canary | Linear | Steps | BlueGreen | AbTest | Shadow, Field(discriminator="type")]


class Analysis(Frozen):
    """How every step is judged: the policy's alarms and built-in checks on the new variant's metrics."""

    alarms: tuple[str, ...] = Field(default=(), max_length=100, description="CloudWatch alarm names; ALARM fails")
    treat_missing: Literal["ok", "inconclusive"] = Field(
        default="ok", description="what an alarm in INSUFFICIENT_DATA means"
    )
    alarm_at_start: Literal["refuse", "fix_forward"] = Field(
        default="refuse",
        description="a watched alarm already in ALARM before the endpoint is touched: refuse the rollout (nothing "
        "changed, the package not rejected), or fix_forward - set the firing alarms aside and judge the new model "
        "against the baseline only (needs max_error_rate_increase or max_latency_ratio)",
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
    check_interval_seconds: int = Field(
        default=60,
        ge=10,
        le=3600,
        description="the shortest spacing of a bake's or a gate's metric checks, and the length of an inconclusive "
        "bake's extension; checks come once midway in a wait under 30 minutes, every 15 minutes in longer ones, "
        "hourly in week-long ones (alarms end a wait within seconds whatever this says)",
    )
    max_inconclusive: int = Field(default=3, ge=0, le=100, description="bake extensions for inconclusive verdicts")
    on_inconclusive: Literal["fail", "pass"] = Field(
        default="fail", description="the verdict once max_inconclusive extensions are used up"
    )
    failure_threshold: int = Field(default=1, ge=1, le=100, description="failed checks that trigger rollback")
    consecutive_error_limit: int = Field(
        default=4,
        ge=0,
        le=100,
        description="checks in a row that may fail to read alarms or metrics (each is inconclusive) before the "
        "rollout stops and rolls back; such errors never fail the new model",
    )
    judge: Literal["threshold", "statistical"] = Field(
        default="threshold",
        description="threshold: compare the figures with the limits above; statistical: compare the new variant "
        "with the baseline serving beside it by hypothesis tests (pass, fail, or inconclusive with the invocations "
        "that would decide it) - see the README, 'The statistical judge'",
    )
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="statistical: the confidence a pass or a fail needs (0.95 = 5% risk)"
    )
    error_rate_tolerance: float = Field(
        default=0.001,
        ge=0,
        le=100,
        description="statistical: the harmless excess of the new 5XX rate over the baseline's - a difference in "
        "[0, 1) (0.001 = 0.1 percentage points) or, with error_rate_tolerance_kind ratio, a factor >= 1",
    )
    error_rate_tolerance_kind: Literal["difference", "ratio"] = Field(
        default="difference",
        description="statistical: difference (absolute) or ratio (relative; can never pass while no errors happen)",
    )
    latency_tolerance_ratio: float | None = Field(
        default=1.2,
        ge=1,
        le=100,
        description="statistical: the new variant's per-minute ModelLatency may be up to this times the baseline's "
        "(Mann-Whitney U on per-minute latency_statistic figures); null: latency is not judged",
    )

    @model_validator(mode="after")
    def _tolerance_fits_kind(self) -> Self:
        if self.error_rate_tolerance_kind == "difference" and self.error_rate_tolerance >= 1:
            raise ValueError(
                f"error_rate_tolerance {self.error_rate_tolerance:g} is not a difference of rates (0 <= value < 1): "
                "set error_rate_tolerance_kind ratio for a relative tolerance"
            )
        if self.error_rate_tolerance_kind == "ratio" and self.error_rate_tolerance < 1:
            raise ValueError(
                f"a ratio error_rate_tolerance must be >= 1 (1.2 = up to 20% more errors), got "
                f"{self.error_rate_tolerance:g}"
            )
        return self

    @property
    def statistical(self) -> bool:
        return self.judge == "statistical"

    @property
    def has_metric_checks(self) -> bool:
        """Whether a check reads the variants' metrics (limits to compare with, or the statistical judge)."""
        return self.statistical or any(
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
    on_busy: Literal["queue", "reject", "supersede"] = Field(
        default="queue",
        description="When another rollout holds the endpoint: wait for it (in approval order; an older version of "
        "the same group queued before a newer one is skipped), refuse at once, or - supersede - abort a running "
        "rollout of an older version of the same group (it rolls back) and go next.",
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
    post_promotion_bake_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="After a promotion (the update to the new model alone, or SageMaker's blue/green update): how long "
        "the promoted model is still judged - alarms and checks - before the rollout succeeds; a failure rolls back to "
        "the pre-rollout config. The default covers CloudWatch's metric delay and a few checks.",
    )
    rollback_deadline_seconds: int = Field(
        default=3600,
        ge=300,
        le=86400,
        description="How long Roll Back keeps trying (AWS errors are retried with backoff) before it stops, leaves the "
        "endpoint as it is and asks for a person (outcome needs_attention).",
    )
    capacity: Capacity | None = Field(
        default=None,
        description="Capacity of the new variant(s); required for a first deployment. For traffic-shifting "
        "strategies, unset fields take the largest baseline variant's instance type and live count.",
    )
    variant_name: str = Field(
        default="AllTraffic", pattern=SAGEMAKER_NAME, description="Variant name used when creating a new endpoint."
    )
    allowed_endpoints: tuple[str, ...] = Field(
        default=(),
        max_length=100,
        description="Operator only: the endpoints this model package group may deploy to (default: the operator's "
        "endpoint_name alone). A rollout to any other endpoint is refused, whoever names it.",
    )
    allow_package_overrides: tuple[str, ...] = Field(
        default=(),
        max_length=100,
        description="Operator only: dotted policy fields (a field allows everything below it) that package metadata "
        "and manual starts may set although they make a rollout no more careful (e.g. poll_interval_seconds, "
        "capacity). They can never loosen a check, remove an alarm or a gate, pick a less careful strategy, "
        "exceed capacity_limits or leave allowed_endpoints.",
    )
    capacity_limits: CapacityLimits | None = Field(
        default=None, description="Operator only: the most capacity a rollout may ask for."
    )
    verification: Verification | None = Field(
        default=None,
        description="Pre-traffic verification of the new variant on replayed requests (canary, linear, steps, "
        "ab_test on an existing endpoint).",
    )

    @model_validator(mode="after")
    def _within_limits(self) -> Self:
        for entry in self.allow_package_overrides:
            head = entry.split(".", 1)[0]
            if head not in type(self).model_fields or head in OPERATOR_ONLY_FIELDS or not all(entry.split(".")):
                raise ValueError(
                    f"allow_package_overrides entry {entry!r} is not a policy field package metadata may set"
                )
        for name in self.allowed_endpoints:
            if not re.fullmatch(SAGEMAKER_NAME, name):
                raise ValueError(f"allowed_endpoints entry {name!r} is not a SageMaker endpoint name")
        return self

    @model_validator(mode="after")
    def _strategy_fits(self) -> Self:
        judging = self.judging
        if judging.alarm_at_start == "fix_forward" and (
            judging.max_error_rate_increase is None and judging.max_latency_ratio is None
        ):
            raise ValueError(
                "analysis.alarm_at_start=fix_forward judges the new model against the baseline only: set "
                "analysis.max_error_rate_increase or analysis.max_latency_ratio"
            )
        strategy = self.strategy
        if self.verification is not None and not isinstance(strategy, (Canary, Linear, Steps, AbTest)):
            raise ValueError(
                f"verification replays requests to the new variant while it has weight 0, which strategy "
                f"{strategy.type} never gives it (use canary, linear, steps or ab_test)"
            )
        if isinstance(strategy, AbTest) and strategy.stop_early and not self.analysis.statistical:
            raise ValueError(
                "an A/B test may stop early only with a sequential test: set analysis.judge statistical "
                "(or stop_early false)"
            )
        if isinstance(strategy, BlueGreen):
            alarms = strategy.auto_rollback_alarms or self.analysis.alarms
            if not alarms:
                raise ValueError(
                    "blue_green needs alarms for SageMaker to roll back on: set strategy.auto_rollback_alarms "
                    "(1-10 alarm names) or analysis.alarms"
                )
            if len(alarms) > 10:
                raise ValueError(
                    f"SageMaker watches at most 10 auto-rollback alarms; analysis.alarms has {len(alarms)}: "
                    "set strategy.auto_rollback_alarms to the 10 that matter"
                )
        return self

    def capacity_refusals(self) -> dict[str, str]:
        """Capacity beyond ``capacity_limits``: field -> why (the operator's limits bind every source)."""
        limits, found = self.capacity_limits, {}
        if limits is None:
            return {}
        if self.capacity is not None:
            refused = limits.refusal(self.capacity)
            if refused:
                found["capacity"] = f"{refused} (capacity_limits)"
        strategy = self.strategy
        fleet = strategy.instance_count if isinstance(strategy, Shadow) else None
        if fleet is not None and limits.max_instance_count is not None and fleet > limits.max_instance_count:
            found["strategy.instance_count"] = (
                f"a shadow fleet of {fleet} exceeds the limit of {limits.max_instance_count} (capacity_limits)"
            )
        return found

    @property
    def judging(self) -> Analysis:
        """The analysis every bake applies: a shadow test judges the shadow against production by its limits."""
        strategy = self.strategy
        if isinstance(strategy, Shadow):
            return self.analysis.model_copy(
                update={
                    "max_error_rate_increase": strategy.max_error_rate_increase,
                    "max_latency_ratio": strategy.max_latency_ratio,
                    "min_invocations": strategy.min_invocations,
                }
            )
        return self.analysis

    @property
    def rollback_alarms(self) -> tuple[str, ...]:
        """The alarms SageMaker's guardrails watch in a blue/green update."""
        strategy = self.strategy
        if isinstance(strategy, BlueGreen):
            return strategy.auto_rollback_alarms or self.analysis.alarms
        return ()
