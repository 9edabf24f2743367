"""Start Update and Check Endpoint: switch the endpoint to the target config and follow every change to
InService, then say what comes next (shift, bake, promote, done)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollout import clock, continuation
from rollout.analysis import next_check_seconds, stops_early
from rollout.aws import cloudwatch, sagemaker
from rollout.config import Settings
from rollout.decide import Progress, deployment_progress
from rollout.errors import (
    GuardrailRollbackError,
    HealthCheckFailedError,
    UpdateFailedError,
    UpdateTimedOutError,
    VerificationFailedError,
)
from rollout.models.endpoint import EndpointSnapshot
from rollout.models.policy import AbTest, BlueGreen, Shadow
from rollout.models.progress import BakeState, Phase, RolloutState
from rollout.plan.configs import step_weights
from rollout.plan.guardrails import deployment_config
from rollout.steps.drift import expect, require_drift_free
from rollout.steps.endpoint_wait import fallback_seconds
from rollout.steps.health import advance, heed_requests
from rollout.steps.revocation import require_approval
from rollout.steps.target import resource_tags


def start_update(state: RolloutState) -> RolloutState:
    """UpdateEndpoint (or CreateEndpoint for a first deployment), unless an earlier try already did."""
    target = state.target
    assert target is not None, "Start Update runs after Prepare Target"
    endpoint = state.endpoint_name
    config = target.shift_config_name or target.config_name
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    already = config in {observed.config_name, observed.pending_config_name}
    if not already:
        require_drift_free(state, observed)  # a gate may have waited long: the endpoint must still be the baseline
        require_approval(state)  # a gate or a queue may have held the rollout for a long time
    state.touched = True  # from here on, any failure must put the endpoint back
    state.touched_at = state.touched_at or clock.now()
    if not already:
        if target.creates_endpoint:
            sagemaker.create_endpoint(endpoint, config, resource_tags(state))
        else:
            sagemaker.update_endpoint(endpoint, config, guardrails(state))
    state.update_started_at = clock.now()
    state.phase, state.next = Phase.UPDATING, "wait"
    verb = "creating" if target.creates_endpoint else "updating"
    state.message = f"{verb} endpoint {endpoint} with {config}"
    # SageMaker's events wake Wait For Endpoint; its timeout is only the fallback for a lost event
    state.poll_seconds = fallback_seconds(state)
    if target.guardrails:  # SageMaker watches its alarms itself: the service only needs to notice the end
        state.message += f" under SageMaker's deployment guardrails ({describe_guardrails(state)})"
    return state


def guardrails(state: RolloutState) -> dict[str, Any] | None:
    """The DeploymentConfig of a blue/green or rolling update (None for any other update)."""
    strategy = state.policy.strategy
    if state.target is None or not state.target.guardrails or not isinstance(strategy, BlueGreen):
        return None
    return deployment_config(strategy, state.policy.rollback_alarms)


def describe_guardrails(state: RolloutState) -> str:
    strategy = state.policy.strategy
    assert isinstance(strategy, BlueGreen)
    alarms = ", ".join(state.policy.rollback_alarms)
    if strategy.rolling is not None:
        rolling = strategy.rolling
        how = f"rolling, batches of {rolling.max_batch_size.shown()}, {rolling.wait_interval_seconds} s bakes"
    else:
        routing = strategy.routing
        size = routing.canary_size or routing.linear_step_size
        how = f"blue/green {routing.type}" + (f" {size.shown()}" if size else "")
        how += f", {routing.wait_interval_seconds} s bakes"
        if strategy.termination_wait_seconds:
            how += f", {strategy.termination_wait_seconds} s termination wait"
    return f"{how}; rolls back on {alarms}; timeout {strategy.max_execution_timeout_seconds} s"


def desired_weights(state: RolloutState) -> dict[str, float] | None:
    """The weights the current shift asked for (None outside a shift)."""
    target = state.target
    if state.phase is not Phase.SHIFTING or target is None or not target.variant_name:
        return None
    weights = step_weights(state.require_baseline(), target.variant_name, state.current_step.weight_percent)
    return {w["VariantName"]: w["DesiredWeight"] for w in weights}


def check_endpoint(state: RolloutState, settings: Settings) -> RolloutState:
    """One look at the endpoint: still changing, settled as intended, or a failure that triggers rollback."""
    _check(state, settings)
    continuation.offer(state, "next", settings.continue_after_events)
    return state


def _check(state: RolloutState, settings: Settings) -> RolloutState:
    now = clock.now()
    heed_requests(state, settings)
    observed = sagemaker.snapshot(state.endpoint_name, variants_while_busy=False)
    require_drift_free(state, observed)
    watch_alarms_in_flight(state, now)
    decision = deployment_progress(state, observed, now, desired_weights(state))
    state.polls += 1
    state.message = decision.reason
    if decision.progress is Progress.WAIT:
        state.next = "wait"
        return state
    if decision.progress is Progress.TIMED_OUT:
        raise UpdateTimedOutError(decision.reason)
    if decision.progress is Progress.NOT_SERVING_TARGET:
        raise VerificationFailedError(decision.reason)
    if decision.progress is Progress.REVERTED and state.target is not None and state.target.guardrails:
        raise GuardrailRollbackError(guardrail_rollback_reason(state, observed, now))
    if decision.progress in (Progress.FAILED, Progress.REVERTED):
        raise UpdateFailedError(decision.reason)
    expect(state, observed)
    return settled(state, settings, now)


def watch_alarms_in_flight(state: RolloutState, now: datetime) -> None:
    """While the rollout's own change is in flight (an update, a shift, the promotion), a watched alarm that went to
    ALARM since the last look - however briefly - fails the rollout: its history is read, so none is missed.
    SageMaker's guardrails watch their alarms themselves during a blue/green update."""
    target = state.target
    in_flight = state.phase in (Phase.UPDATING, Phase.SHIFTING, Phase.PROMOTING)
    guarded = target is not None and target.guardrails and state.phase is Phase.UPDATING
    if not state.touched or not in_flight or guarded or not state.watched_alarms:
        return
    since = state.alarms_seen_until or state.touched_at or now
    fired = cloudwatch.alarms_fired(state.watched_alarms, since, now)
    state.alarms_seen_until = now
    if fired:
        name, at, reason = fired[0]
        during = {Phase.UPDATING: "the update", Phase.SHIFTING: "a traffic shift", Phase.PROMOTING: "the promotion"}
        raise HealthCheckFailedError(
            f"alarm {name} went to ALARM at {at.isoformat()} during {during[state.phase]} ({reason})"
        )


def guardrail_rollback_reason(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> str:
    """Why SageMaker's guardrails rolled the update back: the auto-rollback alarm that went to ALARM during
    the deployment (from its history), else the execution timeout, else what DescribeEndpoint says."""
    strategy = state.policy.strategy
    assert isinstance(strategy, BlueGreen)
    started = state.update_started_at or state.started_at
    elapsed = int((now - started).total_seconds())
    said = (
        f"SageMaker's deployment guardrails rolled {state.endpoint_name} back to {observed.config_name} "
        f"after {elapsed} s"
    )
    if observed.failure_reason:
        said += f" (FailureReason: {observed.failure_reason})"
    fired = cloudwatch.alarms_fired(state.policy.rollback_alarms, started, now)
    if fired:
        name, at, reason = fired[0]
        return f"{said}: alarm {name} went to ALARM {int((at - started).total_seconds())} s in ({reason})"
    if elapsed >= strategy.max_execution_timeout_seconds:
        return f"{said}: the deployment ran past max_execution_timeout_seconds={strategy.max_execution_timeout_seconds}"
    return f"{said}: no auto-rollback alarm went to ALARM in that time"


def settled(state: RolloutState, settings: Settings, now: datetime) -> RolloutState:
    """The endpoint reached what the phase asked for: decide the next action."""
    target = state.target
    assert target is not None
    if state.phase is Phase.PROMOTING:
        if state.promotion_scaling is not None:  # Promote gives the promoted variant its autoscaling back first
            state.next = "promote"
            state.message = f"promoted: endpoint {state.endpoint_name} serves {target.model_name} alone"
            return state
        after_promotion(state, now)
    elif state.phase is Phase.UPDATING and target.shifts_traffic:
        state.next = "shift"
        state.message = f"variant {target.variant_name} is live at weight 0 beside the baseline"
        if state.policy.verification is not None and state.verification is None:
            state.next = "verify"  # replayed requests judge it before any caller is served by it
    elif state.phase is Phase.UPDATING and target.guardrails:  # SageMaker's blue/green update was the promotion
        after_promotion(state, now)
    elif unbaked(state):
        # A 0 s bake is no bake: an empty window is no evidence, so the step is not judged (nor extended for want
        # of traffic) - it is done once the endpoint serves it, and the rollout goes on (a gate still waits). What
        # watches the new model is a later bake: the next step's, or the post-promotion bake, which every rollout
        # that changes traffic has. An update to the new model alone (all_at_once) was the promotion itself: its
        # post-promotion bake follows at once.
        step = state.current_step
        done = (
            f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
            "no bake (bake_seconds=0)"
        )
        if not target.shifts_traffic and state.step_index + 1 >= len(state.steps):
            after_promotion(state, now)
            state.message = f"{done}; {state.message}"
            return state
        state.bake = BakeState(started_at=now, ends_at=now)
        state.phase = Phase.BAKING
        advance(state, settings, now, done)
        if state.next != "gate":  # a gate's message says who must act
            state.message = f"{done}: next {state.next}"
    else:
        start_bake(state, now)
    return state


def after_promotion(state: RolloutState, now: datetime) -> None:
    """The new model serves alone: judge it once more, for ``post_promotion_bake_seconds`` (at least one check),
    with the same alarms and checks; a failure rolls back to the pre-rollout config."""
    seconds = state.policy.post_promotion_bake_seconds
    start_bake(state, now, seconds)
    state.phase = Phase.VERIFYING
    state.message = (
        f"promoted: endpoint {state.endpoint_name} serves the new model alone; judging it for {seconds} s more "
        "(post_promotion_bake_seconds)"
    )


def unbaked(state: RolloutState) -> bool:
    """Is the current step one with no bake: 0 s, in a rollout that is not a test? (A test's steps are its
    evidence: they are always judged.) The post-promotion bake judges the promoted model in any case."""
    testing = isinstance(state.policy.strategy, (AbTest, Shadow))
    return state.current_step.bake_seconds == 0 and not testing


def start_bake(state: RolloutState, now: datetime, seconds: int | None = None) -> None:
    """Begin judging the current step: at least one check, then every check interval until the bake ends."""
    step = state.current_step
    bake_seconds = step.bake_seconds if seconds is None else seconds
    state.bake = BakeState(started_at=now, ends_at=now + timedelta(seconds=bake_seconds))
    # a test's own bake (not the promoted model's) that may stop early is looked at sooner while it is young
    early = seconds is None and stops_early(state.policy.strategy)
    state.bake.next_check_seconds = max(1, next_check_seconds(state.judging, state.bake, now, early_looks=early))
    state.phase, state.next = Phase.BAKING, "bake"
    if isinstance(state.policy.strategy, Shadow):  # a copy of the requests: callers never see the shadow
        state.message = (
            f"shadow test: {step.weight_percent:g}% of requests copied to the new model (callers are answered by "
            f"the live model), for {step.bake_seconds} s"
        )
        return
    if isinstance(state.policy.strategy, BlueGreen) and bake_seconds == 0:  # SageMaker shifted and baked already
        state.message = (
            "SageMaker's blue/green update is done (its guardrails shifted all the traffic and baked it with their "
            "alarms): one check of the new model"
        )
        return
    state.message = (
        f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
        f"baking {bake_seconds} s"
    )
