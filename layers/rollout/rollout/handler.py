"""The shape every Lambda handler shares: parse the state at the edge, call one step, return the state.

Decorators in Powertools' order (logger -> tracer). A handler file is then one line of wiring.

Every log line of a rollout step carries ``rollout_id`` and ``endpoint`` (CloudWatch Logs Insights can then follow
one rollout across every function), the modules' own ``logging.getLogger(__name__)`` lines included: the
``rollout`` package logger writes with this Logger's formatter.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer

from rollout import telemetry
from rollout.config import Settings
from rollout.continuation import count_step
from rollout.models.progress import RolloutState

logger = Logger()
tracer = Tracer()
# The layer's modules log with logging.getLogger(__name__): their lines get this Logger's formatter, so its keys,
# on stderr - where they went before (Lambda sends stdout and stderr alike to the function's log; in local mode
# stdout is the simulator's report, which a warning must not break).
module_lines = logging.StreamHandler(sys.stderr)
module_lines.setFormatter(logger.registered_formatter)
_package_logger = logging.getLogger("rollout")
_package_logger.addHandler(module_lines)
_package_logger.setLevel(logger.log_level)
_package_logger.propagate = False

if TYPE_CHECKING:  # only a type: importing it costs a cold start ~3 ms (Powertools' typing package)
    from aws_lambda_powertools.utilities.typing import LambdaContext

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def _wrap(call: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Thread-local keys: one Lambda process serves one invocation at a time, but local mode runs several
        # rollouts' handlers in threads of one process, and a shared key would label one rollout's line with
        # another's id. Cleared at the end: the next invocation on this thread starts without them.
        logger.thread_safe_append_keys(**rollout_keys(event))
        try:
            result = call(event)
            keys = rollout_keys(result)  # the first step gives the rollout its id
            logger.thread_safe_append_keys(**keys)
            logger.info(
                result.get("message", ""), extra={"phase": result.get("phase"), "outcome": result.get("outcome")}
            )
            telemetry.emit(result, keys.get("endpoint"))  # an EMF line when the rollout ended, else nothing
            return result
        finally:
            logger.thread_safe_clear_keys()

    wrapped: Handler = handler
    return wrapped


def rollout_keys(data: object) -> dict[str, str]:
    """``rollout_id`` and ``endpoint`` of the rollout a step's input or output is about: a RolloutState, or a
    callback task's ``{"state": ..., "task_token": ...}``; none for an event about no rollout (a listener's)."""
    if not isinstance(data, Mapping):  # no object at all: the step itself refuses it, with its own message
        return {}
    inner = data.get("state")
    state: Mapping[str, Any] = inner if isinstance(inner, Mapping) else data
    policy = state.get("policy")
    found = {
        "rollout_id": state.get("rollout_id"),
        "endpoint": policy.get("endpoint_name") if isinstance(policy, Mapping) else None,
    }
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


def _counted(state: RolloutState) -> dict[str, Any]:
    count_step(state)  # every step's share of the execution history (see rollout.continuation)
    return state.model_dump(mode="json")


def state_step(step: Callable[[RolloutState], RolloutState]) -> Handler:
    """A handler for a step that needs only the state."""
    return _wrap(lambda event: _counted(step(RolloutState.model_validate(event))))


def configured_step(step: Callable[[RolloutState, Settings], RolloutState]) -> Handler:
    """A handler for a step that also needs the stack's settings."""
    return _wrap(lambda event: _counted(step(RolloutState.model_validate(event), Settings.from_env())))


def payload_step(step: Callable[[Mapping[str, Any], Settings], Any]) -> Handler:
    """A handler whose input is not yet a RolloutState (the first step, and the rejection record)."""

    def call(event: dict[str, Any]) -> dict[str, Any]:
        result = step(event, Settings.from_env())
        return _counted(result) if isinstance(result, RolloutState) else dict(result)

    return _wrap(call)


TextHandler = Callable[[dict[str, Any], "LambdaContext"], str]


def text_step(step: Callable[[Mapping[str, Any], Settings], str]) -> TextHandler:
    """A handler that answers text, not a state (the dashboard widget's HTML)."""

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> str:
        answer = step(event, Settings.from_env())
        logger.info("answered", extra={"characters": len(answer)})
        return answer

    wrapped: TextHandler = handler
    return wrapped
