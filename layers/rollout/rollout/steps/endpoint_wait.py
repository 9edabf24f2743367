"""Wait For Endpoint and the endpoint listener: an endpoint change is awaited, not polled.

Wait For Endpoint is a callback task. ``wait_endpoint`` registers its task token as the endpoint's waiting task
(the same table item a bake or a gate uses, so an abort or a revoked approval ends it at once too), then looks
at the endpoint once: if it is no longer changing, the change finished before the token was registered and the
task is ended at once (the event that said so may already have been handled, with no token to wake). Otherwise
the task waits until SageMaker's ``SageMaker Endpoint State Change`` (or, under deployment guardrails,
``SageMaker Endpoint Deployment State Change``) reaches ``on_endpoint_event``, which ends it with SendTaskSuccess.
The task's timeout is a slow polling fallback: a lost event costs minutes, never the rollout.

The event only wakes the workflow. Check Endpoint still decides from DescribeEndpoint, because SageMaker's events
can be late, repeated or out of order: a stale wake-up costs one more look and one more wait, nothing else.

Wait For Rollback is the same callback task between two steps of a rollback (Roll Back then looks), with one
difference: after an AWS error its timeout is the rollback's backoff, and nothing may end it early (the endpoint is
not changing, so the look would end it at once and the backoff would become a tight loop).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rollout.aws import sagemaker, stepfunctions, table
from rollout.config import Settings
from rollout.decide import TRANSITIONAL
from rollout.errors import AwsServiceError, ThrottledError
from rollout.models.progress import Phase, RolloutState

ENDPOINT_WAIT = "endpoint"  # the waiting task's kind (a bake's is "bake", a gate's "gate")
# The events this listener handles are rollout.eventbridge.EndpointEvent's; the rule in template.yaml selects them.
STATE_CHANGE = "SageMaker Endpoint State Change"
_TRANSITIONAL_KEYS = frozenset(status.lower() for status in TRANSITIONAL)


def _transitional(event_status: str) -> bool:
    """Is an event's EndpointStatus (upper snake case, ``IN_SERVICE``) one a change passes through? Any spelling
    it does not know wakes the rollout: a needless look is cheap, a missed one costs the fallback."""
    return event_status.replace("_", "").lower() in _TRANSITIONAL_KEYS


def wait_endpoint(payload: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """``payload`` is ``{"state": <RolloutState>, "task_token": $$.Task.Token}``: register the token for the
    endpoint's events, and end the wait at once if the endpoint has already settled."""
    state = RolloutState.model_validate(payload["state"])
    token = str(payload["task_token"])
    endpoint = state.endpoint_name
    if state.phase is Phase.ROLLING_BACK and state.rollback_error is not None:
        # a backoff after an AWS error: the task's timeout (poll_seconds) is the wait, whatever the endpoint does
        return {"endpoint": endpoint, "status": None, "waiting": True, "backoff_seconds": state.poll_seconds}
    # Register first, then look: an event after this write finds the token, and a change that ended before it
    # is seen by the look. No order of the two loses a wake-up.
    table.set_waiting(settings.table_name, endpoint, state.rollout_id, token, ENDPOINT_WAIT, None)
    status = sagemaker.endpoint_status(endpoint)
    if status not in TRANSITIONAL:  # settled (or gone) already: Check Endpoint judges it now
        try:
            stepfunctions.succeed_task(token, json.dumps({"woken_by": f"endpoint {endpoint} is {status or 'gone'}"}))
        except (AwsServiceError, ThrottledError) as exc:
            # best effort: failing the task for it would roll back a healthy rollout; the fallback looks instead
            return {"endpoint": endpoint, "status": status, "waiting": True, "wake_failed": str(exc)}
        return {"endpoint": endpoint, "status": status, "waiting": False}
    return {"endpoint": endpoint, "status": status, "waiting": True}


def on_endpoint_event(event: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Wake the rollout waiting for this endpoint to change, if one is (Check Endpoint then looks)."""
    from rollout.eventbridge import EndpointEvent, parse_event  # the Parser: loaded by the first event, not the import

    parsed = parse_event(event, EndpointEvent)
    endpoint, status = parsed.detail.EndpointName, parsed.detail.EndpointStatus
    if parsed.detail_type == STATE_CHANGE and _transitional(status):
        # the change has only begun (UPDATING, CREATING, ...): Check Endpoint would only say "wait"
        return {"endpoint": endpoint, "status": status, "woke": None}
    waiting = table.waiting(settings.table_name, endpoint)
    if waiting is None or waiting.kind != ENDPOINT_WAIT:  # nobody waits for this endpoint to change (a bake may)
        return {"endpoint": endpoint, "status": status, "woke": None}
    output = json.dumps({"woken_by": f"{parsed.detail_type}: {endpoint} {status}".strip()})
    woke = stepfunctions.succeed_task(waiting.token, output)  # False: that wait already ended (a late event)
    return {"endpoint": endpoint, "status": status, "woke": waiting.rollout_id if woke else None}
