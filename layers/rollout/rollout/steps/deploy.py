"""Start Update and Check Endpoint: switch the endpoint to the target config and follow it to InService."""

from __future__ import annotations

from rollout import clock
from rollout.aws import sagemaker
from rollout.decide import Progress, deployment_progress
from rollout.errors import UpdateFailedError, UpdateTimedOutError, VerificationFailedError
from rollout.models import Phase, RolloutState
from rollout.steps.target import resource_tags


def start_update(state: RolloutState) -> RolloutState:
    """UpdateEndpoint (or CreateEndpoint for a first deployment), unless an earlier try already did."""
    target = state.target
    assert target is not None, "Start Update runs after Prepare Target"
    endpoint = state.endpoint_name
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    already = target.config_name in {observed.config_name, observed.pending_config_name}
    state.touched = True  # from here on, any failure must put the endpoint back
    if not already:
        if target.creates_endpoint:
            sagemaker.create_endpoint(endpoint, target.config_name, resource_tags(state))
        else:
            sagemaker.update_endpoint(endpoint, target.config_name)
    state.update_started_at = state.update_started_at or clock.now()
    state.phase = Phase.UPDATING
    verb = "creating" if target.creates_endpoint else "updating"
    state.message = f"{verb} endpoint {endpoint} with {target.config_name}"
    return state


def check_endpoint(state: RolloutState) -> RolloutState:
    """One look at the endpoint: still going, deployed and verified, or a failure that triggers rollback."""
    observed = sagemaker.snapshot(state.endpoint_name, variants_while_busy=False)
    decision = deployment_progress(state, observed, clock.now())
    state.polls += 1
    state.message = decision.reason
    if decision.progress is Progress.WAIT:
        return state
    if decision.progress is Progress.DEPLOYED:
        state.phase = Phase.DEPLOYED
        return state
    if decision.progress is Progress.TIMED_OUT:
        raise UpdateTimedOutError(decision.reason)
    if decision.progress is Progress.NOT_SERVING_TARGET:
        raise VerificationFailedError(decision.reason)
    raise UpdateFailedError(decision.reason)
