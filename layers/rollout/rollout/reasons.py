"""Why a rollout rolled back or stopped, in one room: every sentence the record's ``reason``, the outcome event, the
SNS message, ``rollout status`` and the dashboard widget show for a failure is built here, from what a step observed.
Pure: no AWS, no clock.

A caught Step Functions error carries its message as JSON in ``Cause`` (a Lambda error); ``failure_reason`` turns it
into a person's sentence, ``rollback_reason`` is what a rollout that is rolling back (or stopped) says about why.
The health verdicts themselves (which check failed, by how much) are ``rollout.analysis``'s; here they become the
reason a rollback gives.
"""

from __future__ import annotations

import json
from datetime import datetime

from rollout.models.endpoint import EndpointSnapshot
from rollout.models.progress import RolloutState, TaskError


def failure_reason(error: TaskError | None) -> str:
    """A person's sentence from a caught Step Functions error (Lambda errors carry JSON in Cause)."""
    if error is None:
        return "unknown failure"
    try:
        cause = json.loads(error.Cause or "")
    except json.JSONDecodeError:
        cause = None
    if isinstance(cause, dict) and cause.get("errorMessage"):
        return f"{error.Error}: {cause['errorMessage']}"
    return f"{error.Error}: {error.Cause}" if error.Cause else error.Error


def error_message(error: TaskError) -> str:
    """The message of a caught error without its name (a Lambda error carries it as JSON in Cause)."""
    said = failure_reason(error)
    return said.split(": ", 1)[1] if said.startswith(f"{error.Error}: ") else said


def rollback_reason(state: RolloutState) -> str:
    """Why this rollout is rolling back (or stopped): the reason it recorded, else the error that sent it there."""
    return state.reason or failure_reason(state.error)


def check_failed(label: str, reason: str) -> str:
    """A health check of the step ``label`` rolled the rollout back."""
    return f"{label} failed: {reason}"


def check_failed_at_gate(label: str, gate: str, reason: str) -> str:
    """A health check failed while the rollout waited for a person (a gate never blocks a rollback)."""
    return f"{label} failed while waiting at gate '{gate}': {reason}"


def alarm_in_flight(name: str, at: datetime, reason: str, during: str) -> str:
    """A watched alarm went to ALARM while the rollout's own change was in flight (``during``: the update, a traffic
    shift, the promotion)."""
    return f"alarm {name} went to ALARM at {at.isoformat()} during {during} ({reason})"


def metrics_unavailable(label: str, said: str, errors: int, limit: int) -> str:
    """Too many checks in a row could not read the alarms, metrics or endpoint: the model cannot be judged."""
    return (
        f"{label}: {said}, {errors} checks in a row (consecutive_error_limit={limit}); "
        "the rollout cannot judge the new model"
    )


def guardrail_rollback(
    endpoint: str,
    config: str | None,
    elapsed: int,
    failure: str | None,
    fired: tuple[str, int, str] | None,
    timeout_seconds: int,
) -> str:
    """Why SageMaker's guardrails rolled an update back: the auto-rollback alarm that went to ALARM (its name, how many
    seconds into the deployment, its reason), else the execution timeout, else what DescribeEndpoint says."""
    said = f"SageMaker's deployment guardrails rolled {endpoint} back to {config} after {elapsed} s"
    if failure:
        said += f" (FailureReason: {failure})"
    if fired is not None:
        name, seconds_in, reason = fired
        return f"{said}: alarm {name} went to ALARM {seconds_in} s in ({reason})"
    if elapsed >= timeout_seconds:
        return f"{said}: the deployment ran past max_execution_timeout_seconds={timeout_seconds}"
    return f"{said}: no auto-rollback alarm went to ALARM in that time"


def stopped(kind: str, said: str, state: RolloutState) -> tuple[str, str]:
    """The rollout stops and leaves the endpoint as it is: the error's name and cause, and the record's reason. A
    drift names what changed first, then what the rollout did; otherwise what the rollout was rolling back for
    follows; the rollback's last AWS error, if any, ends it."""
    said = said if said.endswith(".") else f"{said}."
    if state.error is not None and state.error.Error == "DriftError":  # what changed, then what the rollout did
        kind, cause = "DriftError", f"{error_message(state.error)}; {said}"
    else:
        cause = f"{said} The rollout was rolling back because: {state.reason}" if state.reason else said
    if state.rollback_error:
        cause += f" The last AWS error of the rollback: {state.rollback_error}"
    return kind, cause


def stuck_reason(state: RolloutState, observed: EndpointSnapshot) -> str:
    """Exactly what state an endpoint the rollout must leave alone is in, and what a person can do with it."""
    name, status = observed.name, observed.status or "unknown"
    before = state.baseline.config_name if state.baseline is not None and state.baseline.exists else None
    target = state.target
    ours = sorted({c for c in (target.shift_config_name, target.config_name) if c}) if target else []
    why = observed.failure_reason or "SageMaker gave no FailureReason"
    if status == "UpdateRollbackFailed":
        new = observed.pending_config_name or (target.config_name if target else None)
        mix = f"{before} (before the rollout) and {new} (this rollout's)" if before and new else "old and new configs"
        said = (
            f"endpoint {name} is UpdateRollbackFailed: the update and SageMaker's own automatic rollback both "
            f"failed, and it still serves traffic with a mix of {mix}"
        )
    else:
        said = f"endpoint {name} is {status}, in which SageMaker accepts no update"
    kept = ", ".join([*ours, *([target.model_name] if target else [])])
    said += (
        f" (DescribeEndpoint names {observed.config_name}; FailureReason: {why}). The rollout left it exactly as it "
        f"is: nothing was deleted" + (f" and {kept} are kept" if kept else "") + "."
    )
    if before:
        first = (
            "SageMaker's 'Rolling deployments' guide tells how to bring it back to InService"
            if status == "UpdateRollbackFailed"
            else "wait until SageMaker reports it InService again"
        )
        said += (
            f" To restore it: {first}, then update it to {before} (aws sagemaker update-endpoint --endpoint-name "
            f"{name} --endpoint-config-name {before})."
        )
    return said
