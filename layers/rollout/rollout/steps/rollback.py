"""Roll Back and Clean Up: put the endpoint back exactly as it was, then remove what the rollout made."""

from __future__ import annotations

from rollout import clock, continuation, names, plan
from rollout.aws import autoscaling, cloudwatch, sagemaker
from rollout.config import Settings
from rollout.decide import RollbackAction, failure_reason, rollback_action
from rollout.errors import RollbackFailedError
from rollout.models import Phase, RolloutState
from rollout.steps.target import resource_tags


def roll_back(state: RolloutState) -> RolloutState:
    """Take one step toward the baseline; the state machine waits and calls again until the phase is rolled_back."""
    now = clock.now()
    if state.phase is not Phase.ROLLING_BACK:
        state.phase, state.rollback_started_at = Phase.ROLLING_BACK, now
        state.reason = state.reason or failure_reason(state.error)
    endpoint = state.endpoint_name
    baseline_config = state.baseline.config_name if state.baseline else None
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    decision = rollback_action(state, observed, now)
    state.message = decision.reason
    if decision.action not in (RollbackAction.DONE, RollbackAction.GIVE_UP, RollbackAction.STOP):
        state.touched = True
    if decision.action is RollbackAction.DONE:
        restore_baseline_scaling(state)
        state.phase = Phase.ROLLED_BACK
    elif decision.action is RollbackAction.CUT_TRAFFIC and state.target and state.target.variant_name:
        sagemaker.update_weights(endpoint, plan.baseline_weights(state.require_baseline(), state.target.variant_name))
    elif decision.action is RollbackAction.RESTORE_WEIGHTS:
        baseline = state.require_baseline()
        sagemaker.update_weights(
            endpoint, [{"VariantName": v.name, "DesiredWeight": v.weight} for v in baseline.variants]
        )
    elif decision.action is RollbackAction.UPDATE_TO_BASELINE and baseline_config:
        if state.target and state.target.variant_name and state.require_baseline().scaling:
            # the promotion gave the new variant the baseline's scaling: a scalable variant cannot be removed
            autoscaling.remove_scaling(endpoint, state.target.variant_name)
        sagemaker.update_endpoint(endpoint, baseline_config)
    elif decision.action is RollbackAction.RECREATE_BASELINE and baseline_config:
        sagemaker.create_endpoint(endpoint, baseline_config, resource_tags(state))
    elif decision.action is RollbackAction.DELETE:
        sagemaker.delete_endpoint(endpoint)
    elif decision.action is RollbackAction.GIVE_UP:
        raise RollbackFailedError(f"{decision.reason}; the rollout failed because: {state.reason}")
    elif decision.action is RollbackAction.STOP:  # an endpoint that may serve is never deleted
        raise RollbackFailedError(f"{decision.reason} The rollout was rolling back because: {state.reason}")
    return state


def restore_baseline_scaling(state: RolloutState) -> None:
    """A promotion moved the baseline's autoscaling to the new variant: put it back exactly (idempotent)."""
    baseline = state.baseline
    if baseline is None or not baseline.scaling:
        return
    for scaling in baseline.scaling:
        autoscaling.apply_scaling(baseline.name, scaling.variant, scaling)


def clean_up(state: RolloutState) -> RolloutState:
    """Delete what the rollout made and no longer needs: always its alarms; after a rollback its configs and
    model; after a success the intermediate shift config (the baseline config and model stay, for a manual
    revert). After a failed rollback nothing of the endpoint's is touched."""
    target = state.target
    removed: list[str] = []
    if state.service_alarms:
        cloudwatch.delete_alarms(state.service_alarms)
        removed += state.service_alarms
    if target is None and state.phase is Phase.ROLLED_BACK:
        # Prepare Target failed part-way and its state went with the error: what it made has known names
        # (only those that exist: a tag-conditioned delete of a resource that was never made is denied by IAM)
        made, model = prepared_names(state)
        made = [name for name in made if sagemaker.describe_endpoint_config(name) is not None]
        removed += [name for name in made if sagemaker.delete_endpoint_config(name)]
        if sagemaker.describe_model(model) is not None and sagemaker.delete_model(model):
            removed.append(model)
    if target is None or state.phase not in (Phase.ROLLED_BACK, Phase.DEPLOYED):
        # after a failed rollback the endpoint's resources stay for the person who must look
        state.message = f"deleted {', '.join(removed)}" if removed else "nothing to clean up"
        return state
    kept = state.experiment is not None and state.experiment.decision in ("keep", "keep_both")
    if state.phase is Phase.DEPLOYED:  # the live config stays; the one it did not need goes
        configs = [target.config_name if kept else target.shift_config_name]
    else:
        configs = [target.shift_config_name, target.config_name]
    removed += [name for name in configs if name and sagemaker.delete_endpoint_config(name)]
    if state.phase is Phase.ROLLED_BACK and sagemaker.delete_model(target.model_name):
        removed.append(target.model_name)
    state.message = f"deleted {', '.join(removed)}" if removed else "nothing to clean up"
    return state


def prepared_names(state: RolloutState) -> tuple[list[str], str]:
    """The configs and the model Prepare Target creates for this rollout (names are deterministic)."""
    endpoint, package, rollout_id = state.endpoint_name, state.package, state.rollout_id
    configs = [names.endpoint_config_name(endpoint, package.version, rollout_id, p) for p in ("c", "s", "p")]
    return configs, names.model_name(endpoint, package.arn, package.version, rollout_id)


def roll_back_step(state: RolloutState, settings: Settings) -> RolloutState:
    """Roll Back as the state machine calls it: one step, then, while the rollback goes on, a chance for a long
    execution to continue in a fresh one (see rollout.continuation)."""
    roll_back(state)
    if state.phase is not Phase.ROLLED_BACK:
        continuation.offer(state, "rollback", settings.continue_after_events)
    return state
