"""Record Outcome and Record Rejection: the rollout record and the notification, at the end of every path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollout import clock
from rollout.aws import registry, ssm, table
from rollout.config import Settings
from rollout.decide import final_outcome
from rollout.errors import RolloutError
from rollout.inputs import parse_start_input, parse_time
from rollout.models.progress import Outcome, RolloutState, TaskError
from rollout.notifications.announcing import announce, publish, retry_unsent
from rollout.notifications.kinds import EventKind
from rollout.policy import merge_layers, standard_layers
from rollout.reasons import failure_reason
from rollout.records import record_fields
from rollout.transition import Recorded, apply, transition

UNKNOWN_ENDPOINT = "-"
OUTCOME_EVENTS = {
    Outcome.SUCCEEDED: EventKind.SUCCEEDED,
    Outcome.ROLLED_BACK: EventKind.ROLLED_BACK,
    Outcome.FAILED: EventKind.FAILED,
    Outcome.REJECTED: EventKind.REJECTED,
    Outcome.SUPERSEDED: EventKind.SUPERSEDED,
    Outcome.NEEDS_ATTENTION: EventKind.NEEDS_ATTENTION,
}


# What rejects the package (policy on_rollback reject_package): the new model failed a health check while it
# served - the policy's alarms, the built-in checks, a shadow's comparison, SageMaker's guardrails. Never an AWS error,
# a lost A/B test, a person's abort, a revoked approval, a timeout or metrics that could not be read.
HEALTH_FAILURES = frozenset({"HealthCheckFailedError", "GuardrailRollbackError"})


def record_outcome(state: RolloutState, settings: Settings) -> RolloutState:
    """Settle the outcome and reason, tell the world (best effort), write the record."""
    outcome = final_outcome(state)
    state.outcome = outcome
    stopped = state.error is not None and state.error.Error in ("RollbackFailedError", "DriftError")
    if outcome is not Outcome.SUCCEEDED and (state.reason is None or stopped):
        state.reason = failure_reason(state.error)  # a stopped rollout's error tells the endpoint's state
    if outcome is Outcome.SUCCEEDED:
        state.reason = (
            state.reason or f"endpoint {state.endpoint_name} serves {state.target.model_name if state.target else '?'}"
        )
    unhealthy = state.error is not None and state.error.Error in HEALTH_FAILURES
    if outcome is Outcome.ROLLED_BACK and state.policy.on_rollback == "reject_package" and unhealthy:
        registry.reject_package(state.package.arn, f"rolled back by rollout {state.rollout_id}: {state.reason}")
    kind = OUTCOME_EVENTS.get(outcome)
    if outcome is Outcome.ROLLED_BACK and state.error is not None and state.error.Error == "AbortedError":
        kind = EventKind.ABORTED
    if kind is not None:
        announce(state, kind, settings)
    else:
        retry_unsent(state, settings)
    fields = record_fields(state, outcome.value)
    fields["finished_at"] = clock.now().isoformat()
    if state.announcements_failed:
        fields["announcements_failed"] = str(state.announcements_failed)
        fields["announcements_unsent"] = str(len(state.unsent))
    table.put_record(settings.table_name, state.endpoint_name, state.started_at, state.rollout_id, fields)
    apply(state, transition(state, Recorded()), clock.now())
    state.message = f"{outcome.value}: {state.reason}"
    if state.announcements_failed:
        state.message += f" ({state.announcements_failed} announcement(s) failed, {len(state.unsent)} never sent)"
    return state


def record_rejection(payload: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Record a rollout refused before it began (bad input, bad policy, package or endpoint checks).

    ``payload`` is ``{"input": <the execution input, any JSON>, "error": <the caught error>, ...}``. The record goes
    under the endpoint whenever it can be known - from the input, or from the policy the package's group has -
    so ``rollout history ENDPOINT`` shows it."""
    raw = payload.get("input")
    caught = payload.get("error")
    error = TaskError.model_validate(caught) if isinstance(caught, Mapping) else TaskError(Error="Unknown")
    reason = failure_reason(error)
    execution_arn = str(payload.get("execution_arn") or "")
    rollout_id = execution_arn.rsplit(":", 1)[-1] or "unknown"
    endpoint, package_arn = _identify(raw, settings)
    started_at = parse_time(payload.get("started_at")) or clock.now()
    table.put_record(
        settings.table_name,
        endpoint,
        started_at,
        rollout_id,
        {
            "outcome": Outcome.REJECTED.value,
            "reason": reason,
            "package_arn": package_arn,
            "execution_arn": execution_arn,
            "started_at": started_at.isoformat(),
            "finished_at": clock.now().isoformat(),
        },
    )
    publish(
        settings,
        {
            "event": EventKind.REJECTED.value,
            "rollout_id": rollout_id,
            "execution_arn": execution_arn,
            "endpoint_name": endpoint,
            "model_package_arn": package_arn,
            "model_package_group": _group_of(package_arn),
            "model_package_version": _version_of(package_arn),
            "strategy": None,
            "step": None,
            "steps": None,
            "weight_percent": None,
            "reason": reason,
            "time": clock.now().isoformat(),
        },
    )
    return {"outcome": Outcome.REJECTED.value, "reason": reason, "error": error.Error, "rollout_id": rollout_id}


def _identify(raw: object, settings: Settings) -> tuple[str, str | None]:
    """Best-effort endpoint and package of a rejected input, for the record's key: the endpoint the input names when
    its group may deploy there, else the endpoint the group's operator policy names (stack defaults and the SSM
    parameter, even if the policy is otherwise invalid). An input never files a record under another group's
    endpoint."""
    claimed: object = None
    if isinstance(raw, Mapping) and isinstance(raw.get("continue"), Mapping):
        state = raw["continue"]
        policy = state.get("policy") if isinstance(state.get("policy"), Mapping) else {}
        package = state.get("package") if isinstance(state.get("package"), Mapping) else {}
        claimed, package_arn = policy.get("endpoint_name"), package.get("arn")
        group = package.get("group_name") if isinstance(package.get("group_name"), str) else _group_of(package_arn)
    else:
        try:
            request = parse_start_input(raw)
        except RolloutError:
            return UNKNOWN_ENDPOINT, _package_from_raw(raw)
        claimed, package_arn = request.endpoint_name, request.model_package_arn
        detail = raw.get("detail") if isinstance(raw, Mapping) else None
        named = detail.get("ModelPackageGroupName") if isinstance(detail, Mapping) else None
        group = named if isinstance(named, str) and named else _group_of(request.model_package_arn)
    package_ref = package_arn if isinstance(package_arn, str) else None
    if not isinstance(group, str) or not group:
        return UNKNOWN_ENDPOINT, package_ref
    bound, endpoint = _binding(group, settings)
    if isinstance(claimed, str) and claimed in bound:
        return claimed, package_ref
    return endpoint or UNKNOWN_ENDPOINT, package_ref


def _binding(group: str, settings: Settings) -> tuple[tuple[str, ...], str | None]:
    """The endpoints the group's operator policy allows, and the one it names (nothing when it is unreadable)."""
    try:
        parameter = settings.policy_parameter_name(group)
        document, _sources = merge_layers(
            standard_layers(settings.default_policy, parameter, ssm.get_parameter(parameter), {})
        )
    except RolloutError:
        return (), None
    named = document.get("endpoint_name")
    endpoint = named if isinstance(named, str) and named else None
    allowed = document.get("allowed_endpoints")
    listed = tuple(e for e in allowed if isinstance(e, str)) if isinstance(allowed, list) else ()
    return listed or ((endpoint,) if endpoint else ()), endpoint


def _group_of(package_arn: str | None) -> str | None:
    parts = (package_arn or "").split(":", 5)[-1].split("/")
    return parts[1] if len(parts) > 2 else None


def _version_of(package_arn: str | None) -> int | None:
    last = (package_arn or "").rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else None


def _package_from_raw(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        detail = raw.get("detail")
        if isinstance(detail, Mapping) and isinstance(detail.get("ModelPackageArn"), str):
            return str(detail["ModelPackageArn"])
        if isinstance(raw.get("model_package_arn"), str):
            return str(raw["model_package_arn"])
    return None
