"""The rules local mode enforces for AWS's quotas and limits (local/rollout_local/emulator/limits.py)."""

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from pydantic import ValidationError
from rollout_local.emulator import limits, requests
from rollout_local.emulator.limits import (
    Admission,
    FunctionFault,
    FunctionFaults,
    HistoryQuota,
    LambdaEnvironments,
    Limits,
    RunningInvocation,
)

from tests.helpers import scenario

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Manager:
    """Stands for one execution's event manager."""


def test_the_event_that_reaches_the_quota_fails_the_execution_unless_it_is_its_success():
    quota, manager = HistoryQuota(5), Manager()
    assert [quota.admit(manager, "TaskStateEntered") for _ in range(4)] == [Admission.ADMIT] * 4
    assert quota.admit(manager, "TaskScheduled") is Admission.FAIL
    quota.fail(manager, "details")
    assert quota.admit(manager, "TaskStarted") is Admission.DROP
    assert quota.failure(manager) == "details"
    succeeding = Manager()
    for _ in range(4):
        quota.admit(succeeding, "PassStateEntered")
    assert quota.admit(succeeding, "ExecutionSucceeded") is Admission.ADMIT
    assert quota.cause() == "The execution reached the maximum number of history events (5)."


def test_each_execution_has_its_own_count():
    quota, first, second = HistoryQuota(3), Manager(), Manager()
    quota.admit(first, "a")
    quota.admit(first, "b")
    assert quota.admit(second, "a") is Admission.ADMIT
    assert quota.admit(first, "c") is Admission.FAIL and quota.events(second) == 1


def test_the_history_quota_is_never_raised():
    with pytest.raises(ValueError, match="only be lowered"):
        HistoryQuota(25_001)
    with pytest.raises(ValidationError):
        Limits(history_events=30_000)


def test_payload_size_is_utf8_bytes_of_the_compact_json():
    assert limits.utf8_size({"a": "é"}) == len('{"a":"é"}'.encode())
    assert limits.utf8_size("é") == 2
    assert limits.within_payload_quota("x" * (256 * 1024 - 1))
    assert not limits.within_payload_quota("x" * (256 * 1024))


def test_dynamodb_item_size_counts_names_and_values():
    item = {"pk": {"S": "abc"}, "n": {"N": "123.45"}, "flag": {"BOOL": True}, "m": {"M": {"k": {"S": "v"}}}}
    assert requests.dynamodb_item_size(item) == (2 + 3) + (1 + 1 + 3) + (4 + 1) + (1 + 3 + 1 + 1 + 1)


def test_service_rules_the_models_do_not_carry():
    assert requests.service_refusal("sns", "Publish", {"Subject": "x" * 99, "Message": "m"}) is None
    refused = requests.service_refusal("sns", "Publish", {"Subject": "x" * 100, "Message": "m"})
    assert refused == requests.Refusal("InvalidParameter", "Invalid parameter: Subject")
    assert requests.service_refusal("sns", "Publish", {"Subject": "a\tb", "Message": "m"}) is not None
    assert requests.service_refusal("sns", "Publish", {"Subject": "", "Message": "m"}) is not None
    big = {"Item": {"pk": {"S": "x" * (400 * 1024)}}}
    assert requests.service_refusal("dynamodb", "PutItem", big) is not None
    assert requests.service_refusal("dynamodb", "PutItem", {"Item": {"pk": {"S": "x"}}}) is None
    entry = {"Source": "s", "DetailType": "d", "Detail": "x" * (128 * 1024)}
    assert requests.service_refusal("eventbridge", "PutEvents", {"Entries": [entry]}) is None
    assert requests.service_refusal("eventbridge", "PutEvents", {"Entries": [entry, entry]}) is not None
    output = {"taskToken": "t", "output": '"' + "é" * (128 * 1024) + '"'}
    assert requests.service_refusal("sfn", "SendTaskSuccess", output) is not None


def _operation(service: str, name: str):  # type: ignore[no-untyped-def]
    return botocore.session.get_session().get_service_model(service).operation_model(name)


def test_the_botocore_model_constraints_a_service_checks_on_its_side():
    failure = _operation("stepfunctions", "SendTaskFailure")
    assert requests.model_refusal(failure, {"taskToken": "t", "error": "e" * 256}) is None
    refused = requests.model_refusal(failure, {"taskToken": "t", "error": "e" * 257})
    assert refused is not None and refused.code == "ValidationException"
    assert "at 'error' failed to satisfy constraint: Member must have length less than or equal to 256" in (
        refused.message
    )
    weights = _operation("sagemaker", "UpdateEndpointWeightsAndCapacities")
    bad_name = {"EndpointName": "no spaces", "DesiredWeightsAndCapacities": [{"VariantName": "v", "DesiredWeight": 1}]}
    refused = requests.model_refusal(weights, bad_name)
    assert refused is not None and "regular expression pattern" in refused.message
    alarm = _operation("cloudwatch", "PutMetricAlarm")
    refused = requests.model_refusal(alarm, {"AlarmName": "a", "ComparisonOperator": "Bigger", "EvaluationPeriods": 1})
    assert refused is not None and refused.code == "ValidationError" and "enum value set" in refused.message


def test_java_style_patterns_are_enforced_too():
    # tag values: [\p{L}\p{Z}\p{N}_.:/=+\-@]* in Java's syntax, which Python's re cannot compile
    create = _operation("sagemaker", "CreateModel")
    good = {"ModelName": "m", "Tags": [{"Key": "sagemaker-rollout:endpoint", "Value": "churn-prod é:1/2"}]}
    assert requests.model_refusal(create, good) is None
    bad = {"ModelName": "m", "Tags": [{"Key": "k", "Value": "a#b"}]}
    refused = requests.model_refusal(create, bad)
    assert refused is not None and "at 'tags.1.member.value'" in refused.message


def test_an_idle_environment_stays_warm_for_a_while_and_concurrent_invocations_need_their_own():
    environments = LambdaEnvironments(warm_seconds=300)
    assert environments.acquire("f", T0) is True  # cold
    assert environments.acquire("f", T0) is True  # a second one at the same time: cold too
    environments.release("f", T0 + timedelta(seconds=1))
    assert environments.acquire("f", T0 + timedelta(seconds=200)) is False
    environments.release("f", T0 + timedelta(seconds=201))
    assert environments.acquire("f", T0 + timedelta(seconds=502)) is True  # idle 301 s: reclaimed
    assert environments.acquire("g", T0) is True


def test_function_faults_count_invocations_of_their_function():
    faults = FunctionFaults([FunctionFault(function="f", kind="raises", times=2, after_calls=1)])
    assert [faults.fault_for("f") is not None for _ in range(4)] == [False, True, True, False]
    assert faults.fault_for("g") is None


def test_an_invocation_is_stopped_at_a_call_that_would_end_after_its_timeout():
    invocation = RunningInvocation("f", deadline=T0 + timedelta(seconds=3), call_seconds=1)
    assert invocation.call_delay(T0) == (1, False)
    assert invocation.call_delay(T0 + timedelta(seconds=2.5)) == (0.5, True)


def test_a_lambda_timeout_reads_as_the_python313_runtime_reports_it():
    payload = limits.timed_out_payload("id-1", 60)
    assert payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: id-1 Error: Task timed out after 60.00 seconds",
    }
    assert requests.lambda_request_refusal(b"x" * (6 * 1024 * 1024 + 1)) is not None
    assert requests.lambda_request_refusal(b"{}") is None


def test_a_scenario_naming_an_unknown_function_is_refused_with_the_known_ones():
    with pytest.raises(ValidationError, match=r"no function named NoSuchFunction in template\.yaml"):
        scenario(faults=[{"function": "NoSuchFunction", "kind": "timeout"}])
    with pytest.raises(ValidationError, match="no function named Typo"):
        scenario(aws_timings={"function_run_seconds": {"Typo": 5}})
    faults = [
        {"function": "RollBackFunction", "kind": "raises"},
        {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Failed"},
    ]
    accepted = scenario(faults=faults)
    assert [type(f).__name__ for f in accepted.faults] == ["FunctionFault", "Fault"]
