"""Parsing the execution input at the edge: an approval event as EventBridge delivers it, or a manual start.

Both become one ``RolloutRequest``; nothing deeper in the code looks at the raw input.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout.errors import MalformedEventError, PackageNotApprovedError
from rollout.models.base import SAGEMAKER_NAME
from rollout.models.request import MODEL_PACKAGE_ARN, RolloutRequest, StartSource

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"


class PackageStateDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    ModelPackageArn: str = Field(pattern=MODEL_PACKAGE_ARN)
    ModelPackageGroupName: str | None = None
    ModelPackageVersion: int | None = None
    ModelApprovalStatus: str
    LastModifiedTime: datetime | None = Field(default=None, description="epoch milliseconds or ISO 8601")


class ApprovalEvent(BaseModel):
    """The EventBridge envelope of a Model Registry state change."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)  # built on first use

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime | None = None
    detail: PackageStateDetail


class ManualStart(BaseModel):
    """The documented manual input: ``{"model_package_arn", "endpoint_name", "policy"}``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN)
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
    try:
        event = ApprovalEvent.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEventError("approval event is malformed: " + _summarize(exc)) from None
    if event.source != EVENT_SOURCE or event.detail_type != EVENT_DETAIL_TYPE:
        raise MalformedEventError(
            f"event {event.source!r}/{event.detail_type!r} is not a {EVENT_SOURCE!r}/{EVENT_DETAIL_TYPE!r} event"
        )
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
        raise MalformedEventError("manual start input is malformed: " + _summarize(exc)) from None
    return RolloutRequest(
        model_package_arn=start.model_package_arn,
        source=StartSource.MANUAL,
        endpoint_name=start.endpoint_name,
        policy_override=start.policy,
        allow_downgrade=start.allow_downgrade,
        requested_by=start.requested_by,
    )


def _summarize(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(input)'}: {e['msg']}" for e in exc.errors())


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as Step Functions writes it ($$.Execution.StartTime), or None."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
