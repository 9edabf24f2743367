"""The rollout events: their kinds (the EventBridge detail-type) and the ``detail`` every event carries.

Events: source ``sagemaker-rollout``, detail-type one of ``EventKind``, detail as built by ``event_detail`` (see
README "Being told"). Pure: ``rollout.notifications.announcing`` sends them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from rollout.models.progress import RolloutState

SOURCE = "sagemaker-rollout"


class EventKind(StrEnum):
    STARTED = "Rollout Started"
    STEP_SHIFTED = "Rollout Step Shifted"
    VERIFIED = "Rollout Variant Verified"
    STEP_VERDICT = "Rollout Step Verdict"
    WAITING_FOR_APPROVAL = "Rollout Waiting For Approval"
    APPROVED = "Rollout Gate Approved"
    PROMOTED = "Rollout Promoted"
    EXPERIMENT_CONCLUDED = "Rollout Experiment Concluded"
    SUCCEEDED = "Rollout Succeeded"
    ROLLED_BACK = "Rollout Rolled Back"
    FAILED = "Rollout Failed"
    REJECTED = "Rollout Rejected"
    SUPERSEDED = "Rollout Superseded"
    ABORTED = "Rollout Aborted"
    NEEDS_ATTENTION = "Rollout Needs Attention"
    WAITING_FOR_RELEASE = "Rollout Waiting For Release"


def event_detail(state: RolloutState, kind: EventKind, now: datetime, **extra: Any) -> dict[str, Any]:
    """The ``detail`` of a rollout event: who, what, where, and the step when there is one."""
    step = state.steps[state.step_index] if state.steps and state.step_index < len(state.steps) else None
    detail: dict[str, Any] = {
        "event": kind.value,
        "rollout_id": state.rollout_id,
        "execution_arn": state.execution_arn,
        "endpoint_name": state.endpoint_name,
        "model_package_arn": state.package.arn,
        "model_package_group": state.package.group_name,
        "model_package_version": state.package.version,
        "strategy": state.policy.strategy.type,
        "step": state.step_index + 1 if step else None,
        "steps": len(state.steps) or None,
        "weight_percent": step.weight_percent if step else None,
        "reason": state.reason,
        "time": now.isoformat(),
    }
    if state.leftovers:  # what Clean Up could not delete (the next rollout of the endpoint tries again)
        detail["leftovers"] = list(state.leftovers)
    detail.update(extra)
    return detail
