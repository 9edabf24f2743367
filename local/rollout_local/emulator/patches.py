"""Every point where local mode reaches into moto, in one place.

moto runs the real ASL and stores DynamoDB, SSM, SNS, IAM, Lambda and Step Functions state. Local mode adds:
- the real handlers, in-process, for every Lambda task (``LambdaSimpleBackend.invoke``);
- virtual time for Wait states, Retry intervals, botocore's retry backoff and history timestamps
  (``WaitFunction._wait_interval``, the retrier's ``time.sleep``, ``botocore.endpoint.time``,
  ``EventManager._get_current_timestamp``, execution start and end);
- callback tasks waiting for their token in virtual time (``CallbackEndpoint.wait``/``notify``);
- CloudWatch percentiles and initial alarm state (``Statistics.get_statistics_for_type``, ``FakeAlarm``);
- SendTaskFailure's cause (``StepFunctionResponse.send_task_failure`` drops it);
- CloudWatch DescribeAlarmHistory, which moto lacks (``CloudWatchResponse.describe_alarm_history``), answered
  from the simulated world's alarm transitions (virtual time);
- concurrent executions (``Execution.__deepcopy__``: moto copies running executions on every start);
- the ``states:startExecution`` integration's parameter names (``StateTaskServiceSfn._normalise_parameters``);
- the SageMaker emulator, scenario faults (``faults.py``), per-operation call counts, one request at a time into
  moto's DynamoDB, and IAM (each call judged against the caller's role from template.yaml), at moto's one request
  entry point (``BotocoreStubber.__call__``); the state machine's own calls are told apart by the credentials
  moto's interpreter signs them with (``boto_client_for``).
``tests/functional/test_patch_points.py`` fails loudly when a moto upgrade moves any of these.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudwatch.models import Alarm as FakeAlarm
from moto.cloudwatch.models import Statistics
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import StepFunctionResponse

from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.faults import Fault, Faults, error_response, fault_response
from rollout_local.emulator.iam import STATE_MACHINE, LocalIam
from rollout_local.emulator.sagemaker import ApiError, SageMakerEmulator
from rollout_local.emulator.world import percentile

MOTO_VERSION = "5.2.1"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

LambdaHandler = Callable[[dict[str, Any], Any], Any]
# moto's Step Functions interpreter signs its service-integration calls with this access key (boto_client_for)
INTERPRETER_ACCESS_KEY = "ak"


@dataclass
class LocalContext:
    """The Lambda context object a handler receives (the attributes Powertools reads)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Invocation:
    function: str
    at: datetime
    error: str | None
    event: dict[str, Any]


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialize {type(value).__name__}")


class LocalAws:
    """An emulated AWS account: ``with LocalAws(clock) as aws:`` then create clients and run executions."""

    def __init__(self, clock: VirtualClock, sagemaker: SageMakerEmulator, faults: list[Fault] | None = None) -> None:
        self.clock = clock
        self.sagemaker = sagemaker
        self.faults = Faults(faults or [])
        # moto's DynamoDB is not safe across threads; on AWS every request (a conditional write above all) is atomic
        self._dynamodb = threading.Lock()
        self.handlers: dict[str, LambdaHandler] = {}
        self.api_calls: Counter[str] = Counter()
        self.invocations: list[Invocation] = []
        self.published: list[tuple[datetime, dict[str, Any]]] = []  # custom events the functions put (time, entry)
        self.alarm_history: Callable[[], list[Any]] = list  # the world's alarm transitions, once there is a world
        self.iam: LocalIam | None = None  # the template's roles, once the stack is deployed (None: unchecked)
        self.event_sink: Callable[[dict[str, Any]], None] | None = None  # the simulation's bus (PutEvents entries)
        self._local = threading.local()
        self._stack = ExitStack()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalAws:
        import rollout.clock
        from rollout.aws import clients

        stack = self._stack
        mocked = mock_aws(config=MOTO_CONFIG)
        mocked.start()
        stack.callback(mocked.stop)
        original_call = BotocoreStubber.__call__
        local = self

        def stub(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
            return local._dispatch(original_call, stubber, event_name, request, **kwargs)

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            return local._invoke(function_name, body, response_headers)

        clock = self.clock
        stack.enter_context(mock.patch.object(BotocoreStubber, "__call__", stub))
        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", invoke))
        stack.enter_context(
            mock.patch.object(
                WaitFunction, "_wait_interval", lambda _self, env, wait_seconds: clock.sleep(wait_seconds)
            )
        )
        stack.enter_context(mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=clock.sleep)))
        stack.enter_context(mock.patch.object(botocore.endpoint, "time", _ParticipantTime(clock, self._local)))
        stack.enter_context(mock.patch.object(EventManager, "_get_current_timestamp", staticmethod(clock.now)))
        stack.enter_context(mock.patch.object(Execution, "start", _timed_start(Execution.start, clock)))
        stack.enter_context(
            mock.patch.object(
                ExecutionWorker, "_execution_logic", _timed_logic(ExecutionWorker._execution_logic, clock)
            )
        )
        # moto deep-copies the state machine (with its executions) at every StartExecution; a running execution
        # holds locks and threads, so a second concurrent start would fail. A live execution is not data: share it.
        stack.enter_context(
            mock.patch.object(Execution, "__deepcopy__", lambda execution, memo: execution, create=True)
        )

        # Callback tasks (.waitForTaskToken) wait for their token, or their timeout, in virtual time.
        def callback_wait(endpoint: CallbackEndpoint, timeout: float | None = None) -> Any:
            clock.wait_event(endpoint._notify_event, timeout)
            return endpoint._outcome

        stack.enter_context(mock.patch.object(CallbackEndpoint, "wait", callback_wait))
        for name in ("notify", "interrupt_all"):
            stack.enter_context(
                mock.patch.object(CallbackEndpoint, name, _waking(getattr(CallbackEndpoint, name), clock))
            )

        # SendTaskFailure: moto's handler drops the cause; AWS hands it to the Catch (who aborted, and why).
        def send_task_failure(response: StepFunctionResponse) -> Any:
            response.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]
                response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
            )
            return EmptyResult()

        stack.enter_context(mock.patch.object(StepFunctionResponse, "send_task_failure", send_task_failure))
        # CloudWatch: moto computes no percentile statistics, and starts a new alarm in OK where AWS starts it
        # in INSUFFICIENT_DATA.
        stack.enter_context(
            mock.patch.object(
                Statistics, "get_statistics_for_type", _with_percentiles(Statistics.get_statistics_for_type)
            )
        )
        stack.enter_context(mock.patch.object(FakeAlarm, "__init__", _insufficient_at_first(FakeAlarm.__init__)))
        stack.enter_context(
            mock.patch.object(
                CloudWatchResponse,
                "describe_alarm_history",
                lambda response: _alarm_history(response, self.alarm_history()),
                create=True,
            )
        )
        # The optimized `states:startExecution` integration: moto hands the ASL's PascalCase parameters to a
        # boto3 client whose Step Functions API is camelCase, so every start fails; AWS maps them.
        stack.enter_context(
            mock.patch.object(
                StateTaskServiceSfn, "_normalise_parameters", _sfn_parameters(StateTaskServiceSfn._normalise_parameters)
            )
        )
        rollout.clock.use(clock.now)
        stack.callback(rollout.clock.use, None)
        clients.reset()
        stack.callback(clients.reset)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # --- Lambda, in-process ------------------------------------------------------------------------------

    def register(self, function_arn: str, handler: LambdaHandler) -> None:
        self.handlers[function_arn] = handler
        self.handlers[function_arn.rsplit(":", 1)[-1]] = handler

    def _invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        handler = self.handlers.get(function_name) or self.handlers.get(function_name.rsplit(":", 1)[-1])
        if handler is None:
            raise KeyError(f"no local handler registered for Lambda function {function_name}")
        short = function_name.rsplit(":", 1)[-1]
        event = json.loads(body) if body else {}
        context = LocalContext(short, function_name, str(uuid.uuid4()), log_group_name=f"/aws/lambda/{short}")
        with self.in_handler(short), self.acting_as(short):
            try:
                result = handler(event, context)
            except Exception as exc:  # a Lambda function error, as the Lambda service reports it
                self.invocations.append(Invocation(short, self.clock.now(), type(exc).__name__, event))
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": [
                            f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
                            for frame in traceback.extract_tb(exc.__traceback__)[-3:]
                        ],
                    }
                ).encode()
        self.invocations.append(Invocation(short, self.clock.now(), None, event))
        return json.dumps(result, default=_json_default).encode()

    @contextmanager
    def in_handler(self, function: str = "handler") -> Iterator[None]:
        """Calls made inside are the workflow's: they count as the service's API calls and meet its faults."""
        previous = getattr(self._local, "in_handler", False), getattr(self._local, "function", "")
        self._local.in_handler, self._local.function = True, function
        try:
            yield
        finally:
            self._local.in_handler, self._local.function = previous

    @contextmanager
    def acting_as(self, function_name: str) -> Iterator[None]:
        """Calls made inside are the function's: IAM judges them against its role."""
        previous = getattr(self._local, "principal", None)
        self._local.principal = function_name
        try:
            yield
        finally:
            self._local.principal = previous

    def _caller(self, request: Any) -> str | None:
        """Whose call this is: a function's (in its handler), the state machine's, or None (the simulator's)."""
        principal: str | None = getattr(self._local, "principal", None)
        if principal is None and f"Credential={INTERPRETER_ACCESS_KEY}/" in str(
            request.headers.get("Authorization", "")
        ):
            return STATE_MACHINE
        return principal

    # --- requests ----------------------------------------------------------------------------------------

    def _dispatch(
        self,
        original: Callable[..., AWSResponse | None],
        stubber: BotocoreStubber,
        event_name: str,
        request: Any,
        **kwargs: Any,
    ) -> AWSResponse | None:
        if not stubber.enabled:
            return None
        _, service, operation = ([*event_name.split("."), "", ""])[:3]
        api = f"{service}:{operation}"
        in_workflow = getattr(self._local, "in_handler", False)
        if in_workflow:
            self.api_calls[api] += 1
            if api == "eventbridge:PutEvents":
                for entry in json.loads(request.body or b"{}").get("Entries", []):
                    self.published.append((self.clock.now(), entry))
        if self.iam is not None:
            denial = self.iam.authorize(self._caller(request), service, operation, request)
            if denial is not None:
                code, status, headers = denial.shape
                return error_response(request, code, denial.message, status, headers)
        # scenario faults: the workflow's calls only, never the simulator's setup, world or operator
        fault = self.faults.error_for(api) if in_workflow else None
        if fault is not None:
            return fault_response(request, fault, self._local.function)
        if service == "sagemaker" and self.sagemaker.handles(operation):
            params = json.loads(request.body or b"{}")

            def outcome() -> Fault | None:  # asked only once SageMaker has accepted the operation
                return self.faults.outcome_for(api, params) if in_workflow else None

            try:
                result = self.sagemaker.call(operation, params, outcome)
            except ApiError as error:
                return error_response(request, error.code, error.message, error.status)
            body = json.dumps(result, default=_json_default)
            return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, MockRawResponse(body))
        if service == "dynamodb":
            with self._dynamodb:  # one request at a time: a conditional write is atomic, as on AWS
                return original(stubber, event_name, request, **kwargs)
        response = original(stubber, event_name, request, **kwargs)
        accepted = response is not None and response.status_code < 300  # only what EventBridge took goes on
        if api == "eventbridge:PutEvents" and self.event_sink is not None and accepted:
            for entry in json.loads(request.body or b"{}").get("Entries", []):
                self.event_sink(entry)
        return response


def _when(value: Any) -> datetime | None:
    """A timestamp however moto hands it over, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _alarm_history(response: Any, transitions: list[Any]) -> ActionResult:
    """DescribeAlarmHistory (StateUpdate items) from the world's alarm transitions."""
    name = response._get_param("AlarmName")
    start, end = _when(response._get_param("StartDate")), _when(response._get_param("EndDate"))
    items = []
    for t in transitions:
        at = _when(t.at)
        assert at is not None
        if (name and t.alarm != name) or (start and at < start) or (end and at > end):
            continue
        data = {
            "version": "1.0",
            "oldState": {"stateValue": t.old},
            "newState": {"stateValue": t.new, "stateReason": t.reason},
        }
        items.append(
            {
                "AlarmName": t.alarm,
                "AlarmType": "MetricAlarm",
                "Timestamp": t.at,
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {t.old} to {t.new}",
                "HistoryData": json.dumps(data),
            }
        )
    if response._get_param("ScanBy") != "TimestampAscending":
        items.reverse()
    return ActionResult({"AlarmHistoryItems": items})


class _ParticipantTime:
    """``time`` for botocore's retry backoff: virtual inside a simulated execution, real elsewhere."""

    def __init__(self, clock: VirtualClock, local: threading.local) -> None:
        self._clock, self._local = clock, local

    def sleep(self, seconds: float) -> None:
        # A handler invoked by a simulated execution runs in one of moto's worker threads (a task's own thread,
        # in fact, so thread-locals of the execution do not reach it); a handler a test calls directly runs in
        # the main thread, outside simulated time.
        in_execution = threading.current_thread() is not threading.main_thread()
        if getattr(self._local, "in_handler", False) and in_execution:
            self._clock.sleep(seconds)
        else:
            time.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _waking(original: Callable[..., None], clock: VirtualClock) -> Callable[..., None]:
    def call(endpoint: CallbackEndpoint, *args: Any, **kwargs: Any) -> None:
        original(endpoint, *args, **kwargs)
        clock.wake(endpoint._notify_event)

    return call


def _with_percentiles(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_statistics_for_type(statistics: Statistics, stat: str) -> Any:
        if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
            values = sorted(statistics.metric_single_values_list)
            return percentile(values, float(stat[1:])) if values else None
        return original(statistics, stat)

    return get_statistics_for_type


def _insufficient_at_first(original: Callable[..., None]) -> Callable[..., None]:
    def init(alarm: FakeAlarm, *args: Any, **kwargs: Any) -> None:
        original(alarm, *args, **kwargs)
        alarm.state_value = "INSUFFICIENT_DATA"

    return init


SFN_START_PARAMETERS = {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input"}


def _sfn_parameters(original: Callable[..., None]) -> Callable[..., None]:
    def normalise(
        task: StateTaskServiceSfn,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(task, parameters, boto_service_name, service_action_name)
        if service_action_name is None and task._get_boto_service_action() == "start_execution":
            for asl, boto in SFN_START_PARAMETERS.items():
                if asl in parameters:
                    parameters[boto] = parameters.pop(asl)

    return normalise


def _timed_start(original: Callable[[Execution], None], clock: VirtualClock) -> Callable[[Execution], None]:
    def start(execution: Execution) -> None:
        execution.start_date = clock.now()
        clock.enter()  # before the worker thread exists, so time cannot run ahead of it
        try:
            original(execution)
        except BaseException:
            clock.exit()
            raise

    return start


def _timed_logic(original: Callable[[ExecutionWorker], None], clock: VirtualClock) -> Callable[[ExecutionWorker], None]:
    def logic(worker: ExecutionWorker) -> None:
        try:
            original(worker)
        finally:
            clock.exit()

    return logic
