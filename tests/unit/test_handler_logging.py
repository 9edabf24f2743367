"""Every log line of a rollout step carries the rollout's id and endpoint - the handler's own line and the lines
the layer's modules log with ``logging.getLogger(__name__)`` - and a line about one rollout never carries another's
(local mode runs several rollouts' handlers at once, in threads of one process)."""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

import pytest
from rollout.models.progress import RolloutState

# Powertools reads the level once, when the handler module makes its Logger: the first import in this process is
# made as local mode makes it (WARNING), or a simulation run later by the same test worker would print every INFO.
with mock.patch.dict(os.environ, {"POWERTOOLS_LOG_LEVEL": "WARNING"}):
    handler = importlib.import_module("rollout.handler")

from tests.helpers import sample_event


@dataclass
class Context:
    function_name: str = "SnapshotEndpointFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:SnapshotEndpointFunction"
    aws_request_id: str = "request-1"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logger_handler = handler.logger.registered_handler
    assert isinstance(logger_handler, logging.StreamHandler)
    old_stream, old_level = logger_handler.setStream(stream), handler.logger.log_level
    old_module_stream = handler.module_lines.setStream(stream)
    handler.logger.setLevel("INFO")
    try:
        yield stream
    finally:
        logger_handler.setStream(old_stream)
        handler.module_lines.setStream(old_module_stream)
        handler.logger.setLevel(old_level)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _step(state: RolloutState) -> RolloutState:
    logging.getLogger("rollout.steps.example").warning("a module's own line")
    state.message = f"looked at {state.endpoint_name}"
    return state


def test_every_line_of_a_step_carries_its_rollout_id_and_endpoint(lines):
    event = sample_event("snapshot-endpoint.json")
    handler.state_step(_step)(event, Context())  # type: ignore[arg-type]
    records = _records(lines)
    assert [r["message"] for r in records] == ["a module's own line", "looked at churn-prod"]
    for record in records:
        assert (record["rollout_id"], record["endpoint"]) == (event["rollout_id"], "churn-prod"), record


def test_a_callback_tasks_payload_names_its_rollout_and_a_listeners_event_none():
    state = sample_event("snapshot-endpoint.json")
    assert handler.rollout_keys({"state": state, "task_token": "t"}) == {
        "rollout_id": state["rollout_id"],
        "endpoint": "churn-prod",
    }
    assert handler.rollout_keys({"source": "aws.cloudwatch", "detail": {}}) == {}


def test_rollouts_logging_at_once_keep_their_own_keys_and_nothing_is_left_behind(lines):
    first = sample_event("snapshot-endpoint.json")
    second = {**first, "rollout_id": "other-rollout"}
    started = threading.Barrier(2)

    def step(state: RolloutState) -> RolloutState:
        started.wait(timeout=10)  # both rollouts' keys are set before either logs
        return _step(state)

    threads = [threading.Thread(target=handler.state_step(step), args=(event, Context())) for event in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.logger.info("after the invocations")
    records = _records(lines)
    ids = [r.get("rollout_id") for r in records if r["message"] == "a module's own line"]
    assert sorted(ids) == sorted([first["rollout_id"], "other-rollout"])
    assert "rollout_id" not in records[-1], "an invocation's keys end with it"


def test_a_modules_warning_goes_to_stderr_never_to_stdout():
    """Lambda sends both to the function's log; in local mode stdout is the report (``--json``: one document)."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging; from rollout import handler; logging.getLogger('rollout.steps.x').warning('careful')",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert json.loads(done.stderr)["message"] == "careful"
