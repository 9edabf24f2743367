"""SNS: the short human message about a rollout's outcome."""

from __future__ import annotations

from rollout.aws.clients import client, translated


def publish(topic_arn: str, subject: str, message: str) -> None:
    if not topic_arn:
        return
    with translated("sns:Publish"):
        client("sns").publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)
