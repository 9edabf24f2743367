"""Prepare Target: the SageMaker Model from the package and the EndpointConfig that serves it."""

from __future__ import annotations

from rollout import clock, names, plan
from rollout.aws import cloudwatch, sagemaker
from rollout.config import Settings
from rollout.errors import EndpointConfigNotFoundError
from rollout.models import Phase, RolloutState, Target
from rollout.steps.health import open_gate


def resource_tags(state: RolloutState) -> list[dict[str, str]]:
    """Tags on everything a rollout creates, so people (and IAM conditions) can tell whose it is."""
    return [
        {"Key": "sagemaker-rollout:rollout-id", "Value": state.rollout_id},
        {"Key": "sagemaker-rollout:endpoint", "Value": state.endpoint_name},
    ]


def prepare_target(state: RolloutState, settings: Settings) -> RolloutState:
    endpoint, package = state.endpoint_name, state.package
    model_name = names.model_name(endpoint, package.arn, package.version, state.rollout_id)
    config_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id)
    baseline = state.require_baseline()
    baseline_config = None
    if baseline.exists and baseline.config_name:
        baseline_config = sagemaker.config_request(baseline.config_name)
        if baseline_config is None:
            raise EndpointConfigNotFoundError(
                f"EndpointConfig {baseline.config_name} of {endpoint} disappeared before the rollout began"
            )
    tags = resource_tags(state)
    sagemaker.ensure_model(model_name, package.arn, settings.execution_role_arn, tags)
    if baseline_config is not None and plan.shifts_traffic(state.policy.strategy, baseline.exists):
        variant = names.variant_name(package.version, state.rollout_id)
        shift_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id, "s")
        promote_name = names.endpoint_config_name(endpoint, package.version, state.rollout_id, "p")
        sagemaker.ensure_endpoint_config(
            plan.shift_config(state.policy, baseline, baseline_config, model_name, variant, shift_name), tags
        )
        sagemaker.ensure_endpoint_config(
            plan.promote_config(state.policy, baseline_config, model_name, variant, promote_name), tags
        )
        state.target = Target(
            model_name=model_name,
            config_name=promote_name,
            creates_endpoint=False,
            variant_name=variant,
            shift_config_name=shift_name,
        )
        state.service_alarms = cloudwatch.put_variant_alarms(
            names.alarm_prefix(state.rollout_id), endpoint, variant, state.policy.analysis, tags
        )
        state.message = (
            f"created model {model_name}, config {shift_name} (variant {variant} at weight 0 beside the live "
            f"variants) and config {promote_name} (variant {variant} alone)"
            + (f"; alarms {', '.join(state.service_alarms)}" if state.service_alarms else "")
        )
    else:
        request = plan.target_config(state.policy, baseline, baseline_config, model_name, config_name)
        sagemaker.ensure_endpoint_config(request, tags)
        state.target = Target(model_name=model_name, config_name=config_name, creates_endpoint=not baseline.exists)
        state.message = f"created model {model_name} and endpoint config {config_name}"
    state.phase = Phase.PREPARED
    if state.policy.gates.confirm_before_start:
        return open_gate(state, settings, "before start", "start", clock.now())
    state.next = "start"
    return state
