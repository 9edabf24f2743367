"""The state machine and the error taxonomy agree: Step Functions matches errors by class name, so every name the
ASL retries or catches is one the code raises, and every transient error is retried by every Lambda task."""

import json

from rollout import errors

from tests.helpers import ROOT

ASL = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())
BUILT_IN_PREFIXES = ("States.", "Lambda.", "Sandbox.")


def lambda_tasks():
    return {
        name: state
        for name, state in ASL["States"].items()
        if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke")
    }


def test_every_lambda_task_retries_every_transient_error_with_backoff():
    transient = errors.transient_error_names()
    assert {"ThrottledError", "AwsUnavailableError"} <= set(transient)
    for name, state in lambda_tasks().items():
        retriers = [r for r in state.get("Retry", []) if set(transient) & set(r["ErrorEquals"])]
        assert len(retriers) == 1, f"{name} has no single transient retrier"
        (retrier,) = retriers
        assert sorted(retrier["ErrorEquals"]) == sorted(transient), name
        assert retrier["BackoffRate"] >= 2 and retrier.get("JitterStrategy") == "FULL", name


def test_every_error_name_the_asl_matches_is_one_the_code_raises():
    known = {kind.__name__ for kind in _all(errors.RolloutError)}
    for name, state in ASL["States"].items():
        for clause in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in clause["ErrorEquals"]:
                assert error.startswith(BUILT_IN_PREFIXES) or error in known, f"{name}: unknown error {error}"


def _all(kind):
    found = {kind}
    for sub in kind.__subclasses__():
        found |= _all(sub)
    return found
