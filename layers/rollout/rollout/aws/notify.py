"""Telling people and systems: the SNS topic (a short human message) and EventBridge (the documented event)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rollout.aws.clients import client, translated
from rollout.errors import AwsServiceError
from rollout.notifications.kinds import SOURCE
from rollout.notifications.messages import sns_message, sns_subject

if TYPE_CHECKING:  # request shapes checked by mypy (mypy-boto3-sns: dev only, not shipped)
    from mypy_boto3_sns.type_defs import PublishInputTypeDef


def publish(topic_arn: str, subject: str, message: str) -> None:
    """One SNS message; the subject and message are made to fit SNS's rules whatever the caller passes."""
    if not topic_arn:
        return
    request: PublishInputTypeDef = {"TopicArn": topic_arn, "Message": sns_message(message) or "(no message)"}
    fitted = sns_subject(subject)
    if fitted:  # SNS refuses an empty subject: leave it out
        request["Subject"] = fitted
    with translated("sns:Publish"):
        client("sns").publish(**request)


def put_event(bus: str, detail_type: str, detail: dict[str, Any]) -> None:
    """One custom event on ``bus`` (PutEvents reports failures per entry: a failed entry is an error here)."""
    if not bus:
        return
    with translated("events:PutEvents"):
        response = client("events").put_events(
            Entries=[{"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}]
        )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise AwsServiceError(
            f"events:PutEvents refused the {detail_type} event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
        )
