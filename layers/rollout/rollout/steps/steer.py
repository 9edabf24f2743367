"""Steering a running rollout: a person's request, authenticated by AWS, made durable, and nudged to the rollout.

Requests come through the stack's steering API (API Gateway, ``AWS_IAM`` authorization): API Gateway has verified
the caller's SigV4 signature and that their IAM policies allow ``execute-api:Invoke`` on
``POST /endpoints/<endpoint>/<action>``, so who may steer what is an IAM permission per endpoint and action. The
principal API Gateway authenticated is recorded; ``by`` and ``reason`` in the body are a person's comments.

Each action writes a durable request item (the rollout's next check reads it, so nothing is lost to a task token
that timed out in the same second) and nudges the task the rollout waits in. New actions (issue 15: pause, resume,
retry, undo) register one function in ``ACTIONS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout.aws import stepfunctions, table
from rollout.config import Settings
from rollout.errors import AwsServiceError, ThrottledError
from rollout.models import SAGEMAKER_NAME


class SteeringError(Exception):
    """A request the API answers with a 4xx status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SteeringBody(BaseModel):
    """The request body: comments only (who asked is what AWS authenticated)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=4000)
    by: str = Field(default="", max_length=1000, description="a comment: the name a person gives (--by)")


@dataclass(frozen=True)
class SteeringRequest:
    endpoint: str
    action: str
    principal: str  # the IAM principal API Gateway authenticated (requestContext.identity.userArn)
    reason: str
    comment_by: str

    @property
    def who(self) -> str:
        return f"{self.principal} (--by {self.comment_by})" if self.comment_by else self.principal


@dataclass(frozen=True)
class Steered:
    """What a steering request did: ``done`` False means there was nothing to act on."""

    done: bool
    rollout_id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- the actions ------------------------------------------------------------------------------------------


def _gate(request: SteeringRequest, settings: Settings, reject: bool) -> Steered:
    waiting = table.waiting(settings.table_name, request.endpoint)
    holder = table.lock_holder(settings.table_name, request.endpoint)
    if waiting is None or waiting.kind != "gate" or holder != waiting.rollout_id:
        return Steered(False, None, f"no rollout of {request.endpoint} is waiting at a gate")
    verb = "rejected" if reject else "approved"
    cause = f"{verb} by {request.who}" + (f": {request.reason}" if request.reason else "")
    action = f"{'reject' if reject else 'approve'}:{waiting.gate}"
    _durable(request, settings, waiting.rollout_id, action)
    if reject:
        woken = _wake(lambda: stepfunctions.fail_task(waiting.token, "GateRejectedError", cause))
    else:  # a gate between two checks: the next one reads the durable request
        woken = _wake(
            lambda: stepfunctions.succeed_task(waiting.token, json.dumps({"Error": "Approved", "Cause": cause}))
        )
    return Steered(True, waiting.rollout_id, f"gate '{waiting.gate}' of {request.endpoint} {cause}{woken}")


def approve(request: SteeringRequest, settings: Settings) -> Steered:
    """Approve the gate the endpoint's rollout waits at."""
    return _gate(request, settings, reject=False)


def reject(request: SteeringRequest, settings: Settings) -> Steered:
    """Reject the gate the endpoint's rollout waits at: it rolls back."""
    return _gate(request, settings, reject=True)


def abort(request: SteeringRequest, settings: Settings) -> Steered:
    """Abort the endpoint's running rollout: it rolls back like a failed check, and the record says who and why."""
    if not request.reason:
        raise SteeringError(400, "abort needs a reason")
    rollout_id = table.lock_holder(settings.table_name, request.endpoint)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {request.endpoint} is running")
    _durable(request, settings, rollout_id, "abort")
    waiting = table.waiting(settings.table_name, request.endpoint)
    cause = f"aborted by {request.who}: {request.reason}"
    woken = ""
    if waiting is not None and waiting.rollout_id == rollout_id:  # waiting in a bake or a gate: end it now
        woken = _wake(lambda: stepfunctions.fail_task(waiting.token, "AbortedError", cause))
    return Steered(True, rollout_id, f"rollout {rollout_id} of {request.endpoint} {cause}{woken}")


def promote(request: SteeringRequest, settings: Settings) -> Steered:
    """Promote-now: skip the remaining steps once the current one passes its checks (and pass a waiting gate)."""
    rollout_id = table.lock_holder(settings.table_name, request.endpoint)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {request.endpoint} is running")
    _durable(request, settings, rollout_id, "promote")
    gate = approve(
        SteeringRequest(request.endpoint, "approve", request.principal, "promote now", request.comment_by), settings
    )
    note = "; " + gate.message if gate.done else ""
    return Steered(
        True, rollout_id, f"rollout {rollout_id} of {request.endpoint} will promote after its current step{note}"
    )


def _wake(send: Callable[[], bool]) -> str:
    """Wake the waiting task now: best effort, because the request is already durable and the rollout's next
    check acts on it. A refused or failed wake-up must not tell the person their request was lost."""
    try:
        send()
    except (AwsServiceError, ThrottledError) as exc:
        return f" (recorded; the rollout acts on it at its next check: waking it now failed: {exc})"
    return ""


def _durable(request: SteeringRequest, settings: Settings, rollout_id: str, action: str) -> None:
    table.put_request(
        settings.table_name, request.endpoint, rollout_id, action, request.principal, request.reason, request.comment_by
    )


ACTIONS: dict[str, Callable[[SteeringRequest, Settings], Steered]] = {
    "approve": approve,
    "reject": reject,
    "abort": abort,
    "promote": promote,
}


# --- the API's edge ---------------------------------------------------------------------------------------


def parse_request(event: Mapping[str, Any]) -> SteeringRequest:
    """An API Gateway (REST, Lambda proxy) request, as AWS authenticated it; anything else is refused."""
    context = event.get("requestContext")
    identity = context.get("identity") if isinstance(context, Mapping) else None
    principal = identity.get("userArn") if isinstance(identity, Mapping) else None
    if not isinstance(principal, str) or not principal.startswith("arn:"):
        raise SteeringError(
            403, "not an IAM-authenticated request: steering is only through the steering API (AWS_IAM auth)"
        )
    parameters = event.get("pathParameters") or {}
    endpoint, action = parameters.get("endpoint"), parameters.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise SteeringError(404, f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if not isinstance(endpoint, str):
        raise SteeringError(400, "the path names no endpoint")
    if not re.fullmatch(SAGEMAKER_NAME, endpoint):
        raise SteeringError(400, f"{endpoint!r} is not a SageMaker endpoint name")
    try:
        body = SteeringBody.model_validate(json.loads(event.get("body") or "{}"))
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not a JSON object"
        raise SteeringError(400, f"invalid request body: {message}") from None
    comment_by, reason = table.clipped(body.by, body.reason)  # the same text everywhere it travels
    return SteeringRequest(endpoint, action, principal, reason, comment_by)


def steer(event: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The steering function: an API Gateway proxy event in, an API Gateway proxy response out."""
    try:
        request = parse_request(event)
        result = ACTIONS[request.action](request, settings)
    except SteeringError as refused:
        return _response(refused.status, {"done": False, "rollout_id": None, "message": str(refused)})
    return _response(200 if result.done else 409, result.as_dict())  # 409: nothing waits for this request


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
