"""Snapshot Endpoint: with the lock held, record the endpoint as it is before the rollout touches it.

This is the rollback target. It is taken after the lock, not before, so a rollout queued behind another
sees the endpoint its predecessor left, not the one it was updating.
"""

from __future__ import annotations

from rollout import plan
from rollout.aws import autoscaling, cloudwatch, sagemaker
from rollout.errors import AlarmNotFoundError, EndpointNotInServiceError, UnsupportedEndpointError
from rollout.models import EndpointSnapshot, Phase, RolloutState, Shadow


def snapshot_endpoint(state: RolloutState) -> RolloutState:
    baseline = sagemaker.snapshot(state.endpoint_name)
    if baseline.exists and baseline.status != "InService":
        raise EndpointNotInServiceError(
            f"endpoint {baseline.name} is {baseline.status}, not InService: SageMaker accepts updates only "
            "while InService"
        )
    strategy = state.policy.strategy
    if baseline.exists:
        scaling = autoscaling.variant_scaling(baseline.name, [v.name for v in baseline.variants])
        baseline = baseline.model_copy(update={"scaling": tuple(scaling)})
    features = live_features(baseline) if isinstance(strategy, Shadow) and baseline.exists else None
    refusal = plan.endpoint_refusal(strategy, baseline, state.policy.capacity, features)
    if refusal:  # before Prepare Target creates anything
        raise UnsupportedEndpointError(f"strategy {strategy.type}: {refusal}")
    for field, alarms in (
        ("analysis.alarms", state.policy.analysis.alarms),
        ("strategy.auto_rollback_alarms", state.policy.rollback_alarms),
    ):
        missing = sorted(set(alarms) - set(cloudwatch.alarm_states(alarms))) if alarms else []
        if missing:
            raise AlarmNotFoundError(f"policy field '{field}' names alarm(s) that do not exist: {', '.join(missing)}")
    state.baseline = baseline
    state.steps = plan.plan_steps(state.policy.strategy, baseline.exists)
    state.poll_seconds = state.policy.poll_interval_seconds
    state.phase = Phase.BASELINED
    if baseline.exists:
        live = ", ".join(f"{v.name}={v.model_name}@{v.weight:g}" for v in baseline.variants)
        steps = " -> ".join(f"{s.weight_percent:g}%/{s.bake_seconds}s" for s in state.steps)
        state.message = f"endpoint {baseline.name} is InService on {baseline.config_name} ({live}); plan {steps}"
    else:
        state.message = f"endpoint {baseline.name} does not exist yet: this rollout creates it"
    return state


def live_features(baseline: EndpointSnapshot) -> plan.LiveFeatures:
    """What the live config and its production models use that a shadow test excludes."""
    config = sagemaker.config_request(baseline.config_name) if baseline.config_name else None
    pipelines, multi_model = [], []
    for variant in baseline.variants:
        model = sagemaker.describe_model(variant.model_name) or {}
        containers = model.get("Containers") or ([model["PrimaryContainer"]] if "PrimaryContainer" in model else [])
        if len(containers) > 1:
            pipelines.append(variant.model_name)
        if any(c.get("Mode") == "MultiModel" for c in containers):
            multi_model.append(variant.model_name)
    return plan.LiveFeatures(
        asynchronous=bool((config or {}).get("AsyncInferenceConfig")),
        multi_container_models=tuple(pipelines),
        multi_model_models=tuple(multi_model),
    )
