"""Rollout metrics as EMF: one ``Rollouts`` count per rollout that ended, by outcome, and the seconds from the check
that found an alarm to the rollback's start; nothing for any other step's result."""

from __future__ import annotations

import json

import pytest
from rollout import telemetry

from tests.helpers import sample_event


def _finished(**changes):
    state = sample_event("record-outcome.json")
    return {**state, "phase": "finished", "outcome": "succeeded", **changes}


def _alarmed_history():
    return [
        {"step": 1, "weight_percent": 10.0, "at": "2026-01-05T09:20:00Z", "verdict": "pass", "reason": "ok"},
        {
            "step": 1,
            "weight_percent": 10.0,
            "at": "2026-01-05T09:21:30Z",
            "verdict": "fail",
            "reason": "alarm churn-5xx is in ALARM",
            "alarm": "churn-5xx",
        },
    ]


def test_only_a_result_that_ends_a_rollout_counts():
    assert telemetry.ended(_finished()) == "succeeded"
    assert telemetry.ended(sample_event("record-outcome.json")) is None, "deployed, not yet recorded"
    rejection = {"outcome": "rejected", "reason": "bad policy", "error": "PolicyError", "rollout_id": "r1"}
    assert telemetry.ended(rejection) == "rejected"
    assert telemetry.ended({"statusCode": 200, "body": "{}"}) is None, "the steering function's answer"
    assert telemetry.rollout_metrics(_finished()) == {"Rollouts": 1.0}


def test_alarm_to_rollback_is_from_the_failing_check_to_the_rollbacks_start():
    rolled_back = _finished(
        outcome="rolled_back", history=_alarmed_history(), rollback_started_at="2026-01-05T09:21:32Z"
    )
    assert telemetry.rollout_metrics(rolled_back) == {"Rollouts": 1.0, "AlarmToRollbackSeconds": 2.0}
    no_alarm = {**rolled_back, "history": _alarmed_history()[:1]}
    assert telemetry.alarm_to_rollback_seconds(no_alarm) is None, "a rollback for another reason"
    assert telemetry.alarm_to_rollback_seconds({**rolled_back, "outcome": "succeeded"}) is None


def test_the_emf_line_names_the_namespace_outcome_and_rollout(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SageMakerRollout")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sagemaker-rollout")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    rolled_back = _finished(
        outcome="rolled_back", history=_alarmed_history(), rollback_started_at="2026-01-05T09:21:35Z"
    )
    telemetry.emit(rolled_back, "churn-prod")
    (line,) = capsys.readouterr().out.strip().splitlines()
    emf = json.loads(line)
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SageMakerRollout"
    assert ["Outcome"] in [sorted(set(d) - {"service"}) for d in directive["Dimensions"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Rollouts": "Count",
        "AlarmToRollbackSeconds": "Seconds",
    }
    assert (emf["Outcome"], emf["Rollouts"], emf["AlarmToRollbackSeconds"]) == ("rolled_back", [1.0], [5.0])
    assert (emf["rollout_id"], emf["endpoint"]) == (rolled_back["rollout_id"], "churn-prod")


@pytest.mark.parametrize("result", [sample_event("record-outcome.json"), {"statusCode": 409}])
def test_nothing_is_printed_for_other_steps(result, capsys):
    telemetry.emit(result, "churn-prod")
    assert capsys.readouterr().out == ""


def test_disabled_metrics_print_nothing_and_keep_nothing(monkeypatch, capsys, recwarn):
    """Local mode disables them: a later enabled line must not carry (or warn about) what was never printed."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SageMakerRollout")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    telemetry.emit(_finished(outcome="rolled_back"), "churn-prod")
    assert capsys.readouterr().out == ""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    telemetry.emit(_finished(), "churn-prod")
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line)["Outcome"] == "succeeded"
    assert not [w for w in recwarn if "already been added" in str(w.message)]
