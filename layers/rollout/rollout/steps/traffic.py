"""Shift Traffic and Promote: move weight to the new variant step by step, then make it the only one."""

from __future__ import annotations

from rollout import clock
from rollout.aws import autoscaling, sagemaker
from rollout.baking import begin_post_promotion_bake
from rollout.config import Settings
from rollout.guards import require_approval, require_drift_free
from rollout.models.progress import Phase, RolloutState
from rollout.notifications.announcing import announce_transition
from rollout.plan.configs import promotion_scaling, step_weights
from rollout.transition import PromotionSent, PromotionSettled, ShiftSent, apply, transition


def shift_traffic(state: RolloutState, settings: Settings) -> RolloutState:
    """UpdateEndpointWeightsAndCapacities to the current step's weights (no new config needed)."""
    target = state.target
    assert target is not None and target.variant_name, "Shift Traffic runs in a traffic-shifting rollout"
    endpoint = state.endpoint_name
    step = state.current_step
    weights = step_weights(state.require_baseline(), target.variant_name, step.weight_percent)
    observed = sagemaker.snapshot(endpoint, variants_while_busy=False)
    live = {v.name: v.weight for v in observed.variants}
    wanted = {w["VariantName"]: w["DesiredWeight"] for w in weights}
    if observed.status == "InService" and live != wanted:  # a retried step finds its shift already made
        require_drift_free(state, observed)
        sagemaker.update_weights(endpoint, weights)
    state.update_started_at = clock.now()
    change = transition(state, ShiftSent())
    apply(state, change, state.update_started_at)
    shown = ", ".join(f"{w['VariantName']}={w['DesiredWeight']:g}" for w in weights)
    state.message = f"step {state.step_index + 1}/{len(state.steps)}: shifting {endpoint} to {shown}"
    announce_transition(state, change, settings, weights={w["VariantName"]: w["DesiredWeight"] for w in weights})
    return state


def promote(state: RolloutState, settings: Settings) -> RolloutState:
    """Every step passed: UpdateEndpoint to the config with the new model alone (in a variant that keeps the name
    users' alarms and clients know). Called again once that update has settled when the promoted variant must be
    given its autoscaling back, which only an InService endpoint allows."""
    target = state.target
    assert target is not None
    now = clock.now()
    observed = sagemaker.snapshot(state.endpoint_name, variants_while_busy=False)
    settled = state.phase is Phase.PROMOTING and observed.status == "InService"
    if settled and observed.config_name == target.config_name:
        give_promoted_variant_its_scaling(state)
        change = transition(state, PromotionSettled())
        begin_post_promotion_bake(state, now)
        apply(state, change, now)
        announce_transition(state, change, settings)
        return state
    if target.config_name not in {observed.config_name, observed.pending_config_name}:
        require_drift_free(state, observed)
        require_approval(state)
        release_scaling_for_promotion(state)
        sagemaker.update_endpoint(state.endpoint_name, target.config_name)
    state.update_started_at = now
    change = transition(state, PromotionSent())
    apply(state, change, now)
    state.message = f"promoting: updating {state.endpoint_name} to {target.config_name}"
    announce_transition(state, change, settings)
    return state


def release_scaling_for_promotion(state: RolloutState) -> None:
    """Deregister what SageMaker would not let the promotion remove or resize, and remember what the promoted variant
    gets back once the update has settled (see promotion_scaling)."""
    baseline, target = state.require_baseline(), state.target
    if not baseline.scaling or target is None or not target.promoted_variant:
        return
    promoted = target.promoted_variant
    config = sagemaker.config_request(target.config_name) or {}
    new_type = next(
        (v.get("InstanceType") for v in config.get("ProductionVariants", []) if v["VariantName"] == promoted), None
    )
    old_type = next((v.instance_type for v in baseline.variants if v.name == promoted), None)
    release, after = promotion_scaling(baseline, promoted, new_type != old_type)
    for variant in release:
        autoscaling.remove_scaling(state.endpoint_name, variant)
    state.promotion_scaling = after


def give_promoted_variant_its_scaling(state: RolloutState) -> None:
    """Register the promoted variant with the scaling it had before (or the largest autoscaled variant's)."""
    scaling = state.promotion_scaling
    if scaling is not None:
        autoscaling.apply_scaling(state.endpoint_name, scaling.variant, scaling)
        state.promotion_scaling = None
