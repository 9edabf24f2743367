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
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout import clock
from rollout.aws import stepfunctions, table
from rollout.config import Settings
from rollout.errors import AwsServiceError, ThrottledError
from rollout.frozen import frozen
from rollout.models.base import SAGEMAKER_NAME


class SteeringError(Exception):
    """A request the API answers with a 4xx status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SteeringBody(BaseModel):
    """The request body: comments only (who asked is what AWS authenticated)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    reason: str = Field(default="", max_length=4000)
    by: str = Field(default="", max_length=1000, description="a comment: the name a person gives (--by)")


@frozen
class SteeringRequest:
    endpoint: str
    action: str
    principal: str  # the IAM principal API Gateway authenticated (requestContext.identity.userArn)
    reason: str
    comment_by: str

    @property
    def who(self) -> str:
        return f"{self.principal} (--by {self.comment_by})" if self.comment_by else self.principal


@frozen
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


def pause(request: SteeringRequest, settings: Settings) -> Steered:
    """Pause: from its next check the rollout holds its current weight (checks go on: a failure still rolls
    back) until someone resumes it; what was left of the bake is kept."""
    rollout_id = table.lock_holder(settings.table_name, request.endpoint)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {request.endpoint} is running")
    if _paused(settings, request.endpoint, rollout_id):
        return Steered(False, rollout_id, f"rollout {rollout_id} of {request.endpoint} is paused already")
    _durable(request, settings, rollout_id, "pause")
    return Steered(
        True,
        rollout_id,
        f"rollout {rollout_id} of {request.endpoint} paused by {request.who} at its current weight from its next "
        f"check (rollout resume {request.endpoint})",
    )


def resume(request: SteeringRequest, settings: Settings) -> Steered:
    """Resume a paused rollout where it stopped: the rest of its bake, then the next step."""
    rollout_id = table.lock_holder(settings.table_name, request.endpoint)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {request.endpoint} is running")
    if not _paused(settings, request.endpoint, rollout_id):
        return Steered(False, rollout_id, f"rollout {rollout_id} of {request.endpoint} is not paused")
    _durable(request, settings, rollout_id, "resume")
    waiting = table.waiting(settings.table_name, request.endpoint)
    woken = ""
    if waiting is not None and waiting.rollout_id == rollout_id and waiting.kind == "bake":
        # end the held bake's wait now rather than at its next periodic check (the check reads the request)
        cause = json.dumps({"Error": "Resumed", "Cause": f"resumed by {request.who}"})
        woken = _wake(lambda: stepfunctions.succeed_task(waiting.token, cause))
    return Steered(True, rollout_id, f"rollout {rollout_id} of {request.endpoint} resumed by {request.who}{woken}")


RETRYABLE = ("rolled_back", "failed", "rejected")


def retry(request: SteeringRequest, settings: Settings) -> Steered:
    """Retry: roll out again the package of the endpoint's latest rollout, which rolled back, failed or was
    rejected. A fresh rollout, judged like any manual start (the group's policy, the registry's approval)."""
    busy = _busy(request, settings)
    if busy is not None:
        return busy
    records = table.list_records(settings.table_name, request.endpoint, 1)
    latest = records[0] if records else None
    if latest is None or latest.get("outcome") not in RETRYABLE or not latest.get("package_arn"):
        ended = f"ended {latest.get('outcome')}" if latest else "is not recorded"
        return Steered(
            False, None, f"the latest rollout of {request.endpoint} {ended}: retry follows a rollback or a failure"
        )
    return _start(request, settings, latest, latest["package_arn"], downgrade=False)


def undo(request: SteeringRequest, settings: Settings) -> Steered:
    """Undo: roll out the model of the endpoint's previous successful rollout (an older version: a downgrade the
    person asked for), through the whole policy - steps, checks, gates - like any rollout."""
    busy = _busy(request, settings)
    if busy is not None:
        return busy
    records = table.list_records(settings.table_name, request.endpoint, UNDO_LOOKBACK)
    good = [r for r in records if r.get("outcome") == "succeeded" and r.get("package_arn")]
    current = good[0]["package_arn"] if good else None
    previous = next((r for r in good if r["package_arn"] != current), None)
    if previous is None:
        return Steered(
            False,
            None,
            f"no earlier successful rollout of {request.endpoint} with another model package "
            f"(among its latest {UNDO_LOOKBACK} rollouts) to go back to",
        )
    return _start(request, settings, good[0], previous["package_arn"], downgrade=True)


UNDO_LOOKBACK = 50  # records read to find the previous good rollout


def _busy(request: SteeringRequest, settings: Settings) -> Steered | None:
    holder = table.lock_holder(settings.table_name, request.endpoint)
    if holder is None:
        return None
    return Steered(False, holder, f"rollout {holder} of {request.endpoint} is running: abort it first")


def _start(
    request: SteeringRequest, settings: Settings, after: dict[str, str], package_arn: str, downgrade: bool
) -> Steered:
    if not settings.state_machine_arn:
        raise SteeringError(500, "the steering function has no STATE_MACHINE_ARN")
    execution_input: dict[str, Any] = {"model_package_arn": package_arn, "endpoint_name": request.endpoint}
    if downgrade:
        execution_input["allow_downgrade"] = True
    # one name per (endpoint, rollout it follows, verb): the same request twice starts one rollout
    seed = f"{request.endpoint}#{after.get('started_at', '')}#{after.get('execution_arn', '')}#{request.action}"
    name = f"{request.action}-{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"
    # Who asked travels in the input to the new rollout's record; Resolve Rollout believes it only because this
    # durable request (under the new rollout's id, the execution's name) says the same: no one who may merely
    # start executions can claim someone else asked.
    by, _reason = table.clipped(request.principal, "")
    comment = table.clipped(request.comment_by, "")[0]
    execution_input["requested_by"] = f"{by} (--by {comment})" if comment else by
    _durable(request, settings, name, "start")
    arn = stepfunctions.start_execution(settings.state_machine_arn, json.dumps(execution_input), name)
    if arn is None:
        return Steered(False, name, f"{request.action} of {request.endpoint} was already started (execution {name})")
    return Steered(
        True,
        name,
        f"{request.action} by {request.who}: rolling out {package_arn} to {request.endpoint} (execution {name})",
    )


def _paused(settings: Settings, endpoint: str, rollout_id: str) -> bool:
    asked = table.timed_requests(settings.table_name, endpoint, rollout_id)
    pause, resumed = asked.get("pause"), asked.get("resume")
    return pause is not None and (resumed is None or pause[2] > resumed[2])


def _wake(send: Callable[[], bool]) -> str:
    """Wake the waiting task now: best effort, because the request is already durable and the rollout's next
    check acts on it. A refused or failed wake-up must not tell the person their request was lost."""
    try:
        send()
    except (AwsServiceError, ThrottledError) as exc:
        return f" (recorded; the rollout acts on it at its next check: waking it now failed: {exc})"
    return ""


def release(request: SteeringRequest, settings: Settings) -> Steered:
    """A person's go-ahead for an endpoint a rollout left for a person (outcome needs_attention): the hold goes, the
    held rollout's record says who released it, when and why, and the next rollout waiting for the endpoint takes it
    at its next look (``lock_poll_seconds``)."""
    if not request.reason:
        raise SteeringError(400, "release needs a reason: what you checked or did")
    held = table.hold(settings.table_name, request.endpoint)
    if held is None:
        return Steered(False, None, f"endpoint {request.endpoint} is not held: nothing to release")
    if not table.release_hold(settings.table_name, request.endpoint, held, request.who, request.reason, clock.now()):
        return Steered(False, None, f"the hold of {request.endpoint} changed meanwhile: look again (rollout history)")
    return Steered(
        True,
        held.rollout_id,
        f"released {request.endpoint} (held since {held.since} after rollout {held.rollout_id}) by {request.who}: "
        f"{request.reason}",
    )


def _durable(request: SteeringRequest, settings: Settings, rollout_id: str, action: str) -> None:
    table.put_request(
        settings.table_name,
        request.endpoint,
        rollout_id,
        action,
        request.principal,
        request.reason,
        request.comment_by,
        clock.now(),
    )


ACTIONS: dict[str, Callable[[SteeringRequest, Settings], Steered]] = {
    "approve": approve,
    "reject": reject,
    "abort": abort,
    "promote": promote,
    "release": release,
    "pause": pause,
    "resume": resume,
    "retry": retry,
    "undo": undo,
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
