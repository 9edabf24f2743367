"""The AWS events this service receives through EventBridge, as Powertools Parser models.

Each model extends Powertools' ``EventBridgeModel`` (the envelope every EventBridge event has: version, id, source,
account, time, region, resources, detail-type) with a typed ``detail`` and names the source and detail-types it
stands for. ``parse_event`` validates an event with the Parser's ``parse`` and checks source and detail-type (a rule
delivers only what its pattern selects, but a person replaying a dead letter may hand any event to any function):
any mismatch is one line of ``MalformedEventError``, raised before anything is read or changed.

Import this module inside the function that parses: the Parser and the envelope model cost a cold start some
milliseconds that only the listeners and an event-started Resolve Rollout need, and only once an event arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, TypeVar

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from rollout.errors import MalformedEventError
from rollout.inputs import summarize
from rollout.models.request import MODEL_PACKAGE_ARN, MODEL_PACKAGE_ARN_MAX

SAGEMAKER = "aws.sagemaker"
PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
ENDPOINT_DEPLOYMENT_STATE_CHANGE = "SageMaker Endpoint Deployment State Change"
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


class ReceivedEvent(EventBridgeModel):
    """An AWS event this service handles: the envelope, and which source and detail-types it must carry."""

    model_config = ConfigDict(defer_build=True)  # built on first use

    SOURCE: ClassVar[str]
    DETAIL_TYPES: ClassVar[frozenset[str]]


Event = TypeVar("Event", bound=ReceivedEvent)


class PackageStateDetail(BaseModel):
    """The detail of ``SageMaker Model Package State Change``: the parts of the package this service reads."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    ModelPackageArn: str = Field(pattern=MODEL_PACKAGE_ARN, max_length=MODEL_PACKAGE_ARN_MAX)
    ModelPackageGroupName: str | None = None
    ModelPackageVersion: int | None = None
    ModelApprovalStatus: str
    LastModifiedTime: datetime | None = Field(default=None, description="epoch milliseconds or ISO 8601")


class ApprovalEvent(ReceivedEvent):
    """A Model Registry state change (an approval starts a rollout, anything else revokes one)."""

    SOURCE = SAGEMAKER
    DETAIL_TYPES = frozenset({PACKAGE_STATE_CHANGE})

    detail: PackageStateDetail


class EndpointDetail(BaseModel):
    """The detail of ``SageMaker Endpoint (Deployment) State Change``: which endpoint, and its status."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    EndpointName: str = Field(min_length=1, max_length=63)
    EndpointStatus: str = ""


class EndpointEvent(ReceivedEvent):
    """``SageMaker Endpoint (Deployment) State Change`` as EventBridge delivers it (delivery may repeat)."""

    SOURCE = SAGEMAKER
    DETAIL_TYPES = frozenset({ENDPOINT_STATE_CHANGE, ENDPOINT_DEPLOYMENT_STATE_CHANGE})

    detail: EndpointDetail


class AlarmState(BaseModel):
    """One state of an alarm in ``CloudWatch Alarm State Change``."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    value: str
    reason: str = ""
    timestamp: str = ""


class AlarmDetail(BaseModel):
    """The detail of ``CloudWatch Alarm State Change``: the alarm and the state it went to."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    alarmName: str
    state: AlarmState


class AlarmEvent(ReceivedEvent):
    """``CloudWatch Alarm State Change`` as EventBridge delivers it (delivery may repeat)."""

    SOURCE = "aws.cloudwatch"
    DETAIL_TYPES = frozenset({ALARM_STATE_CHANGE})

    detail: AlarmDetail


def parse_event(event: object, model: type[Event], malformed: str | None = None) -> Event:
    """``event`` as ``model``, or ``MalformedEventError`` on one line: "<malformed>: <each mismatch by field>" (by
    default "not a <detail-type> event: ..."), or which source and detail-type it has instead of the model's."""
    kinds = " or ".join(sorted(model.DETAIL_TYPES))
    malformed = malformed or f"not a {kinds} event"
    if not isinstance(event, Mapping):
        raise MalformedEventError(f"{malformed}: the event must be a JSON object, got {type(event).__name__}")
    try:
        parsed = parse(event=dict(event), model=model)
    except ValidationError as exc:
        raise MalformedEventError(f"{malformed}: {summarize(exc)}") from None
    if parsed.source != model.SOURCE or parsed.detail_type not in model.DETAIL_TYPES:
        expected = " or ".join(repr(kind) for kind in sorted(model.DETAIL_TYPES))
        raise MalformedEventError(
            f"event {parsed.source!r}/{parsed.detail_type!r} is not a {model.SOURCE!r}/{expected} event"
        )
    return parsed
