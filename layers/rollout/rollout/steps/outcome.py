"""Record Outcome and Record Rejection: the rollout record and the notification, at the end of every path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollout import clock
from rollout.aws import notify, registry, table
from rollout.config import Settings
from rollout.decide import failure_reason, final_outcome
from rollout.errors import RolloutError
from rollout.inputs import parse_start_input, parse_time
from rollout.models import Outcome, Phase, RolloutState, TaskError
from rollout.steps.lock import record_fields

UNKNOWN_ENDPOINT = "-"


def record_outcome(state: RolloutState, settings: Settings) -> RolloutState:
    """Settle the outcome and reason, write the record, tell the topic."""
    outcome = final_outcome(state)
    state.outcome = outcome
    if outcome is not Outcome.SUCCEEDED and state.reason is None:
        state.reason = failure_reason(state.error)
    if outcome is Outcome.SUCCEEDED:
        state.reason = (
            state.reason or f"endpoint {state.endpoint_name} serves {state.target.model_name if state.target else '?'}"
        )
    if outcome is Outcome.ROLLED_BACK and state.policy.on_rollback == "reject_package":
        registry.reject_package(state.package.arn, f"rolled back by rollout {state.rollout_id}: {state.reason}")
    fields = record_fields(state, outcome.value)
    fields["finished_at"] = clock.now().isoformat()
    table.put_record(settings.table_name, state.endpoint_name, state.started_at, state.rollout_id, fields)
    version = f"{state.package.group_name} v{state.package.version}"
    notify.publish(
        settings.topic_arn,
        f"Rollout {outcome.value}: {version} -> {state.endpoint_name}",
        f"Rollout {state.rollout_id} of {version} to endpoint {state.endpoint_name} "
        f"({state.policy.strategy.type}) {outcome.value.replace('_', ' ')}: {state.reason}",
    )
    state.phase = Phase.FINISHED
    state.message = f"{outcome.value}: {state.reason}"
    return state


def record_rejection(payload: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Record a rollout refused before it began (bad input, bad policy, package or endpoint checks)."""
    raw, error = _split_caught_error(payload.get("input"))
    reason = failure_reason(error)
    execution_arn = str(payload.get("execution_arn") or "")
    rollout_id = execution_arn.rsplit(":", 1)[-1] or "unknown"
    endpoint, package_arn = _identify(raw)
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
    notify.publish(
        settings.topic_arn,
        f"Rollout rejected: {package_arn or 'unknown package'}",
        f"Rollout {rollout_id} of {package_arn or 'an unknown package'} was rejected before touching "
        f"endpoint {endpoint}: {reason}",
    )
    return {"outcome": Outcome.REJECTED.value, "reason": reason, "error": error.Error, "rollout_id": rollout_id}


def _split_caught_error(execution_input: object) -> tuple[object, TaskError]:
    """The execution input as it was, and the error the Catch added to it (``ResultPath: $.error``)."""
    if not isinstance(execution_input, Mapping):
        return execution_input, TaskError(Error="Unknown")
    raw = dict(execution_input)
    caught = raw.pop("error", None)
    return raw, TaskError.model_validate(caught) if isinstance(caught, Mapping) else TaskError(Error="Unknown")


def _identify(raw: object) -> tuple[str, str | None]:
    """Best-effort endpoint and package of a rejected input, for the record's key."""
    try:
        request = parse_start_input(raw)
    except RolloutError:
        return UNKNOWN_ENDPOINT, _package_from_raw(raw)
    return request.endpoint_name or UNKNOWN_ENDPOINT, request.model_package_arn


def _package_from_raw(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        detail = raw.get("detail")
        if isinstance(detail, Mapping) and isinstance(detail.get("ModelPackageArn"), str):
            return str(detail["ModelPackageArn"])
        if isinstance(raw.get("model_package_arn"), str):
            return str(raw["model_package_arn"])
    return None
