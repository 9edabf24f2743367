"""Every point where local mode reaches into moto, in one place.

moto runs the real ASL and stores DynamoDB, SSM, SNS, IAM, Lambda and Step Functions state. Local mode adds:
- the real handlers, in-process, for every Lambda task (``LambdaSimpleBackend.invoke``);
- virtual time for Wait states, Retry intervals, botocore's retry backoff and history timestamps
  (``WaitFunction._wait_interval``, the retrier's ``time.sleep``, ``botocore.endpoint.time``,
  ``EventManager._get_current_timestamp``, execution start and end);
- callback tasks waiting for their token in virtual time (``CallbackEndpoint.wait``/``notify``);
- CloudWatch percentiles and initial alarm state (``Statistics.get_statistics_for_type``, ``FakeAlarm``);
- CloudWatch's metrics of the namespaces the world simulates, kept indexed by series and minute in
  ``metrics.py`` (``CloudWatchBackend.get_metric_data``, ``get_metric_statistics``, ``put_metric_data``): a
  query reads the window it asks for, not every datapoint ever put;
- SendTaskFailure's cause (``StepFunctionResponse.send_task_failure`` drops it);
- GetExecutionHistory's answer written as JSON directly (``StepFunctionResponse.get_execution_history``): moto's
  generic serializer takes milliseconds per event, longer than the execution took to run;
- CloudWatch DescribeAlarmHistory, which moto lacks (``CloudWatchResponse.describe_alarm_history``), answered
  from the simulated world's alarm transitions (virtual time);
- concurrent executions (``Execution.__deepcopy__``: moto copies running executions on every start);
- a definition validated once per process, not at every CreateStateMachine (``StepFunctionsParserBackend.
  _validate_definition``: moto parses the whole ASL to validate it, a second a simulation): a definition moto
  accepted is accepted again, one it refused is parsed (and refused) every time;
- the ASL parsed once per definition, not once per execution (``ExecutionWorker._get_evaluation_entrypoint``): the
  parsed program is read-only, every execution keeps its state in its own ``Environment``; a JSONPath compiled once
  per expression (``json_path.parse``, and ResultPath's ``result_path.parse``), and the interpreter's boto3 client
  for a service made once per simulation, not once per task (``boto_client.boto3``; boto3's clients are thread-
  safe); botocore's service models read from disk once per process, not once per session
  (``botocore.session.create_loader``), and a client class built once per process and service
  (``ClientCreator._create_client_class``: botocore builds a class with a method for every operation at every
  client, 20 ms for SageMaker's; the class holds no state, every client its own); and the per-request work botocore
  and moto redo with the same answer: an event name's alias (``EventAliaser._alias_event_name``, cached per process
  instead of per client), a user-agent component's sanitizing
  (``botocore.useragent.sanitize_user_agent_string_component``), the response class's member list
  (``moto.core.responses.method_names_from_class``), a TLS context per client (``URLLib3Session._get_ssl_context``:
  no request leaves the process), and the deep copies of JSON in moto's interpreter (``copy`` of its ``states``,
  ``string_expression``, ``execute_state``, ``state_task_service``, ``result_path`` and ``event_manager`` modules:
  ``json_copy``; the history is copied whole for every page GetExecutionHistory reads) and of botocore's request
  context (``botocore.context.deepcopy``);
- the deployed stack's roles and functions made by the backend methods moto's own handlers call (``provision_role``,
  ``provision_function``), each request checked first as botocore and the entry point check it;
- the ``states:startExecution`` integration's parameter names (``StateTaskServiceSfn._normalise_parameters``);
- the SageMaker emulator, scenario faults (``faults.py``), per-operation call counts, one request at a time into
  moto's DynamoDB, and IAM (each call judged against the caller's role from template.yaml), at moto's one request
  entry point (``BotocoreStubber.__call__``); the state machine's own calls are told apart by the credentials
  moto's interpreter signs them with (``boto_client_for``).
- AWS's quotas and limits and the time AWS takes (the rules are in ``limits.py`` and ``requests.py``): the history quota
  (``EventManager.add_event``, ``Environment.set_error``, ``ExecutionWorker._get_evaluation_environment``),
  ``States.DataLimitExceeded`` and ``States.Runtime`` uncatchable (``ErrorEqualsDecl._eval_body``), a task's
  input size (``StateTaskService._before_eval_execution``), task timeouts in virtual time (``execute_state``'s
  ``Thread`` and ``threading.Event``), the services' server-side request constraints
  (``ParamValidationDecorator.serialize_to_request`` marks a request, the entry point refuses it), and each
  Lambda invocation's duration, Timeout and faults (``LambdaSimpleBackend.invoke``).
``tests/functional/test_patch_points.py`` fails loudly when a moto upgrade moves any of these.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import random as _random
import re
import threading
import time
import traceback
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, unquote, urlsplit

import boto3
import botocore.context
import botocore.endpoint
import botocore.session
import botocore.useragent
from botocore.awsrequest import AWSResponse
from botocore.client import ClientCreator
from botocore.context import ClientContext
from botocore.exceptions import ClientError
from botocore.hooks import EventAliaser
from botocore.httpsession import URLLib3Session
from botocore.retries.standard import ExponentialBackoff
from botocore.utils import EVENT_ALIASES
from botocore.validate import ParamValidationDecorator, validate_parameters
from jsonpath_ng.parser import parse as jsonpath_parse
from moto import mock_aws
from moto.awslambda.exceptions import FunctionAlreadyExists, UnknownFunctionException
from moto.awslambda.utils import get_backend as lambda_backend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudwatch.models import Alarm as FakeAlarm
from moto.cloudwatch.models import CloudWatchBackend, Statistics
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core import responses as moto_responses
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.iam.models import iam_backends
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval import states as asl_states
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from rollout_local.emulator import limits, requests
from rollout_local.emulator.clock import SimulationClosed, VirtualClock
from rollout_local.emulator.faults import Fault, Faults, error_response, fault_response
from rollout_local.emulator.iam import STATE_MACHINE, LocalIam
from rollout_local.emulator.limits import (
    Admission,
    AwsTimings,
    FunctionFault,
    FunctionFaults,
    FunctionTimedOutError,
    HistoryQuota,
    HistoryQuotaReachedError,
    LambdaEnvironments,
    Limits,
    RunningInvocation,
)
from rollout_local.emulator.metrics import MetricStore
from rollout_local.emulator.sagemaker import ACCOUNT, REGION, ApiError, SageMakerEmulator
from rollout_local.emulator.world import percentile

MOTO_VERSION = "5.2.1"
RANDOM_SEED = 20260105  # every simulation draws its jitter from a generator seeded with this
INVOKE_ENDPOINT_MAX_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's payload limit (SageMaker endpoints quotas: 6 MB)
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

LambdaHandler = Callable[[dict[str, Any], Any], Any]
# moto's Step Functions interpreter signs its service-integration calls with this access key (boto_client_for)
INTERPRETER_ACCESS_KEY = "ak"


REFUSAL_HEADER = "x-local-refusal"  # a request the service would refuse (set at serialization, answered at dispatch)


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
    deadline: datetime | None = None
    now: Callable[[], datetime] | None = None

    def get_remaining_time_in_millis(self) -> int:
        if self.deadline is None or self.now is None:
            return 60_000
        return max(0, int((self.deadline - self.now()).total_seconds() * 1000))


class _RequestTooLargeError(JsonRESTError):
    code = 413


@dataclass
class Invocation:
    function: str
    at: datetime
    error: str | None
    event: dict[str, Any]
    seconds: float = 0.0  # simulated duration, init included (what Lambda bills)
    cold: bool = False  # a new execution environment was started for it


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialize {type(value).__name__}")


class LocalAws:
    """An emulated AWS account: ``with LocalAws(clock) as aws:`` then create clients and run executions."""

    def __init__(
        self,
        clock: VirtualClock,
        sagemaker: SageMakerEmulator,
        faults: list[Fault | FunctionFault] | None = None,
        limits: Limits | None = None,
        timings: AwsTimings | None = None,
    ) -> None:
        self.clock = clock
        self.sagemaker = sagemaker
        # AWS's jitter (the state machine's JitterStrategy FULL, botocore's retry backoff) is random; here it is
        # drawn from one generator per simulation, so the same scenario retries at the same instants every run
        # (the process-wide ``random`` would carry draws over from whatever ran before in the process).
        self.random = _random.Random(RANDOM_SEED)  # noqa: S311 - a simulation's jitter, no secret
        self.faults = Faults([f for f in faults or [] if isinstance(f, Fault)])
        # moto's DynamoDB is not safe across threads; on AWS every request (a conditional write above all) is atomic
        self._dynamodb = threading.Lock()
        self.function_faults = FunctionFaults(f for f in faults or [] if isinstance(f, FunctionFault))
        self.limits = limits or Limits()
        self.timings = timings or AwsTimings()
        self.history_quota = HistoryQuota(self.limits.history_events)
        self.environments = LambdaEnvironments(self.timings.lambda_warm_seconds)
        self.timeouts: dict[str, float] = {}  # function name -> its Timeout (seconds), as template.yaml sets it
        self.handlers: dict[str, LambdaHandler] = {}
        self.api_calls: Counter[str] = Counter()
        self.call_log: list[tuple[datetime, str]] = []  # (when, service:Operation) of every workflow call
        self.invocations: list[Invocation] = []
        self.published: list[tuple[datetime, dict[str, Any]]] = []  # custom events the functions put (time, entry)
        self.alarm_history: Callable[[], list[Any]] = list  # the world's alarm transitions, once there is a world
        self.iam: LocalIam | None = None  # the template's roles, once the stack is deployed (None: unchecked)
        self.event_sink: Callable[[dict[str, Any]], None] | None = None  # the simulation's bus (PutEvents entries)
        self.metric_store: MetricStore | None = None  # CloudWatch's metrics of the world's namespaces, indexed
        self.alarm_changes = 0  # moves whenever a request may have changed an alarm (the world re-reads them then)
        # the world's InvokeEndpoint: (endpoint, target variant, body, content type, inference id) -> answer
        self.runtime: Callable[[str, str | None, bytes, str, str | None], tuple[str, bytes, str, float]] | None = None
        self.people_keys: dict[str, str] = {}  # a person's access key -> their principal for local IAM
        self._local = threading.local()
        self._stack = ExitStack()
        self._executions = threading.Condition()  # notified whenever an execution ends
        self.running: set[str] = set()  # ARNs of the executions running now (whoever started them)

    def execution_started(self, arn: str) -> None:
        with self._executions:
            self.running.add(arn)

    def execution_ended(self, arn: str) -> None:
        with self._executions:
            self.running.discard(arn)
            self._executions.notify_all()

    def wait_for_executions(self, done: Callable[[], bool], timeout: float) -> bool:
        """Block (no polling) until ``done()`` holds after an execution ends, or ``timeout`` wall seconds pass."""
        with self._executions:
            return self._executions.wait_for(done, timeout)

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
        stack.enter_context(mock.patch.object(Execution, "start", _timed_start(Execution.start, clock, self)))
        stack.enter_context(
            mock.patch.object(
                ExecutionWorker, "_execution_logic", _timed_logic(ExecutionWorker._execution_logic, clock, self)
            )
        )
        # moto deep-copies the state machine (with its executions) at every StartExecution; a running execution
        # holds locks and threads, so a second concurrent start would fail. A live execution is not data: share it.
        stack.enter_context(
            mock.patch.object(Execution, "__deepcopy__", lambda execution, memo: execution, create=True)
        )

        stack.enter_context(
            mock.patch.object(
                ExecutionWorker,
                "_get_evaluation_entrypoint",
                _parsed_once(ExecutionWorker._get_evaluation_entrypoint),
            )
        )

        stack.enter_context(
            mock.patch.object(
                StepFunctionsParserBackend,
                "_validate_definition",
                staticmethod(_validated_once(StepFunctionsParserBackend._validate_definition)),
            )
        )
        stack.enter_context(mock.patch.object(botocore.session, "create_loader", _shared_loader))
        stack.enter_context(mock.patch.object(URLLib3Session, "_get_ssl_context", _shared_ssl_context))
        stack.enter_context(
            mock.patch.object(ClientCreator, "_create_client_class", _shared_client_class(_CREATE_CLIENT_CLASS))
        )
        stack.enter_context(mock.patch.object(EventAliaser, "_alias_event_name", _shared_aliases))
        stack.enter_context(
            mock.patch.object(botocore.useragent, "sanitize_user_agent_string_component", _sanitized_once)
        )
        stack.enter_context(mock.patch.object(moto_responses, "method_names_from_class", _FunctionNames))
        stack.enter_context(mock.patch.object(json_path, "parse", _compiled_json_path))
        stack.enter_context(mock.patch.object(result_path, "parse", _compiled_result_path))
        stack.enter_context(mock.patch.object(asl_states, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(string_expression, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(execute_state, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(state_task_service, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(result_path, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(event_manager, "copy", _JSON_COPYING))
        stack.enter_context(mock.patch.object(botocore.context, "deepcopy", _context_copy))
        interpreter_clients = _ClientCache(boto3)
        stack.enter_context(
            mock.patch.object(boto_client, "boto3", types.SimpleNamespace(client=interpreter_clients.client))
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
        stack.enter_context(mock.patch.object(StepFunctionResponse, "get_execution_history", _execution_history))
        # CloudWatch: moto computes no percentile statistics, and starts a new alarm in OK where AWS starts it
        # in INSUFFICIENT_DATA.
        stack.enter_context(
            mock.patch.object(
                Statistics, "get_statistics_for_type", _with_percentiles(Statistics.get_statistics_for_type)
            )
        )
        stack.enter_context(mock.patch.object(FakeAlarm, "__init__", _insufficient_at_first(FakeAlarm.__init__)))
        for name in ("get_metric_data", "get_metric_statistics", "put_metric_data"):
            stack.enter_context(
                mock.patch.object(CloudWatchBackend, name, _indexed_metrics(getattr(CloudWatchBackend, name), self))
            )
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
        self._enforce_limits(stack)
        rollout.clock.use(clock.now)
        stack.callback(rollout.clock.use, None)
        clients.reset()
        stack.callback(clients.reset)
        return self

    def __exit__(self, *exc: object) -> None:
        # whatever still runs on this account's clock ends before moto's process-wide stores are reset (a thread
        # that outlived its account would act in the next one)
        self.clock.close(timeout=5.0)
        self._stack.close()

    def _enforce_limits(self, stack: ExitStack) -> None:
        """Hook ``limits.py``'s rules into moto's Step Functions interpreter and botocore."""
        clock, quota = self.clock, self.history_quota
        add_event, set_error = EventManager.add_event, Environment.set_error

        def counted_add_event(
            manager: EventManager,
            context: Any,
            event_type: Any,
            event_details: Any = None,
            timestamp: Any = None,
            update_source_event_id: bool = True,
        ) -> int:
            kind = str(getattr(event_type, "value", event_type))
            admission = quota.admit(manager, kind)
            if admission is Admission.ADMIT:
                return int(add_event(manager, context, event_type, event_details, timestamp, update_source_event_id))
            if admission is Admission.DROP:  # the execution failed on its quota: it records nothing more
                return int(context.last_published_event_id)
            # This event would be the last the quota allows and is not ExecutionSucceeded: AWS logs ExecutionFailed
            # in its place and the execution ends there, past any Retry or Catch.
            failure = ExecutionFailedEventDetails(error=limits.HISTORY_QUOTA_ERROR, cause=quota.cause())
            details = EventDetails(executionFailedEventDetails=failure)  # type: ignore[typeddict-item]
            event_id = add_event(manager, context, HistoryEventType.ExecutionFailed, details)
            environment = quota.fail(manager, failure)
            if environment is not None:
                set_error(environment, failure)
            if not kind.startswith("Execution"):  # stop the state that was about to record it
                raise HistoryQuotaReachedError(quota.cause())
            return int(event_id)

        def final_set_error(environment: Environment, error: Any) -> None:
            failure = quota.failure(environment.event_manager)
            if failure is not None and error is not failure:
                return  # the history quota failed this execution: nothing that follows changes how
            set_error(environment, error)

        def registered_environment(worker: ExecutionWorker) -> Environment:
            environment = get_environment(worker)
            quota.register(environment.event_manager, environment)
            return environment

        get_environment = ExecutionWorker._get_evaluation_environment
        stack.enter_context(mock.patch.object(EventManager, "add_event", counted_add_event))
        stack.enter_context(mock.patch.object(Environment, "set_error", final_set_error))
        stack.enter_context(mock.patch.object(ExecutionWorker, "_get_evaluation_environment", registered_environment))
        stack.enter_context(
            mock.patch.object(ErrorEqualsDecl, "_eval_body", _terminal_errors_uncaught(ErrorEqualsDecl._eval_body))
        )
        stack.enter_context(
            mock.patch.object(
                StateTaskService, "_before_eval_execution", _task_input_quota(StateTaskService._before_eval_execution)
            )
        )
        stack.enter_context(mock.patch.object(jitter_strategy_decl, "random", self.random))
        stack.enter_context(
            mock.patch.object(
                ExponentialBackoff, "delay_amount", _seeded_backoff(ExponentialBackoff.delay_amount, self)
            )
        )
        # A closed simulation unwinds its threads with SimulationClosed (see ``VirtualClock.close``); moto's
        # program thread has no handler of its own for it, and that end is no error to print.
        stack.enter_context(mock.patch.object(threading, "excepthook", _quiet_when_closed(threading.excepthook)))
        # A task's TimeoutSeconds runs in virtual time: the state waits for its task thread on the clock, and
        # the task thread takes part in the simulation while it runs (moto waits in real time).
        stack.enter_context(mock.patch.object(execute_state, "Thread", _participant_thread(clock)))
        stack.enter_context(
            mock.patch.object(execute_state, "threading", types.SimpleNamespace(Event=lambda: _ClockEvent(clock)))
        )
        stack.enter_context(
            mock.patch.object(
                ParamValidationDecorator,
                "serialize_to_request",
                _marking_refusals(ParamValidationDecorator.serialize_to_request),
            )
        )

    # --- Lambda, in-process ------------------------------------------------------------------------------

    def register(self, function_arn: str, handler: LambdaHandler, timeout: float = 3) -> None:
        """``handler`` serves the function; it may run ``timeout`` seconds (Lambda's default is 3)."""
        for name in (function_arn, function_arn.rsplit(":", 1)[-1]):
            self.handlers[name] = handler
            self.timeouts[name] = timeout

    def _invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        """One synchronous Lambda invocation: the handler in-process, with the time and the limits Lambda has."""
        short = function_name.rsplit(":", 1)[-1]
        handler = self.handlers.get(function_name) or self.handlers.get(short)
        if handler is None:
            raise KeyError(f"no local handler registered for Lambda function {function_name}")
        refusal = requests.lambda_request_refusal(body)
        if refusal is not None:
            raise _RequestTooLargeError(refusal.code, refusal.message)
        event = json.loads(body) if body else {}
        request_id = str(uuid.uuid4())
        started = self.clock.now()
        timeout = self.timeouts.get(function_name) or self.timeouts.get(short) or 3
        deadline = started + timedelta(seconds=timeout)
        context = LocalContext(short, function_name, request_id, log_group_name=f"/aws/lambda/{short}")
        context.deadline, context.now = deadline, self.clock.now
        cold = self.environments.acquire(short, started)
        self._local.started, self._local.cold = started, cold
        startup = (self.timings.lambda_cold_start_seconds if cold else 0.0) + self.timings.function_run_seconds.get(
            short, self.timings.lambda_run_seconds
        )
        fault = self.function_faults.fault_for(short)
        try:
            if (fault is not None and fault.kind == "timeout") or startup >= timeout:
                self._pass_time(timeout)  # it runs until Lambda stops it
                return self._failed(short, event, response_headers, limits.timed_out_payload(request_id, timeout))
            self._pass_time(startup)
            if fault is not None:  # kind "raises": an unhandled exception, as the runtime reports it
                payload = {"errorType": fault.error_type, "errorMessage": fault.message, "stackTrace": []}
                return self._failed(short, event, response_headers, payload)
            invocation = RunningInvocation(short, deadline, self.timings.aws_call_seconds)
            with self.in_handler(short, invocation), self.acting_as(short):
                try:
                    result = handler(event, context)
                except FunctionTimedOutError:
                    self._pass_time((deadline - self.clock.now()).total_seconds())
                    return self._failed(short, event, response_headers, limits.timed_out_payload(request_id, timeout))
                except Exception as exc:  # a Lambda function error, as the Lambda service reports it
                    payload = {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": [
                            f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
                            for frame in traceback.extract_tb(exc.__traceback__)[-3:]
                        ],
                    }
                    return self._failed(short, event, response_headers, payload)
            if self.clock.now() > deadline:  # it slept (a retry backoff) past its Timeout: Lambda stopped it
                return self._failed(short, event, response_headers, limits.timed_out_payload(request_id, timeout))
            encoded = json.dumps(result, default=_json_default).encode()
            if len(encoded) > limits.LAMBDA_PAYLOAD_BYTES:
                return self._failed(short, event, response_headers, limits.response_too_large_payload())
            self.invocations.append(self._invocation(short, None, event))
            return encoded
        finally:
            self.environments.release(short, self.clock.now())

    def _failed(self, function: str, event: dict[str, Any], headers: dict[str, str], payload: dict[str, Any]) -> bytes:
        """A function error as Lambda answers it: status 200, ``X-Amz-Function-Error: Unhandled``, the error object."""
        self.invocations.append(self._invocation(function, str(payload["errorType"]), event))
        headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(payload).encode()

    def _invocation(self, function: str, error: str | None, event: dict[str, Any]) -> Invocation:
        now = self.clock.now()
        seconds = (now - getattr(self._local, "started", now)).total_seconds()
        return Invocation(function, now, error, event, seconds, bool(getattr(self._local, "cold", False)))

    def _pass_time(self, seconds: float) -> None:
        """Simulated time passes for the caller: parked on the clock inside the simulation (other participants
        run meanwhile), or moved forward for a caller outside it (a test invoking a handler directly)."""
        if seconds <= 0:
            return
        if threading.current_thread() is not threading.main_thread():
            self.clock.sleep(seconds)
        else:
            self.clock.advance(seconds)

    @contextmanager
    def in_handler(self, function: str = "handler", invocation: RunningInvocation | None = None) -> Iterator[None]:
        """Calls made inside are the workflow's: they count as the service's API calls, meet its faults, and (in an
        invocation) take the invocation's time."""
        previous = (
            getattr(self._local, "in_handler", False),
            getattr(self._local, "function", ""),
            getattr(self._local, "invocation", None),
        )
        self._local.in_handler, self._local.function, self._local.invocation = True, function, invocation
        try:
            yield
        finally:
            self._local.in_handler, self._local.function, self._local.invocation = previous

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
        """Whose call this is: a function's (in its handler), the state machine's, a person's (signed with their
        credentials), or None (the simulator's own, and the outside world's)."""
        principal: str | None = getattr(self._local, "principal", None)
        if principal is not None:
            return principal
        authorization = str(request.headers.get("Authorization", ""))
        if f"Credential={INTERPRETER_ACCESS_KEY}/" in authorization:
            return STATE_MACHINE
        signed = re.search(r"Credential=([A-Z0-9]+)/", authorization)  # a person, by their access key
        return self.people_keys.get(signed.group(1)) if signed else None

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
        invocation: RunningInvocation | None = getattr(self._local, "invocation", None)
        if invocation is not None:  # a handler's call: its round trip takes time, and Lambda may stop it first
            delay, stopped = invocation.call_delay(self.clock.now())
            self._pass_time(delay)
            if stopped:
                raise FunctionTimedOutError(invocation.function)
        in_workflow = getattr(self._local, "in_handler", False)
        if in_workflow:
            self.api_calls[api] += 1
            self.call_log.append((self.clock.now(), api))
            if api == "eventbridge:PutEvents":
                for entry in json.loads(request.body or b"{}").get("Entries", []):
                    self.published.append((self.clock.now(), entry))
        if self.iam is not None:
            denial = self.iam.authorize(self._caller(request), service, operation, request)
            if denial is not None:
                code, status, headers = denial.shape
                return error_response(request, code, denial.message, status, headers)
        refused = request.headers.get(REFUSAL_HEADER)
        if refused:  # the service's own validation refuses it (see _marking_refusals)
            code, message, status = json.loads(unquote(refused if isinstance(refused, str) else refused.decode()))
            return error_response(request, code, message, status)
        # scenario faults: the workflow's calls only, never the simulator's setup, world or operator
        fault = self.faults.error_for(api) if in_workflow else None
        if fault is not None:
            return fault_response(request, fault, self._local.function)
        if service == "sagemaker-runtime" and operation == "InvokeEndpoint" and self.runtime is not None:
            return self._invoke_endpoint(request)
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
        if service == "cloudwatch" and operation in ALARM_CHANGING_OPERATIONS:
            self.alarm_changes += 1
        accepted = response is not None and response.status_code < 300  # only what EventBridge took goes on
        if api == "eventbridge:PutEvents" and self.event_sink is not None and accepted:
            for entry in json.loads(request.body or b"{}").get("Entries", []):
                self.event_sink(entry)
        return response

    def _invoke_endpoint(self, request: Any) -> AWSResponse:
        """SageMaker Runtime InvokeEndpoint (REST: ``POST /endpoints/<name>/invocations``; TargetVariant and the
        inference id in headers, the body as sent): the world's model answers."""
        assert self.runtime is not None
        match = re.search(r"/endpoints/([^/]+)/invocations", urlsplit(request.url).path)
        endpoint = unquote(match.group(1)) if match else ""
        headers = request.headers
        variant = headers.get("X-Amzn-SageMaker-Target-Variant")
        inference_id = headers.get("X-Amzn-SageMaker-Inference-Id")
        content_type = headers.get("Content-Type") or "application/octet-stream"
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        body = body.encode() if isinstance(body, str) else bytes(body)
        if len(body) > INVOKE_ENDPOINT_MAX_BYTES:
            return error_response(request, "ValidationError", "Request payload exceeds the maximum of 6 MB.", 400)
        try:
            chosen, answer, answer_type, latency_ms = self.runtime(
                endpoint, _text(variant), body, _text(content_type) or "", _text(inference_id)
            )
        except ApiError as error:
            return error_response(request, error.code, error.message, error.status)
        self._pass_time(latency_ms / 1000.0)  # the model takes its time to answer
        answer_headers = {
            "Content-Type": answer_type,
            "x-Amzn-Invoked-Production-Variant": chosen,
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        return AWSResponse(request.url, 200, answer_headers, MockRawResponse(answer))


def _text(value: Any) -> str | None:
    """A header value as text (botocore keeps some as bytes)."""
    return value.decode() if isinstance(value, bytes) else value


HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX = 100, 1000  # GetExecutionHistory's maxResults (0: the default)


# --- provisioning: the roles and functions of a deployed stack, straight into moto's stores ------------------
# A deployed stack has a role and a function for each of its ~20 functions. CloudFormation creates them through
# IAM's and Lambda's APIs; through boto3 and moto's request layer that was ~50 requests, about half of a
# simulation's set-up. The request each would send is checked as botocore checks it (its shape), then the
# resource is made by the very backend method moto's handler calls with it.

_OPERATIONS: dict[tuple[str, str], Any] = {}


def _validated(service: str, operation: str, params: dict[str, Any]) -> None:
    """Refuse ``params`` as the request would be refused, before anything is made: by botocore
    (ParamValidationError), or by the service's own checks local mode applies at its entry point (ClientError)."""
    key = (service, operation)
    if key not in _OPERATIONS:
        _OPERATIONS[key] = botocore.session.get_session().get_service_model(service).operation_model(operation)
    model = _OPERATIONS[key]
    validate_parameters(params, model.input_shape)
    refusal = requests.model_refusal(model, params) or requests.service_refusal(service, operation, params)
    if refusal is not None:
        raise ClientError({"Error": {"Code": refusal.code, "Message": refusal.message}}, operation)


def provision_role(name: str, trust_policy: str) -> str:
    """IAM CreateRole (name and trust policy, as CloudFormation creates an execution role): the role's ARN."""
    _validated("iam", "CreateRole", {"RoleName": name, "AssumeRolePolicyDocument": trust_policy})
    role = iam_backends[ACCOUNT]["aws"].create_role(name, trust_policy, "/", None, "", [], "3600")
    return str(role.arn)


def provision_function(request: dict[str, Any]) -> str:
    """Lambda CreateFunction with ``request`` as boto3 takes it (``Code.ZipFile`` as bytes): the function's ARN.
    Refused as Lambda refuses it: a request botocore rejects, a role that is not there, a name already taken."""
    _validated("lambda", "CreateFunction", request)
    body = {**request, "Code": {**request["Code"], "ZipFile": base64.b64encode(request["Code"]["ZipFile"]).decode()}}
    backend = lambda_backend(ACCOUNT, REGION)
    try:
        backend.get_function(request["FunctionName"], None)
    except UnknownFunctionException:
        return str(backend.create_function(body).function_arn)
    raise FunctionAlreadyExists(request["FunctionName"])


def _execution_history(response: StepFunctionResponse) -> str:
    """GetExecutionHistory as the JSON protocol writes it (timestamps as epoch seconds, written directly: moto's
    serializer is slow for long histories), paged as AWS pages it. moto returns every event at once, oldest first,
    whatever maxResults, nextToken and reverseOrder say; AWS pages (100 by default, at most 1000) and lists newest
    first on reverseOrder."""
    output = response.stepfunction_backend.get_execution_history(response._get_param("executionArn"))
    events = list(output["events"])
    if response._get_param("reverseOrder"):
        events.reverse()
    size = int(response._get_param("maxResults") or 0) or HISTORY_PAGE_DEFAULT
    if size > HISTORY_PAGE_MAX:
        raise ValidationException(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {HISTORY_PAGE_MAX}"
        )
    token = response._get_param("nextToken")
    start = 0
    if token:
        try:
            start = int(token.removeprefix("history:"))
        except ValueError:
            start = -1
        if not token.startswith("history:") or not 0 <= start <= len(events):
            raise InvalidToken(token)
    page = events[start : start + size]
    result: dict[str, Any] = {"events": page}
    if start + len(page) < len(events):
        result["nextToken"] = f"history:{start + len(page)}"
    return json.dumps(result, default=_json_default)


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
            invocation: RunningInvocation | None = getattr(self._local, "invocation", None)
            if invocation is not None:  # Lambda stops the function at its Timeout, backoff or not
                left = (invocation.deadline - self._clock.now()).total_seconds()
                if seconds >= left:
                    self._clock.sleep(max(0.0, left))
                    raise FunctionTimedOutError(invocation.function)
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


ALARM_CHANGING_OPERATIONS = frozenset(
    {
        "PutMetricAlarm",
        "PutCompositeAlarm",
        "DeleteAlarms",
        "SetAlarmState",
        "EnableAlarmActions",
        "DisableAlarmActions",
        "TagResource",
        "UntagResource",
    }
)


def _indexed_metrics(original: Callable[..., Any], local: LocalAws) -> Callable[..., Any]:
    """CloudWatch's metric calls: the namespaces the world simulates go to its indexed store, others to moto."""
    name = original.__name__

    def call(backend: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        store = local.metric_store
        if store is not None:
            if name == "put_metric_data":
                namespace, metric_data = args
                if store.owns(namespace):
                    for index, member in enumerate(metric_data):  # moto's own checks of each member
                        backend._validate_parameters_put_metric_data(member, index + 1)
                    return store.put_metric_data(namespace, metric_data)
            elif name == "get_metric_statistics":
                if store.owns(args[0]):
                    return store.get_metric_statistics(*args, **kwargs)
            else:
                queries = kwargs["queries"]
                stats = [q["MetricStat"]["Metric"].get("Namespace") for q in queries if "MetricStat" in q]
                insights = any(str(q.get("Expression", "")).startswith("SELECT") for q in queries)
                if stats and all(store.owns(n) for n in stats) and not insights:
                    return store.get_metric_data(
                        kwargs["queries"], kwargs["start_time"], kwargs["end_time"], kwargs.get("scan_by", "")
                    )
        return original(backend, *args, **kwargs)

    return call


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


_LOADERS: dict[str | None, Any] = {}
_CREATE_LOADER = botocore.session.create_loader


class _SearchPaths(list[str]):
    """A shared loader's search paths: every boto3 session appends boto3's data directory to its loader's list, so
    the one loader every session shares would list it once per session ever made (and look in each)."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def _shared_loader(search_path_string: str | None = None) -> Any:
    """One botocore Loader (and its cache of parsed service models) per data path, for every session."""
    with _PROGRAMS_LOCK:
        if search_path_string not in _LOADERS:
            loader = _CREATE_LOADER(search_path_string)
            loader._search_paths = _SearchPaths(loader._search_paths)
            _LOADERS[search_path_string] = loader
        return _LOADERS[search_path_string]


_SSL_CONTEXTS: list[Any] = []
_GET_SSL_CONTEXT = URLLib3Session._get_ssl_context


def _shared_ssl_context(session: URLLib3Session) -> Any:
    """One TLS context for every client's HTTP session (botocore makes one per client, ~0.3 ms of OpenSSL each; no
    request of local mode ever leaves the process, so none is ever used to connect)."""
    with _PROGRAMS_LOCK:
        if not _SSL_CONTEXTS:
            _SSL_CONTEXTS.append(_GET_SSL_CONTEXT(session))
        return _SSL_CONTEXTS[0]


_CREATE_CLIENT_CLASS = ClientCreator._create_client_class
_CLIENT_CLASSES: dict[tuple[Any, ...], type] = {}


def _handler_identity(handler: Any) -> tuple[Any, ...] | None:
    """What a ``creating-client-class`` handler is, across sessions: its function and what it closes over (boto3's
    ``lazy_call`` closes over the name of the function it calls). None for a bound method: what it does depends on
    its object, which no key can name safely (an ``id`` is reused once the object is gone)."""
    if getattr(handler, "__self__", None) is not None:
        return None
    function = getattr(handler, "__func__", handler)
    cells = tuple(repr(c.cell_contents) for c in getattr(function, "__closure__", None) or ())
    return (getattr(function, "__module__", None), getattr(function, "__qualname__", repr(handler)), cells)


def _shared_client_class(original: Callable[..., type]) -> Callable[..., type]:
    """botocore's client class for a service, built once per process for the same model and the same handlers
    that shape it (boto3's sessions add S3's transfer methods; a bare botocore session does not)."""

    def create(creator: ClientCreator, service_name: str, service_model: Any) -> type:
        event = f"creating-client-class.{service_model.service_id.hyphenize()}"
        emitter = creator._event_emitter
        handlers = getattr(getattr(emitter, "_emitter", emitter), "_handlers", None)
        if handlers is None:  # an emitter this cache cannot read: build the class as botocore does
            return original(creator, service_name, service_model)
        identities = tuple(_handler_identity(h) for h in handlers.prefix_search(event))
        if None in identities:  # a handler bound to an object: build the class as botocore does
            return original(creator, service_name, service_model)
        key = (
            service_name,
            service_model.api_version,
            id(service_model._service_description),  # the shared loader's parsed model: one per process and data
            identities,
        )
        with _PROGRAMS_LOCK:
            found = _CLIENT_CLASSES.get(key)
        if found is None:
            found = original(creator, service_name, service_model)
            with _PROGRAMS_LOCK:
                found = _CLIENT_CLASSES.setdefault(key, found)
        return found

    return create


@functools.lru_cache(maxsize=1024)
def _compiled_json_path(path: str) -> Any:
    """jsonpath_ng builds its whole parser for every expression it parses; a parsed expression is immutable."""
    return _JSON_PATH_PARSE(path)


_RESULT_PATH_PARSE = jsonpath_parse  # what result_path imported as its parse


@functools.lru_cache(maxsize=1024)
def _compiled_result_path(path: str) -> Any:
    """The same for a ResultPath, which moto parses with jsonpath_ng's own ``parse`` at every state it leaves."""
    return _RESULT_PATH_PARSE(path)


_ATOMS = frozenset({str, int, float, bool, type(None), datetime, Decimal})


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and immutable scalars), ~4x faster than ``copy.deepcopy``; anything
    else is deep-copied by ``copy.deepcopy``. Two references to one dict become two equal dicts, as JSON values are
    (``deepcopy`` would keep them one object)."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


# moto's interpreter deep-copies the state's JSON at every path, parameter and stack frame (a tenth of a workflow
# test's CPU): the same copies, made by ``json_copy``
_JSON_COPYING = types.SimpleNamespace(deepcopy=json_copy)


def _context_copy(context: Any) -> Any:
    """botocore's per-request copy of its client context (a dataclass holding one set of feature ids)."""
    if type(context) is ClientContext:
        return ClientContext(features=set(context.features))
    return copy.deepcopy(context)


_ALIAS_EVENT_NAME = EventAliaser._alias_event_name
_DEFAULT_ALIASES: dict[str, str] = {}  # event name -> its name under botocore's EVENT_ALIASES, for every session


def _shared_aliases(aliaser: EventAliaser, event_name: str) -> str:
    """``EventAliaser._alias_event_name`` with one cache per process: botocore caches the aliased names per aliaser,
    and every session and client has a new one, so each of the ~200 handlers a session registers, and each event of
    a client's first calls, walked the alias table again (the answer depends only on the name and the table)."""
    own: dict[str, str] = aliaser._alias_name_cache
    found = own.get(event_name)
    if found is None:
        if aliaser._event_aliases != EVENT_ALIASES:  # a table of its own
            return str(_ALIAS_EVENT_NAME(aliaser, event_name))
        found = _DEFAULT_ALIASES.get(event_name)
        if found is None:
            found = _DEFAULT_ALIASES[event_name] = str(_ALIAS_EVENT_NAME(aliaser, event_name))
        own[event_name] = found
    return found


@functools.lru_cache(maxsize=4096)
def _sanitized_once(raw_str: str, allow_hash: bool) -> str:
    """botocore's user-agent sanitizing, a pure function of its arguments, once per string (botocore redoes it for
    every component of the header at every request)."""
    return str(_SANITIZE(raw_str, allow_hash))


_SANITIZE = botocore.useragent.sanitize_user_agent_string_component


class _FunctionNames:
    """moto's ``method_names_from_class`` answers only ``action in names``: this answers it for the one name asked,
    where moto lists every member of the response class (``inspect.getmembers``) at every request."""

    def __init__(self, clazz: type) -> None:
        self._clazz = clazz

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._clazz, name, None))


_JSON_PATH_PARSE = json_path.parse  # type: ignore[attr-defined]


class _ClientCache:
    """``boto3.client`` for moto's interpreter: one client per set of arguments (the interpreter asks for a new
    one at every task; the arguments, its credentials included, are always the same for a service)."""

    def __init__(self, boto3_module: Any) -> None:
        self._boto3, self._clients, self._lock = boto3_module, dict[str, Any](), threading.Lock()

    def client(self, **kwargs: Any) -> Any:
        config = kwargs.get("config")
        key = repr(sorted((k, v) for k, v in kwargs.items() if k != "config"))
        key += repr(vars(config) if config is not None else None)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._boto3.client(**kwargs)
            return self._clients[key]


_PROGRAMS: dict[str, Any] = {}  # ASL definition -> moto's parsed program (shared by every simulation)
_PROGRAMS_LOCK = threading.Lock()


_VALIDATED: set[str] = set()  # ASL definitions moto's CreateStateMachine accepted (shared by every simulation)


def _validated_once(original: Callable[..., None]) -> Callable[..., None]:
    def validate(definition: str) -> None:
        with _PROGRAMS_LOCK:
            if definition in _VALIDATED:
                return
        original(definition=definition)  # raises InvalidDefinition for a definition moto refuses: never cached
        with _PROGRAMS_LOCK:
            _VALIDATED.add(definition)

    return validate


def _parsed_once(original: Callable[[ExecutionWorker], Any]) -> Callable[[ExecutionWorker], Any]:
    def entrypoint(worker: ExecutionWorker) -> Any:
        definition = worker._evaluation_details.state_machine_details.definition
        with _PROGRAMS_LOCK:
            if definition not in _PROGRAMS:
                _PROGRAMS[definition] = original(worker)
            return _PROGRAMS[definition]

    return entrypoint


def _timed_start(
    original: Callable[[Execution], None], clock: VirtualClock, local: LocalAws
) -> Callable[[Execution], None]:
    def start(execution: Execution) -> None:
        execution.start_date = clock.now()
        clock.enter()  # before the worker thread exists, so time cannot run ahead of it
        local.execution_started(execution.exec_arn)
        try:
            original(execution)
        except BaseException:
            local.execution_ended(execution.exec_arn)
            clock.exit()
            raise

    return start


def _timed_logic(
    original: Callable[[ExecutionWorker], None], clock: VirtualClock, local: LocalAws
) -> Callable[[ExecutionWorker], None]:
    def logic(worker: ExecutionWorker) -> None:
        try:
            clock.take_turn()  # the new execution runs when its starter has parked (one participant at a time)
            original(worker)
        except SimulationClosed:
            pass  # the simulation was closed with this execution still running: it ends with its world
        except Exception:
            # moto complains when an execution's program ends still running (its thread unwound by the close)
            if not clock.closed:
                raise
        finally:
            local.execution_ended(worker._evaluation_details.execution_details.arn)
            clock.exit()

    return logic


def _terminal_errors_uncaught(original: Callable[[ErrorEqualsDecl, Environment], None]) -> Callable[..., None]:
    """``States.DataLimitExceeded`` and ``States.Runtime`` end the execution: no Retry or Catch matches them
    (AWS: States.ALL cannot catch them; the strictest reading, that no named catcher can either, is taken)."""

    def eval_body(decl: ErrorEqualsDecl, env: Environment) -> None:
        error = env.stack[-1]
        if getattr(error, "error_name", None) in limits.UNCATCHABLE_ERRORS:
            env.stack.pop()
            env.stack.append(False)
            return
        original(decl, env)

    return eval_body


def _task_input_quota(original: Callable[..., None]) -> Callable[..., None]:
    """A task's input after Parameters is a payload too: over the quota it fails with States.DataLimitExceeded
    before anything is invoked (moto checks only results and state outputs)."""

    def before_eval_execution(
        task: StateTaskService,
        env: Environment,
        resource_runtime_part: Any,
        raw_parameters: Any,
        state_credentials: Any,
    ) -> None:
        if not limits.within_payload_quota(raw_parameters):
            error = StatesErrorNameType.StatesStatesDataLimitExceeded
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=error),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=error.to_name(),
                            cause=limits.data_limit_cause("task input", limits.utf8_size(raw_parameters)),
                            resource=task._get_sfn_resource(),
                            resourceType=task._get_sfn_resource_type(),
                        )
                    ),
                )
            )
        original(task, env, resource_runtime_part, raw_parameters, state_credentials)

    return before_eval_execution


def _seeded_backoff(original: Callable[[ExponentialBackoff, Any], float], local: LocalAws) -> Callable[..., float]:
    """botocore's standard-mode backoff, jittered by the simulation's own generator."""

    def delay_amount(backoff: ExponentialBackoff, context: Any) -> float:
        backoff._random = local.random.random
        return original(backoff, context)

    return delay_amount


def _quiet_when_closed(original: Callable[[Any], object]) -> Callable[[Any], object]:
    def excepthook(args: Any) -> object:
        if args.exc_type is not None and issubclass(args.exc_type, SimulationClosed):
            return None
        return original(args)

    return excepthook


class _ClockEvent(threading.Event):
    """An event whose ``wait`` parks on the virtual clock (a task state waiting for its task, or its timeout)."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def set(self) -> None:
        super().set()
        self._clock.wake(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._clock.wait_event(self, timeout)


def _participant_thread(clock: VirtualClock) -> type[threading.Thread]:
    class ParticipantThread(threading.Thread):
        """A task's thread: a clock participant from its start to its end, so time waits for its work."""

        def start(self) -> None:
            clock.enter()
            try:
                super().start()
            except BaseException:
                clock.exit()
                raise

        def run(self) -> None:
            try:
                clock.take_turn()  # the task runs when the thread that started it has parked
                super().run()
            except SimulationClosed:
                pass  # the simulation was closed while the task ran
            finally:
                clock.exit()

    return ParticipantThread


def _marking_refusals(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """botocore checks required members, types and minimums; the service checks the rest (maximum lengths and
    values, patterns, enums, and the documented limits the models do not carry). A request that breaks one is
    marked here, where its parameters are known, and refused at the entry point with the service's error."""

    def serialize_to_request(decorator: ParamValidationDecorator, parameters: Any, operation: Any) -> dict[str, Any]:
        request: dict[str, Any] = original(decorator, parameters, operation)
        service = operation.service_model.service_id.hyphenize()
        refusal = requests.model_refusal(operation, parameters) or requests.service_refusal(
            service, operation.name, parameters
        )
        if refusal is not None:
            request["headers"][REFUSAL_HEADER] = quote(json.dumps([refusal.code, refusal.message, refusal.status]))
        return request

    return serialize_to_request
