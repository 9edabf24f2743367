"""Snapshot Endpoint: with the lock held, record the endpoint as it is before the rollout touches it.

This is the rollback target. It is taken after the lock, not before, so a rollout queued behind another
sees the endpoint its predecessor left, not the one it was updating.
"""

from __future__ import annotations

from rollout import clock
from rollout.aws import autoscaling, cloudwatch, sagemaker
from rollout.decide import expectation
from rollout.errors import (
    AlarmAlreadyFiringError,
    AlarmNotFoundError,
    AlreadyDeployedError,
    DowngradeError,
    EndpointNotInServiceError,
    PolicyError,
    UnsupportedEndpointError,
)
from rollout.models.endpoint import EndpointSnapshot
from rollout.models.policy import Shadow
from rollout.models.progress import RolloutState
from rollout.models.request import StartSource
from rollout.plan.refusals import LiveFeatures, endpoint_refusal, first_deployment_refusal
from rollout.plan.steps import describe_plan, plan_steps
from rollout.transition import Baselined, apply, transition


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
    refusal = endpoint_refusal(strategy, baseline, state.policy.capacity, features)
    if refusal:  # before Prepare Target creates anything
        raise UnsupportedEndpointError(f"strategy {strategy.type}: {refusal}")
    first = first_deployment_refusal(state.policy) if not baseline.exists else None
    if first:
        raise PolicyError(f"invalid rollout policy: {first}")
    watched = sorted({*state.policy.analysis.alarms, *state.policy.rollback_alarms})
    details = cloudwatch.alarm_details(watched) if watched else {}
    for field, alarms in (
        ("analysis.alarms", state.policy.analysis.alarms),
        ("strategy.auto_rollback_alarms", state.policy.rollback_alarms),
    ):
        missing = sorted(set(alarms) - set(details))
        if missing:
            raise AlarmNotFoundError(f"policy field '{field}' names alarm(s) that do not exist: {', '.join(missing)}")
    firing = {name: reason for name, (value, reason) in details.items() if value == "ALARM"}
    if firing:
        preflight(state, firing)
    if baseline.exists:
        refuse_downgrade(state, baseline)
    state.baseline = baseline
    state.expected = expectation(state, baseline) if baseline.exists else None
    state.alarms_seen_until = clock.now()  # any watched alarm that goes to ALARM from here on fails the rollout
    state.steps = plan_steps(state.policy.strategy, baseline.exists)
    state.poll_seconds = state.policy.poll_interval_seconds
    apply(state, transition(state, Baselined()), clock.now())
    if baseline.exists:
        live = ", ".join(f"{v.name}={v.model_name}@{v.weight:g}" for v in baseline.variants)
        steps = describe_plan(state.policy.strategy, state.steps)
        state.message = f"endpoint {baseline.name} is InService on {baseline.config_name} ({live}); plan {steps}"
    else:
        state.message = f"endpoint {baseline.name} does not exist yet: this rollout creates it"
    if state.ignored_alarms:
        state.message += (
            f"; alarm(s) {', '.join(state.ignored_alarms)} already in ALARM are set aside (alarm_at_start: "
            "fix_forward): the new model is judged against the baseline only"
        )
    return state


def preflight(state: RolloutState, firing: dict[str, str]) -> None:
    """Watched alarms already in ALARM before anything is touched: refuse (the package is not rejected: nothing was
    wrong with it yet), or - alarm_at_start fix_forward - set them aside and judge the new model against the baseline
    only. SageMaker's guardrails would roll a blue/green update back at its first shift on a firing auto-rollback
    alarm, so those always refuse."""
    shown = "; ".join(f"{name} ({reason})" if reason else name for name, reason in sorted(firing.items()))
    guarded = sorted(set(firing) & set(state.policy.rollback_alarms))
    endpoint = state.endpoint_name
    if state.policy.analysis.alarm_at_start == "fix_forward" and not guarded:
        state.ignored_alarms = sorted(firing)
        return
    how = (
        f"SageMaker's guardrails would roll the update back at its first shift on {', '.join(guarded)}"
        if guarded and state.policy.analysis.alarm_at_start == "fix_forward"
        else "set analysis.alarm_at_start: fix_forward to roll out a fix judged against the baseline only"
    )
    raise AlarmAlreadyFiringError(
        f"alarm {shown} is already in ALARM before the rollout touched endpoint {endpoint}: refusing to start, so "
        f"the new model is not blamed for an outage it did not cause (nothing was changed). Once the alarm is OK, "
        f"approve again; or {how}"
    )


def package_version(arn: str) -> tuple[str, int] | None:
    """(group, version) from a versioned model package ARN (``model-package/<group>/<version>``), lower case as
    SageMaker writes ARNs."""
    parts = arn.split(":", 5)[-1].split("/")
    if len(parts) == 3 and parts[0] == "model-package" and parts[2].isdigit():
        return parts[1].lower(), int(parts[2])
    return None


def refuse_downgrade(state: RolloutState, baseline: EndpointSnapshot) -> None:
    """No silent downgrades: an approval of a version older than one the endpoint serves is refused (a manual
    start may ask for it with allow_downgrade), and an approval event for the version it already serves alone (a
    lifecycle change of that version) deploys nothing."""
    approved = state.package
    serving = {v.name: sagemaker.model_package_of(v.model_name) for v in baseline.variants}
    same_group = {
        variant: found
        for variant, arn in serving.items()
        if arn and (found := package_version(arn)) and found[0] == approved.group_name.lower()
    }
    newer = {v: version for v, (_, version) in same_group.items() if approved.version and version > approved.version}
    if newer and not state.request.allow_downgrade:
        shown = ", ".join(f"variant {v} serves v{version}" for v, version in sorted(newer.items()))
        raise DowngradeError(
            f"{approved.group_name} v{approved.version} is older than what endpoint {baseline.name} serves ({shown}): "
            "refusing a silent downgrade. To roll back on purpose, start a rollout by hand with "
            '"allow_downgrade": true.'
        )
    only_this = bool(serving) and all(arn == approved.arn for arn in serving.values())
    if only_this and state.request.source is StartSource.EVENT:
        raise AlreadyDeployedError(
            f"endpoint {baseline.name} already serves {approved.group_name} v{approved.version} on every variant: "
            "this approval event deploys nothing (start a rollout by hand to redeploy it)"
        )


def live_features(baseline: EndpointSnapshot) -> LiveFeatures:
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
    return LiveFeatures(
        asynchronous=bool((config or {}).get("AsyncInferenceConfig")),
        multi_container_models=tuple(pipelines),
        multi_model_models=tuple(multi_model),
    )
