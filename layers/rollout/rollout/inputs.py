"""Parsing the execution input at the edge: an approval event as EventBridge delivers it, or a manual start.

Both become one ``RolloutRequest``; nothing deeper in the code looks at the raw input. The approval event is parsed
with Powertools' Parser (``rollout.eventbridge``), loaded only when an event-started execution needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout.errors import MalformedEventError, PackageNotApprovedError
from rollout.models.base import SAGEMAKER_NAME
from rollout.models.request import MODEL_PACKAGE_ARN, MODEL_PACKAGE_ARN_MAX, RolloutRequest, StartSource


class ManualStart(BaseModel):
    """The documented manual input: ``{"model_package_arn", "endpoint_name", "policy"}``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN, max_length=MODEL_PACKAGE_ARN_MAX)
    endpoint_name: str | None = Field(default=None, pattern=SAGEMAKER_NAME)
    policy: dict[str, object] | None = None
    allow_downgrade: bool = False
    requested_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=600,
        description="set by the steering function's retry and undo only (Resolve Rollout checks its durable request)",
    )


def parse_start_input(raw: object) -> RolloutRequest:
    """Turn the execution input into a request, or raise MalformedEventError saying what is wrong."""
    if not isinstance(raw, Mapping):
        raise MalformedEventError(f"execution input must be a JSON object, got {type(raw).__name__}")
    if "detail-type" in raw or "detail" in raw:
        return _from_event(raw)
    if "model_package_arn" in raw:
        return _from_manual(raw)
    raise MalformedEventError(
        "execution input is neither a 'SageMaker Model Package State Change' event nor a manual start "
        "({'model_package_arn': ..., 'endpoint_name': ..., 'policy': {...}}); keys seen: "
        + (", ".join(sorted(str(k) for k in raw)) or "none")
    )


def _from_event(raw: Mapping[str, object]) -> RolloutRequest:
    if "requested_by" in raw:  # who asked is what the steering API authenticated, never what an event says
        raise MalformedEventError("an approval event cannot name a requester (requested_by)")
    from rollout.eventbridge import ApprovalEvent, parse_event  # the Parser: loaded only where an event arrives

    event = parse_event(raw, ApprovalEvent, "approval event is malformed")
    if event.detail.ModelApprovalStatus != "Approved":
        raise PackageNotApprovedError(
            f"event says model package {event.detail.ModelPackageArn} is "
            f"{event.detail.ModelApprovalStatus}, not Approved"
        )
    return RolloutRequest(
        model_package_arn=event.detail.ModelPackageArn,
        source=StartSource.EVENT,
        event_id=event.id,
        approved_at=event.detail.LastModifiedTime or event.time,
    )


def _from_manual(raw: Mapping[str, object]) -> RolloutRequest:
    try:
        start = ManualStart.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEventError("manual start input is malformed: " + summarize(exc)) from None
    return RolloutRequest(
        model_package_arn=start.model_package_arn,
        source=StartSource.MANUAL,
        endpoint_name=start.endpoint_name,
        policy_override=start.policy,
        allow_downgrade=start.allow_downgrade,
        requested_by=start.requested_by,
    )


def summarize(exc: ValidationError) -> str:
    """A validation error on one line: each mismatch as ``field.path: message``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(input)'}: {e['msg']}" for e in exc.errors())


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as Step Functions writes it ($$.Execution.StartTime), or None."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
