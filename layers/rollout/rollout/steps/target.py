"""Prepare Target: the SageMaker Model from the package and the EndpointConfig that serves it."""

from __future__ import annotations

from rollout import clock, names
from rollout.aws import cloudwatch, sagemaker
from rollout.config import Settings
from rollout.errors import EndpointConfigNotFoundError
from rollout.models.policy import BlueGreen, Shadow
from rollout.models.progress import RolloutState, Target
from rollout.names import resource_tags
from rollout.notifications.announcing import announce_transition
from rollout.plan.configs import (
    ConfigRequest,
    promote_config,
    shadow_config,
    shift_config,
    target_config,
    without_shadows,
)
from rollout.plan.steps import shifts_traffic
from rollout.transition import Prepared, apply, transition


def prepare_target(state: RolloutState, settings: Settings) -> RolloutState:
    """Plan every request first (a refusal - a bad capacity, a shape SageMaker rejects - leaves nothing behind), then
    create the model, the config(s) and the rollout's own alarms, each found again by name if a retry runs."""
    endpoint, package = state.endpoint_name, state.package
    model_name = names.model_name(endpoint, package.arn, package.version, state.rollout_id)
    baseline = state.require_baseline()
    baseline_config = None
    if baseline.exists and baseline.config_name:
        baseline_config = sagemaker.config_request(baseline.config_name)
        if baseline_config is None:
            raise EndpointConfigNotFoundError(
                f"EndpointConfig {baseline.config_name} of {endpoint} disappeared before the rollout began"
            )
    strategy = state.policy.strategy
    side_by_side = baseline_config is not None and (
        isinstance(strategy, Shadow) or shifts_traffic(strategy, baseline.exists)
    )
    if baseline_config is not None and side_by_side:
        requests, target, how = _side_by_side(state, baseline_config, model_name)
    else:
        config_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id)
        requests = [target_config(state.policy, baseline, baseline_config, model_name, config_name)]
        guardrails = isinstance(strategy, BlueGreen) and baseline.exists
        target = Target(
            model_name=model_name, config_name=config_name, creates_endpoint=not baseline.exists, guardrails=guardrails
        )
        how = f"created model {model_name} and endpoint config {config_name}"
    tags = resource_tags(state.rollout_id, state.endpoint_name)
    sagemaker.ensure_model(model_name, package.arn, settings.execution_role_arn, tags)
    for request in requests:
        sagemaker.ensure_endpoint_config(request, tags)
    state.target = target
    if side_by_side and target.variant_name:
        state.service_alarms = cloudwatch.put_variant_alarms(
            names.alarm_prefix(state.rollout_id), endpoint, target.variant_name, state.judging, tags
        )
    state.message = how + (f"; alarms {', '.join(state.service_alarms)}" if state.service_alarms else "")
    change = transition(state, Prepared())  # start, or wait at the start gate (gates.confirm_before_start)
    apply(state, change, clock.now())
    announce_transition(state, change, settings)
    return state


def _side_by_side(
    state: RolloutState, baseline_config: ConfigRequest, model_name: str
) -> tuple[list[ConfigRequest], Target, str]:
    """The new model beside the live one: as a variant at weight 0 (traffic shifting, A/B) or as the live
    variant's shadow; and the config with the new model alone, for a promotion (in a variant named after the
    largest baseline variant, so users' alarms and clients keep working)."""
    endpoint, package, policy = state.endpoint_name, state.package, state.policy
    baseline = state.require_baseline()
    variant = names.variant_name(package.version, state.rollout_id)
    side_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id, "s")
    promote_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id, "p")
    strategy = policy.strategy
    if isinstance(strategy, Shadow):
        side = shadow_config(policy, strategy, baseline, baseline_config, model_name, variant, side_name)
        how = f"variant {variant} as the shadow of {baseline.variants[0].name}, {strategy.sampling_percent}% copied"
    else:
        side = shift_config(policy, baseline, baseline_config, model_name, variant, side_name)
        how = f"variant {variant} at weight 0 beside the live variants"
    promoted = promote_config(policy, baseline, without_shadows(baseline_config), model_name, promote_name)
    promoted_variant = promoted["ProductionVariants"][0]["VariantName"]
    target = Target(
        model_name=model_name,
        config_name=promote_name,
        creates_endpoint=False,
        variant_name=variant,
        shift_config_name=side_name,
        shadow=isinstance(strategy, Shadow),
        promoted_variant=promoted_variant,
    )
    said = (
        f"created model {model_name}, config {side_name} ({how}) and config {promote_name} (the new model alone, "
        f"as variant {promoted_variant})"
    )
    return [side, promoted], target, said
