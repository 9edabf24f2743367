"""Announcing a rollout event: the EventBridge event and the SNS message, from one detail (the boto3 calls are
``rollout.aws.notify``'s: only adapters import boto3).

Announcements are side calls: they never fail a step, and never roll back or reject a model. A channel that fails
(after the SDK's own retries) is counted, and its announcement is kept in the state (at most ``UNSENT_MAX``) and
sent again before the next one - the last chance is Record Outcome, whose record says how many failed.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from rollout import clock
from rollout.aws import notify
from rollout.config import Settings
from rollout.errors import RolloutError
from rollout.models.progress import RolloutState
from rollout.notifications.kinds import EventKind, event_detail
from rollout.notifications.messages import human_message
from rollout.transition import Transition, announcements

UNSENT_MAX = 20  # announcements kept for a retry (the state stays far below Step Functions' 256 KiB)
Channel = Literal["events", "sns"]
CHANNELS: tuple[Channel, ...] = ("events", "sns")
log = logging.getLogger(__name__)


def announce(state: RolloutState, kind: EventKind, settings: Settings, **extra: Any) -> None:
    """Tell both channels, best effort: first what could not be told before, then this event."""
    retry_unsent(state, settings)
    detail = event_detail(state, kind, clock.now(), **extra)
    for channel in CHANNELS:
        if not send(settings, channel, detail):
            state.announcements_failed += 1
            if len(state.unsent) < UNSENT_MAX:
                state.unsent.append({"channel": channel, "detail": detail})


def announce_transition(state: RolloutState, change: Transition, settings: Settings, **extra: Any) -> None:
    """Announce the events a transition names (with the step's ``extra`` detail, e.g. a shift's weights)."""
    for kind, detail in announcements(state, change, **extra):
        announce(state, kind, settings, **detail)


def retry_unsent(state: RolloutState, settings: Settings) -> None:
    """Send again what failed before, oldest first; what fails again stays for the next try."""
    state.unsent = [entry for entry in state.unsent if not send(settings, entry["channel"], entry["detail"])]


def publish(settings: Settings, detail: dict[str, Any]) -> int:
    """Both channels for a detail that has no rollout state (a rejection record); the number that failed."""
    return sum(not send(settings, channel, detail) for channel in CHANNELS)


def send(settings: Settings, channel: Channel, detail: dict[str, Any]) -> bool:
    """One channel, once (the SDK retries inside); False when AWS refused or did not answer."""
    try:
        if channel == "events":
            notify.put_event(settings.event_bus_name, detail["event"], detail)
        else:
            subject, message = human_message(detail)
            notify.publish(settings.topic_arn, subject, message)
    except RolloutError as exc:
        log.warning("could not announce %s on %s: %s", detail.get("event"), channel, exc)
        return False
    return True
