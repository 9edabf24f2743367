"""Snapshot Endpoint: with the lock held, record the endpoint as it is before the rollout touches it.

This is the rollback target. It is taken after the lock, not before, so a rollout queued behind another
sees the endpoint its predecessor left, not the one it was updating.
"""

from __future__ import annotations

from rollout import plan
from rollout.aws import autoscaling, cloudwatch, sagemaker
from rollout.errors import AlarmNotFoundError, EndpointNotInServiceError, UnsupportedEndpointError
from rollout.models import Phase, RolloutState


def snapshot_endpoint(state: RolloutState) -> RolloutState:
    baseline = sagemaker.snapshot(state.endpoint_name)
    if baseline.exists and baseline.status != "InService":
        raise EndpointNotInServiceError(
            f"endpoint {baseline.name} is {baseline.status}, not InService: SageMaker accepts updates only "
            "while InService"
        )
    refusal = plan.endpoint_refusal(state.policy.strategy, baseline)
    if refusal:
        raise UnsupportedEndpointError(f"strategy {state.policy.strategy.type}: {refusal}")
    for field, alarms in (
        ("analysis.alarms", state.policy.analysis.alarms),
        ("strategy.auto_rollback_alarms", state.policy.rollback_alarms),
    ):
        missing = sorted(set(alarms) - set(cloudwatch.alarm_states(alarms))) if alarms else []
        if missing:
            raise AlarmNotFoundError(f"policy field '{field}' names alarm(s) that do not exist: {', '.join(missing)}")
    if baseline.exists:
        scaling = autoscaling.variant_scaling(baseline.name, [v.name for v in baseline.variants])
        baseline = baseline.model_copy(update={"scaling": tuple(scaling)})
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
