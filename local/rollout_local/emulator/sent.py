"""What the emulated account sent out, as a subscriber would have received it: the messages published to an SNS
topic. Tests read them here, never in moto's stores (how moto keeps them is moto's business, and may change)."""

from __future__ import annotations


def published(topic_arn: str) -> list[str]:
    """Every message published to ``topic_arn``, oldest first (the topic's account and region from its ARN)."""
    from moto.sns.models import sns_backends

    _arn, _partition, _service, region, account, _name = topic_arn.split(":", 5)
    topic = sns_backends[account][region].topics[topic_arn]
    return [str(message) for _id, message, *_ in topic.sent_notifications]
