"""Announcing a rollout event: the EventBridge event and the SNS message, from one detail."""

from __future__ import annotations

from typing import Any

from rollout import clock
from rollout.aws import notify
from rollout.config import Settings
from rollout.models import RolloutState
from rollout.notifications import EventKind, event_detail, human_message


def announce(state: RolloutState, kind: EventKind, settings: Settings, **extra: Any) -> None:
    publish(settings, event_detail(state, kind, clock.now(), **extra))


def publish(settings: Settings, detail: dict[str, Any]) -> None:
    notify.put_event(settings.event_bus_name, detail["event"], detail)
    subject, message = human_message(detail)
    notify.publish(settings.topic_arn, subject, message)
