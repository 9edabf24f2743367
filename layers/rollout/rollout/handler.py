"""The shape every Lambda handler shares: parse the state at the edge, call one step, return the state.

Decorators in Powertools' order (logger -> tracer). A handler file is then one line of wiring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from rollout.config import Settings
from rollout.continuation import count_step
from rollout.models import RolloutState

logger = Logger()
tracer = Tracer()

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _wrap(call: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        result = call(event)
        logger.info(result.get("message", ""), extra={"phase": result.get("phase"), "outcome": result.get("outcome")})
        return result

    wrapped: Handler = handler
    return wrapped


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


TextHandler = Callable[[dict[str, Any], LambdaContext], str]


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
