"""Bake and the alarm listener: a bake is not a blind sleep.

The Bake state is a callback task. ``watch_bake`` registers its task token under every alarm the rollout
watches and returns; the task then waits until the next periodic check (its timeout) - unless an alarm goes
to ALARM first, in which case ``on_alarm`` (triggered by the ``CloudWatch Alarm State Change`` event) fails
the task within seconds and the workflow goes straight to Evaluate Health and Roll Back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout import clock
from rollout.aws import cloudwatch, stepfunctions, table
from rollout.config import Settings
from rollout.errors import AlarmFiredError, MalformedEventError
from rollout.models.progress import RolloutState

WATCH_TTL_SECONDS = 86400


def watch_bake(payload: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """``payload`` is ``{"state": <RolloutState>, "task_token": $$.Task.Token}``."""
    state = RolloutState.model_validate(payload["state"])
    token = str(payload["task_token"])
    alarms = state.watched_alarms
    kind = "gate" if state.gate is not None else "bake"
    table.set_waiting(
        settings.table_name, state.endpoint_name, state.rollout_id, token, kind, state.gate.name if state.gate else None
    )
    if alarms:
        table.watch_alarms(
            settings.table_name, alarms, state.rollout_id, state.endpoint_name, token, clock.now(), WATCH_TTL_SECONDS
        )
        firing = sorted(name for name, value in cloudwatch.alarm_states(alarms).items() if value == "ALARM")
        if firing:  # already in ALARM when the bake starts: fail it at once
            raise AlarmFiredError(
                f"alarm {', '.join(firing)} is in ALARM as the bake of step {state.step_index + 1} starts"
            )
    return {"watching": alarms, "rollout_id": state.rollout_id}


class AlarmState(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    value: str
    reason: str = ""
    timestamp: str = ""


class AlarmDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    alarmName: str
    state: AlarmState


class AlarmEvent(BaseModel):
    """``CloudWatch Alarm State Change`` as EventBridge delivers it (delivery may repeat)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)  # built on first use

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: AlarmDetail


def on_alarm(event: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Fail the waiting bake of every rollout that watches the alarm that just went to ALARM."""
    try:
        parsed = AlarmEvent.model_validate(event)
    except ValidationError as exc:
        raise MalformedEventError(f"not a CloudWatch Alarm State Change event: {exc.errors()[0]['msg']}") from None
    detail = parsed.detail
    if detail.state.value != "ALARM":
        return {"alarm": detail.alarmName, "failed_bakes": []}
    cause = f"alarm {detail.alarmName} went to ALARM at {detail.state.timestamp}: {detail.state.reason}"
    failed = [
        watcher.rollout_id
        for watcher in table.alarm_watchers(settings.table_name, detail.alarmName)
        if stepfunctions.fail_task(watcher.token, AlarmFiredError.__name__, cause)
    ]
    return {"alarm": detail.alarmName, "failed_bakes": failed}
