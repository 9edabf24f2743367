"""Resolve Rollout: parse the start input, check the package, resolve the policy.

Nothing is changed here; every failure is a RejectedError and the execution ends as "rejected".
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from rollout import clock, continuation
from rollout.aws import registry, ssm, table
from rollout.config import Settings
from rollout.errors import MalformedEventError, PackageNotApprovedError
from rollout.inputs import parse_start_input, parse_time
from rollout.models.progress import RolloutState
from rollout.models.request import ModelPackage, RolloutRequest
from rollout.policy import PolicyLayer, ResolvedPolicy, resolve_policy, standard_layers


def resolve_rollout(payload: Mapping[str, object], settings: Settings) -> RolloutState:
    """``payload`` is ``{"input": <execution input>, "execution_arn": ..., "started_at": ...}``."""
    execution_arn = str(payload.get("execution_arn") or "")
    if not execution_arn:
        raise MalformedEventError("Resolve Rollout needs the execution ARN ($$.Execution.Id) in its payload")
    raw = payload.get("input")
    if isinstance(raw, Mapping) and CONTINUE_KEY in raw:
        return _continued(raw[CONTINUE_KEY], execution_arn, settings)
    request = parse_start_input(raw)
    rollout_id = execution_arn.rsplit(":", 1)[-1]
    if request.requested_by is not None:
        _check_requester(request.requested_by, request.endpoint_name, rollout_id, settings)
    package = registry.describe_model_package(request.model_package_arn)
    if package.approval_status != "Approved":
        raise PackageNotApprovedError(
            f"model package {package.arn} is {package.approval_status}, not Approved: nothing to roll out"
        )
    resolved = resolve_policy(policy_layers(request, package, settings))
    started_at = parse_time(payload.get("started_at")) or clock.now()
    return RolloutState(
        rollout_id=rollout_id,
        execution_arn=execution_arn,
        started_at=started_at,
        request=request,
        package=package,
        policy=resolved.policy,
        message=_summary(resolved, package),
    )


CONTINUE_KEY = "continue"


def _check_requester(claimed: str, endpoint: str | None, rollout_id: str, settings: Settings) -> None:
    """A requester is believed only when the steering function recorded the same person starting this rollout
    (its durable ``start`` request under this execution's name): any other input claiming one is refused."""
    recorded = table.request_by(settings.table_name, endpoint, rollout_id, "start") if endpoint else None
    if recorded != claimed:
        raise MalformedEventError(
            "requested_by is set only by the steering API's retry and undo, and no such request of "
            f"{endpoint or '(no endpoint_name)'} started rollout {rollout_id}: refused"
        )


def _continued(raw: object, execution_arn: str, settings: Settings) -> RolloutState:
    """A rollout going on in a fresh execution (see rollout.continuation): its state, checked. A rollout that
    holds its endpoint continues only while it still holds it, so no forged input can skip the lock."""
    try:
        state = RolloutState.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEventError(f"continuation input is not a rollout state: {exc.errors()[0]['msg']}") from None
    if state.resume_at is None:
        raise MalformedEventError("continuation input says no loop to resume at (resume_at)")
    endpoint = state.endpoint_name
    if state.resume_at == "lock":  # still queued: keep the place in line under the new execution
        table.move_queue_entry(settings.table_name, endpoint, state.rollout_id, execution_arn)
    elif not table.move_lock(
        settings.table_name, endpoint, state.rollout_id, execution_arn, clock.now(), settings.lock_lease_seconds
    ):
        raise MalformedEventError(
            f"continuation of rollout {state.rollout_id} refused: it does not hold the lock of endpoint {endpoint}"
        )
    return continuation.resumed(state, execution_arn)


def policy_layers(request: RolloutRequest, package: ModelPackage, settings: Settings) -> list[PolicyLayer]:
    """The policy's sources for this rollout, fetched (the group's SSM parameter) and in resolution order."""
    parameter = settings.policy_parameter_name(package.group_name)
    return standard_layers(
        settings.default_policy,
        parameter,
        ssm.get_parameter(parameter),
        package.metadata,
        request.policy_override,
        request.endpoint_name,
    )


def _summary(resolved: ResolvedPolicy, package: ModelPackage) -> str:
    policy = resolved.policy
    return (
        f"{policy.strategy.type} rollout of {package.group_name} v{package.version} to endpoint "
        f"{policy.endpoint_name} (policy from {', '.join(sorted(set(resolved.sources.values())))})"
    )
