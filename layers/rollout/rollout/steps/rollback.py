"""Roll Back and Clean Up: put the endpoint back exactly as it was, then remove what the rollout made."""

from __future__ import annotations

from datetime import datetime

from rollout import clock, continuation, reasons
from rollout.aws import autoscaling, sagemaker
from rollout.config import Settings
from rollout.decide import RollbackAction, fallback_seconds, rollback_action
from rollout.errors import AwsServiceError, EndpointConfigNotFoundError, TransientError
from rollout.models.endpoint import EndpointSnapshot
from rollout.models.progress import Phase, RolloutState, TaskError
from rollout.names import resource_tags
from rollout.plan.configs import baseline_weights, live_capacities
from rollout.transition import RollbackBegun, RollbackDone, RollbackMoving, RollbackStopped, apply, transition

ROLLBACK_RETRY_MAX_SECONDS = 300  # the longest wait between two tries of a rollback step that met an AWS error


def roll_back(state: RolloutState) -> RolloutState:
    """Take one step toward the baseline; the state machine waits and calls again until the phase is rolled_back
    (or stopped: a person must look).

    Roll Back persists: an AWS error (throttling, a 5xx, a timeout, a refusal that may pass) is retried at the next
    turn with backoff until the policy's ``rollback_deadline_seconds``; then the rollout stops with the endpoint left
    as it is and says exactly how it found it (needs_attention). It never ends while the endpoint may still be
    moving toward the new model."""
    now = clock.now()
    if state.phase is not Phase.ROLLING_BACK:
        apply(state, transition(state, RollbackBegun()), now)
        state.rollback_started_at = now
        state.reason = reasons.rollback_reason(state)
        state.rollback_errors = 0
    try:
        _roll_back_once(state, now)
    except (TransientError, AwsServiceError, EndpointConfigNotFoundError) as exc:
        state.rollback_errors += 1
        wait = min(state.policy.poll_interval_seconds * 2 ** (state.rollback_errors - 1), ROLLBACK_RETRY_MAX_SECONDS)
        state.poll_seconds = max(1, wait)
        left = state.policy.rollback_deadline_seconds - int((now - (state.rollback_started_at or now)).total_seconds())
        state.message = (
            f"{type(exc).__name__}: {exc}; trying again in {state.poll_seconds} s (AWS error {state.rollback_errors} "
            f"of this rollback; it keeps trying for {max(left, 0)} s more, rollback_deadline_seconds)"
        )
        state.rollback_error = f"{type(exc).__name__}: {exc}"
        apply(state, transition(state, RollbackMoving()), now)  # tried again after the backoff
    return state


def _roll_back_once(state: RolloutState, now: datetime) -> None:
    endpoint = state.endpoint_name
    baseline_config = state.baseline.config_name if state.baseline else None
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    decision = rollback_action(state, observed, now)
    state.message = decision.reason
    state.poll_seconds = wait_seconds(state, decision.action, observed)
    if decision.action not in (RollbackAction.DONE, RollbackAction.GIVE_UP, RollbackAction.STOP):
        state.touched = True
    if decision.action is RollbackAction.DONE:
        restore_baseline_scaling(state)
        apply(state, transition(state, RollbackDone()), now)
    elif decision.action is RollbackAction.CUT_TRAFFIC and state.target and state.target.variant_name:
        sagemaker.update_weights(endpoint, baseline_weights(state.require_baseline(), state.target.variant_name))
    elif decision.action is RollbackAction.RESTORE_LIVE:
        sagemaker.update_weights(endpoint, live_capacities(state.require_baseline()))
    elif decision.action is RollbackAction.UPDATE_TO_BASELINE and baseline_config:
        release_blocking_scaling(state, observed)
        sagemaker.update_endpoint(endpoint, baseline_config)
    elif decision.action is RollbackAction.RECREATE_BASELINE and baseline_config:
        sagemaker.create_endpoint(endpoint, baseline_config, resource_tags(state.rollout_id, state.endpoint_name))
    elif decision.action is RollbackAction.DELETE:
        sagemaker.delete_endpoint(endpoint)
    elif decision.action in (RollbackAction.GIVE_UP, RollbackAction.STOP):
        stop(state, "RollbackFailedError", decision.reason, now)
    if decision.action not in (RollbackAction.DONE, RollbackAction.GIVE_UP, RollbackAction.STOP):
        apply(state, transition(state, RollbackMoving()), now)  # Wait For Rollback, then one more look
    state.rollback_errors = 0
    state.rollback_error = None


# The rollback's moves that change the endpoint, and the wait after each: SageMaker's endpoint state change event
# wakes Wait For Rollback when the change settles, so its timeout is only the slow fallback for a lost event.
_CHANGES = frozenset(
    {
        RollbackAction.CUT_TRAFFIC,
        RollbackAction.RESTORE_LIVE,
        RollbackAction.UPDATE_TO_BASELINE,
        RollbackAction.RECREATE_BASELINE,
    }
)


def wait_seconds(state: RolloutState, action: RollbackAction, observed: EndpointSnapshot) -> int:
    """Wait For Rollback's timeout after this step: the event fallback when SageMaker will say the change ended,
    the poll interval when it will not (SageMaker sends no event for the end of a deletion)."""
    deleting = action is RollbackAction.DELETE or (action is RollbackAction.WAIT and observed.status == "Deleting")
    if action in _CHANGES or (action is RollbackAction.WAIT and not deleting):
        return fallback_seconds(state)
    return state.policy.poll_interval_seconds


def stop(state: RolloutState, kind: str, said: str, now: datetime) -> None:
    """The rollout stops and leaves the endpoint exactly as it is; a person must look (outcome needs_attention).
    ``kind`` names why, as an error class does (the record's reason starts with it)."""
    kind, cause = reasons.stopped(kind, said, state)
    state.error = TaskError(Error=kind, Cause=cause)
    state.reason = f"{kind}: {cause}"
    apply(state, transition(state, RollbackStopped()), now)
    state.message = state.reason


def release_blocking_scaling(state: RolloutState, observed: EndpointSnapshot) -> None:
    """SageMaker refuses an update that removes a variant registered with Application Auto Scaling or changes its
    instance type: deregister such variants first (the baseline's scaling comes back when the rollback is done)."""
    baseline = state.require_baseline()
    if not baseline.scaling:
        return
    before = {v.name: v.instance_type for v in baseline.variants}
    live = sagemaker.config_request(observed.config_name) if observed.config_name else None
    live_types = {v["VariantName"]: v.get("InstanceType") for v in (live or {}).get("ProductionVariants", [])}
    for variant, instance_type in live_types.items():
        if variant not in before or before[variant] != instance_type:
            autoscaling.remove_scaling(state.endpoint_name, variant)


def restore_baseline_scaling(state: RolloutState) -> None:
    """A promotion moved or removed the baseline's autoscaling: put it back exactly (idempotent), and take away what
    the promoted variant was given if it had none before."""
    baseline, target = state.baseline, state.target
    if baseline is None or not baseline.scaling:
        return
    scaled = {s.variant for s in baseline.scaling}
    if target is not None and target.promoted_variant and target.promoted_variant not in scaled:
        autoscaling.remove_scaling(baseline.name, target.promoted_variant)
    for scaling in baseline.scaling:
        autoscaling.apply_scaling(baseline.name, scaling.variant, scaling)


def roll_back_step(state: RolloutState, settings: Settings) -> RolloutState:
    """Roll Back as the state machine calls it: one step, then, while the rollback goes on, a chance for a long
    execution to continue in a fresh one (see rollout.continuation)."""
    roll_back(state)
    if state.phase not in (Phase.ROLLED_BACK, Phase.STOPPED):
        continuation.offer(state, "rollback", settings.continue_after_events)
    return state
