"""Shift Traffic and Promote: move weight to the new variant step by step, then make it the only one."""

from __future__ import annotations

from rollout import clock, plan
from rollout.aws import autoscaling, sagemaker
from rollout.config import Settings
from rollout.models import Phase, RolloutState
from rollout.notifications import EventKind
from rollout.steps.announce import announce
from rollout.steps.revocation import require_approval


def shift_traffic(state: RolloutState, settings: Settings) -> RolloutState:
    """UpdateEndpointWeightsAndCapacities to the current step's weights (no new config needed)."""
    target = state.target
    assert target is not None and target.variant_name, "Shift Traffic runs in a traffic-shifting rollout"
    endpoint = state.endpoint_name
    step = state.current_step
    weights = plan.step_weights(state.require_baseline(), target.variant_name, step.weight_percent)
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    live = {v.name: v.weight for v in observed.variants}
    wanted = {w["VariantName"]: w["DesiredWeight"] for w in weights}
    if observed.status == "InService" and live != wanted:  # a retried step finds its shift already made
        sagemaker.update_weights(endpoint, weights)
    state.update_started_at = clock.now()
    state.phase, state.next = Phase.SHIFTING, "wait"
    shown = ", ".join(f"{w['VariantName']}={w['DesiredWeight']:g}" for w in weights)
    state.message = f"step {state.step_index + 1}/{len(state.steps)}: shifting {endpoint} to {shown}"
    announce(state, EventKind.STEP_SHIFTED, settings, weights={w["VariantName"]: w["DesiredWeight"] for w in weights})
    return state


def promote(state: RolloutState, settings: Settings) -> RolloutState:
    """Every step passed: UpdateEndpoint to the config with the new variant alone."""
    target = state.target
    assert target is not None
    observed = sagemaker.snapshot(state.endpoint_name, variants_while_busy=False)
    if target.config_name not in {observed.config_name, observed.pending_config_name}:
        require_approval(state)
        move_scaling_to_new_variant(state)
        sagemaker.update_endpoint(state.endpoint_name, target.config_name)
    state.update_started_at = clock.now()
    state.phase, state.next = Phase.PROMOTING, "wait"
    state.message = f"promoting: updating {state.endpoint_name} to {target.config_name}"
    announce(state, EventKind.PROMOTED, settings)
    return state


def move_scaling_to_new_variant(state: RolloutState) -> None:
    """Give the new variant the scaling of the largest autoscaled baseline variant, and deregister the baseline
    variants: SageMaker rejects an update that removes a variant still registered as a scalable target."""
    baseline, target = state.require_baseline(), state.target
    if not baseline.scaling or target is None or not target.variant_name:
        return
    counts = {v.name: v.instance_count or 0 for v in baseline.variants}
    model = max(baseline.scaling, key=lambda s: counts.get(s.variant, 0))
    autoscaling.apply_scaling(state.endpoint_name, target.variant_name, model)
    for scaling in baseline.scaling:
        autoscaling.remove_scaling(state.endpoint_name, scaling.variant)
