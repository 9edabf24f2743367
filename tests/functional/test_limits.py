"""AWS's quotas and limits in local mode, on small state machines of each construct (the real workflow's
negative controls are in tests/workflow/test_limits.py)."""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.limits import AwsTimings, FunctionFault, Limits
from rollout_local.emulator.patches import LocalAws
from rollout_local.emulator.sagemaker import SageMakerEmulator

REGION = "us-east-1"
RETRY = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}]
CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
CAUGHT = {"Caught": {"Type": "Pass", "End": True}}


class Machine:
    """An emulated account where a test defines Lambda handlers and a state machine, then runs it."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self.session = boto3.Session(region_name=REGION)
        self.sfn = self.session.client("stepfunctions")
        iam = self.session.client("iam")
        self.role = iam.create_role(RoleName="test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.calls: Counter[str] = Counter()

    def function(self, name: str, handler: Callable[[dict[str, Any], Any], Any], timeout: int = 60) -> str:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "def handler(event, context):\n    return event\n")
        arn: str = self.session.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=timeout,
        )["FunctionArn"]

        def counted(event: dict[str, Any], context: Any) -> Any:
            self.calls[name] += 1
            return handler(event, context)

        self.aws.register(arn, counted, timeout)
        return arn

    def run(self, states: dict[str, Any], start: str, execution_input: Any = None) -> tuple[dict[str, Any], list[Any]]:
        definition = json.dumps({"StartAt": start, "States": states})
        machine = self.sfn.create_state_machine(
            name=f"m{len(self.calls)}{time.monotonic_ns()}", definition=definition, roleArn=self.role
        )["stateMachineArn"]
        arn = self.sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input or {}))["executionArn"]
        deadline = time.monotonic() + 60
        while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not finish"
            time.sleep(0.005)
        events: list[Any] = []
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return described, events
            kwargs["nextToken"] = page["nextToken"]


@pytest.fixture
def account() -> Iterator[Callable[..., Machine]]:
    opened: list[LocalAws] = []

    def open_account(
        limits: Limits | None = None, timings: AwsTimings | None = None, faults: list[Any] | None = None
    ) -> Machine:
        clock = VirtualClock()
        aws = LocalAws(clock, SageMakerEmulator(clock.now), faults, limits, timings or AwsTimings())
        opened.append(aws.__enter__())
        return Machine(aws)

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    yield open_account
    for aws in opened:
        aws.__exit__(None, None, None)


def _types(events: list[Any]) -> list[str]:
    return [e["type"] for e in events]


def _task(arn: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **extra,
    }


# --- the events each construct records (what the history quota counts) ------------------------------------


def test_each_construct_records_the_events_aws_records(account):
    machine = account()
    echo = machine.function("echo", lambda event, context: event)
    states = {
        "Pass": {"Type": "Pass", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Choice"},
        "Choice": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Task"}]},
        "Task": {**_task(echo), "Next": "Done"},
        "Done": {"Type": "Succeed"},
    }
    described, events = machine.run(states, "Pass", {"go": True})
    assert described["status"] == "SUCCEEDED"
    # AWS: Pass, Wait and Choice 2 events each, a Lambda task 5, Succeed 2, plus ExecutionStarted/Succeeded.
    assert _types(events) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_a_retry_records_each_attempt_and_a_catch_exits_the_state(account):
    machine = account()
    attempts: list[int] = []

    def flaky(event: dict[str, Any], context: Any) -> Any:
        attempts.append(1)
        raise RuntimeError("always")

    arn = machine.function("flaky", flaky)
    states = {"Task": {**_task(arn), "Retry": RETRY, "Catch": CATCH, "End": True}, **CAUGHT}
    described, events = machine.run(states, "Task")
    assert described["status"] == "SUCCEEDED" and len(attempts) == 3
    # AWS: each attempt TaskScheduled, TaskStarted, TaskFailed; the caught state still exits.
    assert _types(events)[1:-1] == [
        "TaskStateEntered",
        *["TaskScheduled", "TaskStarted", "TaskFailed"] * 3,
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
    ]
    failed = next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert failed["error"] == "RuntimeError"  # Lambda reports the exception's class as errorType


def test_a_callback_task_records_its_submission(account):
    machine = account()

    def answer(event: dict[str, Any], context: Any) -> Any:
        machine.session.client("stepfunctions").send_task_success(taskToken=event["token"], output='{"ok": true}')
        return {}

    arn = machine.function("answer", answer)
    states = {
        "Wait For Token": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": arn, "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 30,
            "End": True,
        }
    }
    described, events = machine.run(states, "Wait For Token")
    assert described["status"] == "SUCCEEDED", described
    assert _types(events)[1:-1] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]


# --- the history quota ----------------------------------------------------------------------------------


def _loop(arn: str) -> dict[str, Any]:
    """A loop of 9 events a round (the task 5, the Wait 2, the Choice 2) that never ends by itself."""
    return {
        "Work": {**_task(arn), "Catch": CATCH, "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Again?"},
        "Again?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Stop"}],
            "Default": "Work",
        },
        "Stop": {"Type": "Succeed"},
        **CAUGHT,
    }


def test_an_execution_that_reaches_its_history_quota_fails_outright_and_nothing_catches_it(account):
    machine = account(Limits(history_events=100))
    arn = machine.function("work", lambda event, context: event)
    described, events = machine.run(_loop(arn), "Work")
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert described["cause"] == "The execution reached the maximum number of history events (100)."
    assert len(events) == 100 and events[-1]["type"] == "ExecutionFailed"
    assert "PassStateEntered" not in _types(events), "no Catch runs after the quota"
    # ids stay consecutive: the quota's ExecutionFailed took the place of the event that would have been 100th
    assert [e["id"] for e in events] == list(range(1, 101))


def test_the_quota_fails_a_task_before_its_function_is_invoked(account):
    machine = account(Limits(history_events=4))  # 1 ExecutionStarted, 2 TaskStateEntered, 3 TaskScheduled, 4 ...
    arn = machine.function("work", lambda event, context: event)
    described, events = machine.run({"Work": {**_task(arn), "Catch": CATCH, "End": True}, **CAUGHT}, "Work")
    assert described["status"] == "FAILED"
    assert _types(events) == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "ExecutionFailed"]
    assert machine.calls["work"] == 0, "event 4 would have been TaskStarted: the function never ran"


def test_an_execution_may_succeed_on_its_last_allowed_event(account):
    machine = account(Limits(history_events=4))
    described, events = machine.run({"Pass": {"Type": "Pass", "End": True}}, "Pass")
    assert described["status"] == "SUCCEEDED"
    assert _types(events) == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_the_history_quota_can_only_be_lowered():
    with pytest.raises(ValueError, match="less than or equal to 25000"):
        Limits(history_events=25_001)
    assert Limits().history_events == 25_000


# --- payloads ----------------------------------------------------------------------------------------------


def test_a_task_result_over_256_kib_fails_with_data_limit_exceeded_which_no_catch_catches(account):
    machine = account()
    big = machine.function("big", lambda event, context: {"blob": "x" * (256 * 1024)})
    states = {"Task": {**_task(big), "Retry": RETRY, "Catch": CATCH, "End": True}, **CAUGHT}
    described, events = machine.run(states, "Task")
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"
    assert machine.calls["big"] == 1, "no Retry either"
    assert "PassStateEntered" not in _types(events)


def test_a_task_input_over_256_kib_fails_before_the_function_runs(account):
    machine = account()
    echo = machine.function("echo", lambda event, context: event)
    grow = {"Type": "Pass", "Parameters": {"a.$": "$.half", "b.$": "$.half"}, "Next": "Task"}
    states = {"Grow": grow, "Task": {**_task(echo), "Catch": CATCH, "End": True}, **CAUGHT}
    # each state's input is under the quota; the task's Parameters double it past 256 KiB
    half = "y" * (100 * 1024)
    states["Task"]["Parameters"] = {"FunctionName": echo, "Payload": {"a.$": "$.a", "b.$": "$.b", "c.$": "$.a"}}
    described, _ = machine.run(states, "Grow", {"half": half})
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"
    assert machine.calls["echo"] == 0


def test_an_execution_input_over_256_kib_is_refused(account):
    machine = account()
    machine_arn = machine.sfn.create_state_machine(
        name="tiny",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=machine.role,
    )["stateMachineArn"]
    with pytest.raises(ClientError) as refused:
        machine.sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps({"x": "é" * (130 * 1024)}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"


# --- Lambda: time, Timeout, faults ---------------------------------------------------------------------


def test_a_task_timeout_runs_in_virtual_time(account):
    machine = account(timings=AwsTimings(function_run_seconds={"slow": 50}, lambda_cold_start_seconds=0))
    slow = machine.function("slow", lambda event, context: event, timeout=900)
    started = machine.aws.clock.now()
    described, events = machine.run({"Task": {**_task(slow), "TimeoutSeconds": 20, "End": True}}, "Task")
    assert described["status"] == "FAILED" and described["error"] == "States.Timeout"
    timed_out = next(e for e in events if e["type"] == "TaskTimedOut")
    assert (timed_out["timestamp"] - started).total_seconds() == pytest.approx(20, abs=0.01)


def test_a_function_past_its_timeout_fails_with_sandbox_timedout(account):
    machine = account(timings=AwsTimings(lambda_cold_start_seconds=0.5))
    slow = machine.function("slow", lambda event, context: event, timeout=3)
    machine.aws.timings.function_run_seconds["slow"] = 4
    started = machine.aws.clock.now()
    described, events = machine.run({"Task": {**_task(slow), "End": True}}, "Task")
    failed = next(e for e in events if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in failed["taskFailedEventDetails"]["cause"]
    assert (failed["timestamp"] - started).total_seconds() == pytest.approx(3, abs=0.01)
    assert described["status"] == "FAILED"


def test_a_handler_is_stopped_at_its_first_aws_call_past_its_timeout(account):
    machine = account(timings=AwsTimings(lambda_cold_start_seconds=0, lambda_run_seconds=0, aws_call_seconds=1))
    made: list[int] = []

    def chatty(event: dict[str, Any], context: Any) -> Any:
        sqs = boto3.client("ssm", region_name=REGION)
        for index in range(10):
            sqs.describe_parameters()
            made.append(index)
        return {}

    arn = machine.function("chatty", chatty, timeout=3)
    described, events = machine.run({"Task": {**_task(arn), "End": True}}, "Task")
    assert described["status"] == "FAILED"
    assert next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]["error"] == "Sandbox.Timedout"
    assert len(made) == 2, "calls take 1 s each: the third would end after the 3 s Timeout"


def test_aws_calls_happen_at_increasing_times_and_a_warm_function_starts_faster(account):
    machine = account(timings=AwsTimings(lambda_cold_start_seconds=1, lambda_run_seconds=0.1, aws_call_seconds=0.25))
    seen: list[float] = []

    def worker(event: dict[str, Any], context: Any) -> Any:
        ssm = boto3.client("ssm", region_name=REGION)
        for _ in range(3):
            ssm.describe_parameters()
            seen.append(machine.aws.clock.elapsed())
        return event

    arn = machine.function("worker", worker)
    states = {"First": {**_task(arn), "Next": "Second"}, "Second": {**_task(arn), "End": True}}
    described, events = machine.run(states, "First")
    assert described["status"] == "SUCCEEDED"
    started = [e["timestamp"] for e in events if e["type"] == "TaskStarted"]
    ended = [e["timestamp"] for e in events if e["type"] == "TaskSucceeded"]
    durations = [(b - a).total_seconds() for a, b in zip(started, ended, strict=True)]
    assert durations == [pytest.approx(1 + 0.1 + 3 * 0.25, abs=0.01), pytest.approx(0.1 + 3 * 0.25, abs=0.01)]
    assert seen[1] - seen[0] == pytest.approx(0.25, abs=0.01) and seen[2] - seen[1] == pytest.approx(0.25, abs=0.01)


def test_function_faults_raise_or_time_out_as_lambda_reports_them(account):
    faults = [
        FunctionFault(function="flaky", kind="raises", error_type="KeyError", after_calls=1),
        FunctionFault(function="hung", kind="timeout"),
    ]
    machine = account(faults=faults)
    flaky = machine.function("flaky", lambda event, context: event)
    hung = machine.function("hung", lambda event, context: event, timeout=7)
    states = {
        "Ok": {**_task(flaky), "Next": "Raises"},
        "Raises": {
            **_task(flaky),
            "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.e", "Next": "Hangs"}],
            "Next": "Hangs",
        },
        "Hangs": {**_task(hung), "End": True},
    }
    described, events = machine.run(states, "Ok")
    errors = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert errors == ["KeyError", "Sandbox.Timedout"]
    assert machine.calls["flaky"] == 1 and machine.calls["hung"] == 0, "a fault replaces the handler"
    assert described["status"] == "FAILED"


def test_a_response_over_6_mb_is_a_function_error(account):
    machine = account()
    arn = machine.function("huge", lambda event, context: "z" * (6 * 1024 * 1024 + 1))
    response = machine.session.client("lambda").invoke(FunctionName=arn, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


# --- what the services check on their side -----------------------------------------------------------------


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_the_services_refuse_what_aws_refuses(account):
    machine = account()
    session = machine.session
    sns, ddb, events = session.client("sns"), session.client("dynamodb"), session.client("events")
    topic = sns.create_topic(Name="t")["TopicArn"]
    assert _code(lambda: sns.publish(TopicArn=topic, Subject="s" * 100, Message="m")) == "InvalidParameter"
    assert _code(lambda: sns.publish(TopicArn=topic, Subject="two\nlines", Message="m")) == "InvalidParameter"
    assert _code(lambda: sns.publish(TopicArn=topic, Message="m" * (256 * 1024 + 1))) == "InvalidParameter"
    sns.publish(TopicArn=topic, Subject="s" * 99, Message="m" * (256 * 1024))  # at the limits: accepted
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    big_item = {"pk": {"S": "a"}, "v": {"S": "x" * (400 * 1024)}}
    assert _code(lambda: ddb.put_item(TableName="t", Item=big_item)) == "ValidationException"
    entry = {"Source": "s", "DetailType": "d", "Detail": json.dumps({"x": "y" * (256 * 1024)})}
    assert _code(lambda: events.put_events(Entries=[entry])) == "ValidationException"
    sfn = machine.sfn
    assert _code(lambda: sfn.send_task_failure(taskToken="t", error="e" * 257)) == "ValidationException"
    assert _code(lambda: sfn.send_task_failure(taskToken="t", cause="c" * 32769)) == "ValidationException"
    cloudwatch = session.client("cloudwatch")
    alarm = {
        "MetricName": "m",
        "Namespace": "n",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    assert _code(lambda: cloudwatch.put_metric_alarm(AlarmName="a" * 256, **alarm)) == "ValidationError"
    assert _code(lambda: cloudwatch.put_metric_alarm(AlarmName="a", AlarmDescription="d" * 1025, **alarm)) == (
        "ValidationError"
    )
    sagemaker = session.client("sagemaker")
    assert (
        _code(
            lambda: sagemaker.update_endpoint_weights_and_capacities(
                EndpointName="bad name!", DesiredWeightsAndCapacities=[{"VariantName": "v", "DesiredWeight": 1}]
            )
        )
        == "ValidationException"
    )
