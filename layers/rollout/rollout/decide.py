"""Pure decisions: given what the endpoint looks like now, what happens next.

No AWS, no clock: every function takes the observation and ``now`` and returns a decision with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rollout.errors import is_rejection
from rollout.models import EndpointSnapshot, Outcome, Phase, RolloutState, TaskError

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


class Progress(StrEnum):
    WAIT = "wait"
    DEPLOYED = "deployed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    NOT_SERVING_TARGET = "not_serving_target"


@dataclass(frozen=True)
class ProgressDecision:
    progress: Progress
    reason: str


def deployment_progress(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> ProgressDecision:
    """Judge an update (or creation) in flight: keep waiting, done, or why it failed."""
    target = state.target
    assert target is not None, "deployment_progress needs a prepared target"
    name = observed.name
    started = state.update_started_at or state.started_at
    elapsed = (now - started).total_seconds()
    if not observed.exists:
        return ProgressDecision(Progress.FAILED, f"endpoint {name} disappeared during the update")
    status = observed.status or "unknown"
    if status in TRANSITIONAL:
        if elapsed > state.policy.update_timeout_seconds:
            return ProgressDecision(
                Progress.TIMED_OUT,
                f"endpoint {name} still {status} after {int(elapsed)} s "
                f"(update_timeout_seconds={state.policy.update_timeout_seconds})",
            )
        return ProgressDecision(Progress.WAIT, f"endpoint {name} is {status} ({int(elapsed)} s)")
    if status == "InService":
        if observed.config_name == target.config_name:
            wrong = [v.name for v in observed.variants if v.model_name != target.model_name]
            if wrong:
                return ProgressDecision(
                    Progress.NOT_SERVING_TARGET,
                    f"endpoint {name} is on {target.config_name} but variant(s) {', '.join(wrong)} "
                    f"do not serve model {target.model_name}",
                )
            return ProgressDecision(Progress.DEPLOYED, f"endpoint {name} is InService on {target.config_name}")
        why = observed.failure_reason or "SageMaker gave no FailureReason"
        if observed.config_name == state.require_baseline().config_name:
            return ProgressDecision(
                Progress.FAILED, f"update of {name} failed and SageMaker kept {observed.config_name}: {why}"
            )
        return ProgressDecision(
            Progress.NOT_SERVING_TARGET,
            f"endpoint {name} is InService on {observed.config_name}, not {target.config_name}: {why}",
        )
    why = observed.failure_reason or "SageMaker gave no FailureReason"
    return ProgressDecision(Progress.FAILED, f"endpoint {name} is {status}: {why}")


class RollbackAction(StrEnum):
    DONE = "done"
    WAIT = "wait"
    UPDATE_TO_BASELINE = "update_to_baseline"
    DELETE = "delete"
    RECREATE_BASELINE = "recreate_baseline"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RollbackDecision:
    action: RollbackAction
    reason: str


def rollback_action(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> RollbackDecision:
    """The next move that brings the endpoint back to exactly its pre-rollout configuration.

    Judged from the endpoint as observed, never from what the state believes was done: a step that died
    after its SageMaker call but before returning leaves the state behind the endpoint.
    """
    name = observed.name
    if state.baseline is None:
        return RollbackDecision(RollbackAction.DONE, f"endpoint {name} was never looked at, let alone changed")
    baseline = state.baseline
    started = state.rollback_started_at or now
    elapsed = (now - started).total_seconds()
    status = observed.status or "unknown"
    if observed.exists and status in TRANSITIONAL:
        if elapsed > state.policy.update_timeout_seconds:
            return RollbackDecision(
                RollbackAction.GIVE_UP, f"endpoint {name} still {status} {int(elapsed)} s into the rollback"
            )
        return RollbackDecision(RollbackAction.WAIT, f"endpoint {name} is {status}; waiting to roll back")
    if not baseline.exists:
        if not observed.exists:
            return RollbackDecision(RollbackAction.DONE, f"endpoint {name} does not exist, as before the rollout")
        return RollbackDecision(RollbackAction.DELETE, f"deleting endpoint {name}, which this rollout created")
    if not observed.exists:
        return RollbackDecision(
            RollbackAction.RECREATE_BASELINE, f"recreating {name} on its previous config {baseline.config_name}"
        )
    if status == "InService":
        if observed.config_name == baseline.config_name and observed.pending_config_name in (
            None,
            baseline.config_name,
        ):
            return RollbackDecision(RollbackAction.DONE, f"endpoint {name} is on {baseline.config_name}")
        return RollbackDecision(RollbackAction.UPDATE_TO_BASELINE, f"updating {name} back to {baseline.config_name}")
    return RollbackDecision(
        RollbackAction.DELETE,
        f"endpoint {name} is {status} and cannot be updated; deleting it to recreate it on {baseline.config_name}",
    )


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


def final_outcome(state: RolloutState) -> Outcome:
    """The outcome a finished rollout reports."""
    if state.outcome is not None:
        return state.outcome
    if state.error is not None and is_rejection(state.error.Error) and not state.touched:
        return Outcome.REJECTED
    if state.phase is Phase.DEPLOYED:
        return Outcome.SUCCEEDED
    if state.phase is Phase.ROLLED_BACK and state.touched:
        return Outcome.ROLLED_BACK
    return Outcome.FAILED
