"""Start Update and Check Endpoint: switch the endpoint to the target config and follow every change to
InService, then say what comes next (shift, bake, promote, done)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollout import clock, continuation, plan
from rollout.analysis import next_check_seconds
from rollout.aws import cloudwatch, sagemaker
from rollout.config import Settings
from rollout.decide import Progress, deployment_progress
from rollout.errors import GuardrailRollbackError, UpdateFailedError, UpdateTimedOutError, VerificationFailedError
from rollout.models import AbTest, BakeState, BlueGreen, EndpointSnapshot, Phase, RolloutState, Shadow
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
        require_approval(state)  # a gate or a queue may have held the rollout for a long time
    state.touched = True  # from here on, any failure must put the endpoint back
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


# Wait For Endpoint's timeout: a lost endpoint event costs at most this long (plus one look), never the rollout.
FALLBACK_SECONDS = 300


def fallback_seconds(state: RolloutState) -> int:
    """How long Wait For Endpoint waits for SageMaker's event before looking anyway."""
    return max(state.policy.poll_interval_seconds, FALLBACK_SECONDS)


def guardrails(state: RolloutState) -> dict[str, Any] | None:
    """The DeploymentConfig of a blue/green or rolling update (None for any other update)."""
    strategy = state.policy.strategy
    if state.target is None or not state.target.guardrails or not isinstance(strategy, BlueGreen):
        return None
    return plan.deployment_config(strategy, state.policy.rollback_alarms)


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
    weights = plan.step_weights(state.require_baseline(), target.variant_name, state.current_step.weight_percent)
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
    return settled(state, settings, now)


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
        state.phase, state.next = Phase.DEPLOYED, "done"
        state.message = f"promoted: endpoint {state.endpoint_name} serves {target.model_name} alone"
    elif state.phase is Phase.UPDATING and target.shifts_traffic:
        state.next = "shift"
        state.message = f"variant {target.variant_name} is live at weight 0 beside the baseline"
    elif unbaked(state):
        # A 0 s bake after a judged step is no bake: an empty window is no evidence, so the step is not judged (nor
        # extended for want of traffic) - it is done once the endpoint serves it, and the rollout goes on (a gate
        # still waits). The earlier steps' verdicts stand, and their alarms were watched all along.
        step = state.current_step
        done = (
            f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
            "no bake (bake_seconds=0)"
        )
        state.bake = BakeState(started_at=now, ends_at=now)
        state.phase = Phase.BAKING
        advance(state, settings, now, done)
        if state.next != "gate":  # a gate's message says who must act
            state.message = f"{done}: next {state.next}"
    else:
        start_bake(state, now)
    return state


def unbaked(state: RolloutState) -> bool:
    """Is the current step one with no bake: 0 s, after at least one judged step, in a rollout that is not a test?
    (A rollout's first step is always judged at least once, whatever its bake: it is the only look it takes.)"""
    testing = isinstance(state.policy.strategy, (AbTest, Shadow))
    return state.current_step.bake_seconds == 0 and state.step_index > 0 and not testing


def start_bake(state: RolloutState, now: datetime) -> None:
    """Begin judging the current step: at least one check, then every check interval until the bake ends."""
    step = state.current_step
    state.bake = BakeState(started_at=now, ends_at=now + timedelta(seconds=step.bake_seconds))
    state.bake.next_check_seconds = max(1, next_check_seconds(state.policy.judging, state.bake, now))
    state.phase, state.next = Phase.BAKING, "bake"
    state.message = (
        f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
        f"baking {step.bake_seconds} s"
    )
