"""Start Update and Check Endpoint: switch the endpoint to the target config and follow every change to
InService, then say what comes next (shift, bake, promote, done)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rollout import clock, continuation, reasons
from rollout.aws import cloudwatch, sagemaker
from rollout.baking import begin_bake, begin_empty_bake, begin_post_promotion_bake
from rollout.config import Settings
from rollout.decide import Progress, deployment_progress, fallback_seconds
from rollout.errors import (
    GuardrailRollbackError,
    HealthCheckFailedError,
)
from rollout.guards import expect, require_approval, require_drift_free
from rollout.models.endpoint import EndpointSnapshot
from rollout.models.policy import BlueGreen
from rollout.models.progress import Phase, RolloutState
from rollout.names import resource_tags
from rollout.notifications.announcing import announce_transition
from rollout.people import heed_requests
from rollout.plan.configs import step_weights
from rollout.plan.guardrails import deployment_config
from rollout.transition import EndpointChanging, EndpointFailed, EndpointSettled, UpdateSent, apply, failure, transition

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import DeploymentConfigTypeDef


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
            sagemaker.create_endpoint(endpoint, config, resource_tags(state.rollout_id, state.endpoint_name))
        else:
            sagemaker.update_endpoint(endpoint, config, guardrails(state))
    state.update_started_at = clock.now()
    apply(state, transition(state, UpdateSent()), state.update_started_at)
    verb = "creating" if target.creates_endpoint else "updating"
    state.message = f"{verb} endpoint {endpoint} with {config}"
    # SageMaker's events wake Wait For Endpoint; its timeout is only the fallback for a lost event
    state.poll_seconds = fallback_seconds(state)
    if target.guardrails:  # SageMaker watches its alarms itself: the service only needs to notice the end
        state.message += f" under SageMaker's deployment guardrails ({describe_guardrails(state)})"
    return state


def guardrails(state: RolloutState) -> DeploymentConfigTypeDef | None:
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
        return apply(state, transition(state, EndpointChanging()), now)
    if decision.progress is not Progress.DEPLOYED:
        change = transition(state, EndpointFailed(decision.progress))
        guarded = change.fails is GuardrailRollbackError  # which alarm (or the timeout) made SageMaker roll back
        raise failure(change, guardrail_rollback_reason(state, observed, now) if guarded else decision.reason)
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
        raise HealthCheckFailedError(reasons.alarm_in_flight(name, at, reason, during[state.phase]))


def guardrail_rollback_reason(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> str:
    """Why SageMaker's guardrails rolled the update back: the auto-rollback alarm that went to ALARM during
    the deployment (from its history), else the execution timeout, else what DescribeEndpoint says."""
    strategy = state.policy.strategy
    assert isinstance(strategy, BlueGreen)
    started = state.update_started_at or state.started_at
    elapsed = int((now - started).total_seconds())
    fired = cloudwatch.alarms_fired(state.policy.rollback_alarms, started, now)
    first = (fired[0][0], int((fired[0][1] - started).total_seconds()), fired[0][2]) if fired else None
    return reasons.guardrail_rollback(
        state.endpoint_name,
        observed.config_name,
        elapsed,
        observed.failure_reason,
        first,
        strategy.max_execution_timeout_seconds,
    )


def settled(state: RolloutState, settings: Settings, now: datetime) -> RolloutState:
    """The endpoint reached what the phase asked for: the transition says what comes next; begin the bake it
    names and say so."""
    target = state.target
    assert target is not None
    change = transition(state, EndpointSettled())
    key = change.rows[0].key
    step = state.current_step
    # A 0 s bake is no bake: an empty window is no evidence, so the step is not judged (nor extended for want of
    # traffic) - it is done once the endpoint serves it, and the rollout goes on (a gate still waits). What watches
    # the new model is a later bake: the next step's, or the post-promotion bake, which every rollout that changes
    # traffic has. An update to the new model alone (all_at_once) was the promotion itself: its post-promotion bake
    # follows at once.
    done = (
        f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
        "no bake (bake_seconds=0)"
    )
    if change.bake == "empty":  # set before a gate the passed step may open: its first check counts from it
        begin_empty_bake(state, now)
    elif change.bake == "post_promotion":
        begin_post_promotion_bake(state, now)
    elif change.bake == "step":
        begin_bake(state, now)
    apply(state, change, now)
    announce_transition(state, change, settings)
    if key == "settled.promoted.scaling":  # Promote gives the promoted variant its autoscaling back first
        state.message = f"promoted: endpoint {state.endpoint_name} serves {target.model_name} alone"
    elif key in ("settled.side", "settled.side.verify"):
        state.message = f"variant {target.variant_name} is live at weight 0 beside the baseline"
    elif key == "settled.unbaked.last":
        state.message = f"{done}; {state.message}"
    elif key == "settled.unbaked" and state.next != "gate":  # a gate's message says who must act
        state.message = f"{done}: next {state.next}"
    return state
