"""One home for why a rollout rolled back or stopped: the wording the record, the events, `rollout status` and the
widget all show comes from ``rollout.reasons``."""

from __future__ import annotations

import json
from datetime import timedelta

from rollout import reasons
from rollout.models.progress import TaskError

from tests.unit.factories import T0, snapshot, state


def lambda_error(name: str, message: str) -> TaskError:
    return TaskError(Error=name, Cause=json.dumps({"errorMessage": message, "errorType": name}))


def test_a_lambda_error_reads_as_its_name_and_message():
    error = lambda_error("UpdateFailedError", "endpoint churn-prod is Failed")
    assert reasons.failure_reason(error) == "UpdateFailedError: endpoint churn-prod is Failed"
    assert reasons.error_message(error) == "endpoint churn-prod is Failed"
    assert reasons.failure_reason(TaskError(Error="States.Timeout", Cause="")) == "States.Timeout"
    assert reasons.failure_reason(TaskError(Error="X", Cause="not json")) == "X: not json"
    assert reasons.failure_reason(None) == "unknown failure"


def test_the_recorded_reason_wins_over_the_error():
    error = lambda_error("AbortedError", "aborted by ana: bad")
    assert reasons.rollback_reason(state(error=error)) == "AbortedError: aborted by ana: bad"
    assert reasons.rollback_reason(state(error=error, reason="step 1/2 failed: 5XX")) == "step 1/2 failed: 5XX"


def test_guardrails_name_the_alarm_else_the_timeout_else_nothing_fired():
    alarm = reasons.guardrail_rollback("churn-prod", "cfg-v0", 540, None, ("churn-5xx", 480, "Threshold Crossed"), 3600)
    assert alarm == (
        "SageMaker's deployment guardrails rolled churn-prod back to cfg-v0 after 540 s: alarm churn-5xx went to "
        "ALARM 480 s in (Threshold Crossed)"
    )
    late = reasons.guardrail_rollback("churn-prod", "cfg-v0", 3700, "timed out", None, 3600)
    assert late.endswith("(FailureReason: timed out): the deployment ran past max_execution_timeout_seconds=3600")
    assert reasons.guardrail_rollback("e", "c", 10, None, None, 3600).endswith(
        "no auto-rollback alarm went to ALARM in that time"
    )


def test_a_stop_says_what_changed_then_what_the_rollout_did_then_the_last_aws_error():
    drifted = state(error=lambda_error("DriftError", "someone updated churn-prod"), rollback_error="ThrottledError: x")
    kind, cause = reasons.stopped("RollbackFailedError", "left as it is", drifted)
    assert kind == "DriftError"
    assert cause == "someone updated churn-prod; left as it is. The last AWS error of the rollback: ThrottledError: x"
    kind, cause = reasons.stopped("RollbackFailedError", "past the deadline.", state(reason="step 1 failed"))
    assert (kind, cause) == (
        "RollbackFailedError",
        "past the deadline. The rollout was rolling back because: step 1 failed",
    )


def test_check_and_alarm_wording():
    assert reasons.check_failed("step 1/2 (10%)", "5XX 3%") == "step 1/2 (10%) failed: 5XX 3%"
    at_gate = reasons.check_failed_at_gate("step 1/2 (10%)", "before promotion", "ALARM")
    assert at_gate == "step 1/2 (10%) failed while waiting at gate 'before promotion': ALARM"
    fired = reasons.alarm_in_flight("churn-5xx", T0 + timedelta(seconds=5), "Threshold Crossed", "a traffic shift")
    assert (
        fired == "alarm churn-5xx went to ALARM at 2026-01-05T09:00:05+00:00 during a traffic shift (Threshold Crossed)"
    )
    assert "consecutive_error_limit=3" in reasons.metrics_unavailable("step 1/1 (100%)", "could not read", 4, 3)


def test_a_stuck_endpoint_is_described_with_how_to_restore_it():
    said = reasons.stuck_reason(state(), snapshot(status="UpdateRollbackFailed", failure="capacity"))
    assert said.startswith("endpoint churn-prod is UpdateRollbackFailed: the update and SageMaker's own automatic")
    assert "FailureReason: capacity" in said and "--endpoint-config-name churn-prod-config-v0" in said
