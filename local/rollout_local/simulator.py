"""Running a scenario: build the world, deliver the approval, play the timeline, run the real workflow, report.

Threads of one simulation, all participants of the virtual clock: the executions (moto's workers), the world
(traffic, metrics, alarms, one tick a simulated minute for every endpoint), and the agenda (the timeline and
EventBridge's deliveries, at exact simulated times). The main thread sets up, starts them while holding time,
then waits until no execution runs and nothing is left on the agenda.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3

from rollout_local.account import create_alarms, create_endpoints
from rollout_local.agenda import Agenda
from rollout_local.bus import DeadLetters, EventBus, rules_of
from rollout_local.emulator.apigateway import Person
from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.iam import EmulatedAccount, LocalIam
from rollout_local.emulator.iam_policy import Role, parse_policy
from rollout_local.emulator.patches import LocalAws
from rollout_local.emulator.sagemaker import ACCOUNT, REGION, SageMakerEmulator
from rollout_local.emulator.world import World
from rollout_local.registry import Registry
from rollout_local.report import Report, build_report
from rollout_local.scenario import EndpointSpec, Scenario
from rollout_local.sessions import shared_session
from rollout_local.specs import PERSON_POLICIES
from rollout_local.stack import ROOT, STACK_NAME, Stack, TemplateTransform, deploy
from rollout_local.timeline import Timeline

QUIET_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # EMF lines are stdout in-process (they would break the printed report); local mode does not turn them into
    # CloudWatch metrics (README: where local mode differs from AWS)
    "POWERTOOLS_METRICS_DISABLED": "true",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# A simulation ends when its executions end, however long that takes in wall time; it is stuck (a deadlock, a
# thread blocked in real time) when simulated time makes no progress at all for this long.
STALL_WALL_SECONDS = 60.0
WATCH_SECONDS = 1.0  # how often a waiting caller looks at the clock's progress (a watchdog, not a poll)
_OPEN: list[Simulation] = []  # the simulation open in this process (at most one)
_OPEN_LOCK = threading.Lock()
CLOSE_SECONDS = 5.0  # how long closing a simulation waits (wall time) for its participants to unwind
EXECUTION_NAMES = uuid.UUID("0d6c1f0e-5b7a-4f3e-8a61-2c4b9e7d1a05")  # namespace of deterministic execution names


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class Outside:
    """The outside world's own credentials and clients (data scientists, operators, other teams)."""

    session: Any
    sm: Any
    sfn: Any


class Simulation:
    """An emulated account with the stack deployed. Use as a context manager; tests drive it step by step."""

    def __init__(
        self,
        scenario: Scenario,
        root: Path = ROOT,
        verbose: bool = False,
        iam: bool = True,
        template_transform: TemplateTransform | None = None,
        stall_seconds: float = STALL_WALL_SECONDS,
    ) -> None:
        """``iam=False`` turns IAM enforcement off (only for the simulator's own tooling, never for a workflow
        test); ``template_transform`` edits template.yaml before it is deployed (negative controls);
        ``stall_seconds``: wall seconds without any progress of simulated time after which waiting gives up."""
        self.stall_seconds = stall_seconds
        self.scenario = scenario
        self.enforce_iam = iam
        self.template_transform = template_transform
        self.root = root
        self.verbose = verbose
        self.clock = VirtualClock()
        self.sagemaker = SageMakerEmulator(
            self.clock.now, scenario.timings, is_scalable=_is_scalable, alarm_states=_alarm_states
        )
        self.aws = LocalAws(self.clock, self.sagemaker, scenario.faults, scenario.limits, scenario.aws_timings)
        self.agenda = Agenda(self.clock)
        self.timeline = Timeline(self)
        self.executions: list[str] = []  # every execution of the state machine, in start order (see refresh)
        self.wall_started = time.monotonic()
        self._names = 0
        self._execution_name: str | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Simulation:
        # moto's stores are process-wide: two open simulations would share one account (and one's threads act in
        # the other's world). One at a time, each closed before the next opens.
        with _OPEN_LOCK:
            if _OPEN and _OPEN[-1] is not self:
                raise RuntimeError(
                    f"simulation {_OPEN[-1].scenario.name!r} is still open in this process: close it first "
                    "(one emulated account at a time)"
                )
            _OPEN.append(self)
        try:
            return self._open()
        except BaseException:
            with _OPEN_LOCK:
                _OPEN.remove(self)
            raise

    def _open(self) -> Simulation:
        quiet = dict(QUIET_ENVIRONMENT)
        if self.verbose:
            quiet["POWERTOOLS_LOG_LEVEL"] = "INFO"
        else:  # moto logs every failed state of the workflow; the report already tells them
            logging.getLogger("moto").setLevel(logging.CRITICAL)
        self._env = _environment(quiet)
        self._env.__enter__()
        self.aws.__enter__()
        self.session = shared_session("simulator", REGION)  # the simulator's own calls: setup, world, report
        try:
            self.stack: Stack = deploy(
                self.aws, dict(self.scenario.stack), transform=self.template_transform, session=self.session
            )
        except BaseException:  # a stack CloudFormation would refuse: leave nothing mocked behind
            self.aws.__exit__(None, None, None)
            self._env.__exit__(None, None, None)
            raise
        if self.enforce_iam:  # from here on every call a function or the state machine makes is judged by IAM
            self.aws.iam = LocalIam(self.stack.roles, EmulatedAccount(self.sagemaker))
        self.people = self._people()
        self._stack_env = _environment(self.stack.environment)
        self._stack_env.__enter__()
        self.sfn = self.session.client("stepfunctions")
        self.sm = self.session.client("sagemaker")
        outside = shared_session("outside", REGION)  # people and other teams: their calls are not the service's
        self.outside = Outside(outside, outside.client("sagemaker"), outside.client("stepfunctions"))
        self.bus = EventBus(
            rules_of(self.stack),
            self.agenda,
            self.clock.now,
            self.start,
            self.aws._invoke,
            delivery_seconds=self.scenario.aws_timings.eventbridge_delivery_seconds,
            dead_letters=DeadLetters(
                self.stack.async_configs, self.stack.queue_policies, self.stack.roles, self._send_dead_letter
            ),
        )
        self.aws.event_sink = self.bus.put_events_entry
        # SageMaker's endpoint events go on the same bus, each at the moment of its transition
        self.sagemaker.on_event = self.publish
        self.sagemaker.wake_at = lambda when: self.agenda.at(when, self.sagemaker.settle, weak=True)
        self.registry = Registry(self.sagemaker, self.sm, self.outside.sm, self.clock.now, self.publish)
        self.registry.behaviours = self.scenario.behaviours()
        live = self.scenario.live_endpoints()
        create_endpoints(live, self.session, self.sagemaker, self.stack.role_arn, self.settle_endpoints)
        self._create_capture_buckets(live)
        for group, policy in self.scenario.all_policies().items():
            self.put_policy(group, policy)
        self.world = World(
            self.clock,
            self.sagemaker,
            self.session,
            self.scenario.traffic,
            self.registry.behaviours,
            list(self.scenario.alarms),
            new_package_arns=lambda: self.registry.approved,
            on_alarm_event=self.publish,
            behaviour_of=self.registry.behaviour_of,
            metric_delay_seconds=self.scenario.aws_timings.metric_delay_seconds,
        )
        self.aws.alarm_history = lambda: self.world.transitions
        self.aws.metric_store = self.world.store
        self.world.alarms_changed = lambda: self.aws.alarm_changes
        self.aws.runtime = self.world.invoke
        self._world_thread: threading.Thread | None = None
        create_alarms(self.scenario, self.world)
        return self

    def __exit__(self, *exc: object) -> None:
        # Whatever still waits on this world's clock ends with it, before moto's process-wide stores are reset:
        # a participant left running would act in the next simulation's world.
        left = self.clock.close(timeout=CLOSE_SECONDS)
        self.agenda.stop(timeout=CLOSE_SECONDS)
        with _OPEN_LOCK:
            if self in _OPEN:
                _OPEN.remove(self)
        if left:
            warnings.warn(
                f"{left} participant(s) of simulation {self.scenario.name!r} still ran when it closed:\n{_threads()}",
                stacklevel=2,
            )
        self._stack_env.__exit__(None, None, None)
        self.aws.__exit__(None, None, None)
        self._env.__exit__(None, None, None)

    # --- people: who may use the `rollout` command, as IAM sees them ----------------------------------------

    def _people(self) -> dict[str, Person]:
        """The scenario's people, each acting in an IAM role of their own (the README's policies filled in with
        the stack's names), with credentials the steering API and local IAM know them by."""
        api = self.stack.steering_api
        machine = self.stack.state_machine_arn
        values = {
            "SteeringApiArn": api.arn if api else "arn:aws:execute-api:::none",
            "StateMachineArn": machine,
            "ExecutionArns": machine.replace(":stateMachine:", ":execution:") + ":*",
            "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.stack.table_name}",
            "PolicyParameterArns": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
            f"{self.stack.environment['POLICY_PARAMETER_PREFIX'].rstrip('/')}/*",
            "StackArn": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/*",
        }
        people: dict[str, Person] = {}
        for spec in self.scenario.everyone():
            statements = [s for preset in spec.policies for s in PERSON_POLICIES[preset]] + list(spec.statements)
            text = json.dumps({"Statement": statements})
            for name, value in values.items():
                text = text.replace("${" + name + "}", value)
            role = Role(
                spec.name, spec.role or spec.name, spec.name, parse_policy(json.loads(text), f"people.{spec.name}")
            )
            digest = hashlib.sha256(f"person/{spec.name}".encode()).hexdigest().upper()
            person = Person(spec.name, "AKIA" + digest[:16], digest[16:56], role)
            people[spec.name] = person
            self.aws.people_keys[person.access_key] = f"person:{spec.name}"
            if self.aws.iam is not None:
                self.aws.iam.roles[f"person:{spec.name}"] = role
            if api is not None:
                api.people[person.access_key] = person
        return people

    def person(self, name: str | None) -> Person:
        """One of the scenario's people (the first when ``name`` is None)."""
        if name is None:
            return next(iter(self.people.values()))
        return self.people[name]

    def session_of(self, person: Person) -> Any:
        """A boto3 session with the person's own credentials: every call it makes is judged against their role."""
        return boto3.Session(
            aws_access_key_id=person.access_key, aws_secret_access_key=person.secret_key, region_name=REGION
        )

    @property
    def operator_results(self) -> list[dict[str, Any]]:
        """What the scenario's people did, and what each command answered."""
        return self.timeline.operator_results

    # --- the world before the start ----------------------------------------------------------------------

    def create_endpoint(self, spec: EndpointSpec) -> None:
        """An InService endpoint (or one in the status the scenario asks for), made through the real API."""
        create_endpoints([spec], self.session, self.sagemaker, self.stack.role_arn, self.settle_endpoints)

    def settle_endpoints(self) -> None:
        """Let setup-time operations finish before the story starts (simulated time moves on)."""
        self.clock.advance(
            max(self.scenario.timings.create_endpoint_seconds, self.scenario.timings.update_endpoint_seconds)
        )
        self.sagemaker.settle()
        self.clock.start = self.clock.now()

    # --- the model registry ------------------------------------------------------------------------------

    def create_package(
        self, group: str, status: str = "Approved", metadata: dict[str, str] | None = None, announce: bool = False
    ) -> str:
        """Register a model version and set its approval status (``announce``: with SageMaker's events)."""
        return self.registry.create_package(group, status, metadata, announce)

    def package_arn(self, ref: str) -> str:
        """The ARN of ``group/version``."""
        return self.registry.arn(ref)

    def put_policy(self, group: str, policy: dict[str, Any]) -> None:
        name = f"{self.stack.environment['POLICY_PARAMETER_PREFIX'].rstrip('/')}/{group}"
        self.session.client("ssm").put_parameter(Name=name, Value=json.dumps(policy), Type="String", Overwrite=True)

    def approval_event(self, template: dict[str, Any], package_arn: str) -> dict[str, Any]:
        """The event SageMaker emits for this package: the template's envelope with the package's facts."""
        event: dict[str, Any] = json.loads(json.dumps(template))
        detail = event.get("detail")
        if isinstance(detail, dict) and package_arn in self.sagemaker.packages:
            package = self.sagemaker.packages[package_arn]
            for key in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion"):
                if key in detail:
                    detail[key] = package[key]
            if "CustomerMetadataProperties" in detail or package["CustomerMetadataProperties"]:
                detail["CustomerMetadataProperties"] = dict(package["CustomerMetadataProperties"])
            event["resources"] = [package_arn]
        return event

    # --- EventBridge ---------------------------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """Put ``event`` on the account's default EventBridge bus: every matching rule of the stack gets it."""
        self.bus.publish(event)

    def matches_rule(self, event: dict[str, Any]) -> bool:
        """Would the state machine's rule in template.yaml start a rollout for this event?"""
        return self.bus.starts_execution(event)

    def _send_dead_letter(self, queue_arn: str, body: str, attributes: dict[str, str]) -> None:
        """EventBridge or Lambda puts an undeliverable event (or a failure record) into an SQS queue."""
        sqs = self.session.client("sqs")
        url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        values = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v}
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=values)

    def dead_letters(self) -> list[dict[str, Any]]:
        """What waits in the stack's dead-letter queues (read without consuming it), oldest first."""
        sqs = self.session.client("sqs")
        found: list[dict[str, Any]] = []
        for url in sqs.list_queues().get("QueueUrls", []):
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
            ).get("Messages", [])
            found += [{"queue": url.rsplit("/", 1)[-1], **m} for m in messages]
        return found

    @property
    def event_errors(self) -> list[dict[str, Any]]:
        """Failed deliveries and errors of the functions EventBridge invoked (should be empty)."""
        return self.bus.errors

    # --- executions ------------------------------------------------------------------------------------------

    def next_name(self) -> str:
        """A name for the next execution: the caller's for the first, then deterministic UUIDs (Step Functions
        names an unnamed execution with a UUID; moto would call every one of them "None")."""
        with self._lock:
            self._names += 1
            number = self._names
        if self._execution_name:
            return self._execution_name if number == 1 else f"{self._execution_name}-{number - 1}"
        return str(uuid.uuid5(EXECUTION_NAMES, f"{self.scenario.name}#{number}"))

    def start(self, execution_input: Any, name: str | None = None) -> str:
        """StartExecution of the state machine (what EventBridge's target and `rollout start` do)."""
        arn: str = self.outside.sfn.start_execution(
            stateMachineArn=self.stack.state_machine_arn,
            input=json.dumps(execution_input),
            name=name or self.next_name(),
        )["executionArn"]
        self.track(arn)
        return arn

    def track(self, arn: str) -> None:
        with self._lock:
            if arn not in self.executions:
                self.executions.append(arn)

    def refresh_executions(self) -> list[str]:
        """Every execution of the state machine, whoever started it, in start order (ties: the order seen)."""
        found: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.stack.state_machine_arn):
            found += page["executions"]
        known = {arn: i for i, arn in enumerate(self.executions)}
        found.sort(key=lambda e: (e["startDate"], known.get(e["executionArn"], len(known))))
        with self._lock:
            self.executions[:] = [e["executionArn"] for e in found]
        return list(self.executions)

    def running(self) -> bool:
        """Does any execution of the state machine still run? (local mode sees every start and every end)"""
        return bool(self.aws.running)

    def active(self) -> bool:
        """Is the story still going: an execution running, or something left on the agenda?"""
        return self.agenda.pending() or self.running()

    @contextmanager
    def holding_time(self) -> Iterator[None]:
        """Stop simulated time from passing while the caller arranges things (starting concurrent rollouts)."""
        self.clock.enter()
        try:
            yield
        finally:
            self.clock.exit()

    @contextmanager
    def outside_time(self) -> Iterator[None]:
        """A call from outside the simulation (a test's main thread) holds time while it runs; a participant's call
        (the agenda playing a timeline entry) takes its time inside the simulation, as every participant does."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        with self.holding_time():
            yield

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait for ``condition()`` while executions run (looked at whenever an execution ends, and every 50 ms);
        give up only when simulated time stands still (see ``_watch``)."""
        self._watch(condition, what, lambda seconds: self.aws.wait_for_executions(condition, min(seconds, 0.05)))

    def _watch(self, done: Callable[[], bool], what: str, block: Callable[[float], object]) -> None:
        """Until ``done()``: ``block(seconds)`` waits for whatever may make it true; a simulation whose clock makes
        no progress for ``stall_seconds`` of wall time is stuck, and waiting on it ends with an error."""
        seen, since = self.clock.progress, time.monotonic()
        while not done():
            block(WATCH_SECONDS)
            if self.clock.progress != seen:
                seen, since = self.clock.progress, time.monotonic()
            elif time.monotonic() - since > self.stall_seconds:
                raise SimulationStalledError(
                    f"{what}: no progress of simulated time for {self.stall_seconds:g} s of wall time "
                    f"(stuck at +{self.clock.elapsed():.0f} s simulated, {len(self.aws.running)} executions running; "
                    f"clock: {self.clock.describe()})\n{_threads()}"
                )

    def at(self, seconds: float, call: Callable[[], None]) -> None:
        """Run ``call`` at ``seconds`` of simulated time since the start, on the agenda (tests' own probes)."""
        self.agenda.at(self.clock.start + timedelta(seconds=seconds), call)

    def start_world(self) -> None:
        """Start traffic, metrics and alarm evaluation, and the agenda; call while holding time."""
        if self._world_thread is not None:
            return
        self.agenda.start()
        self.clock.enter()  # on the world thread's behalf, before it exists
        self._world_thread = threading.Thread(target=self.world.run, args=(self.active,), daemon=True, name="world")
        self._world_thread.start()

    def wait(self, arns: list[str] | None = None) -> None:
        """Wait (real time, bounded) until the story ends; virtual time runs meanwhile."""
        world = self._world_thread
        if world is not None:
            self._watch(lambda: not world.is_alive(), "the simulation", world.join)
            self.agenda.stop(timeout=self.stall_seconds)
        else:  # no world: until these executions end, or every execution (a continued rollout's included)
            pending = set(arns or [])

            def ended() -> bool:
                return not (pending & self.aws.running if pending else self.aws.running)

            self._watch(ended, "executions", lambda seconds: self.aws.wait_for_executions(ended, seconds))
        self.refresh_executions()
        if self.agenda.errors:
            raise RuntimeError("the simulator itself failed:\n" + "\n".join(self.agenda.errors))

    def prepare_approval(self) -> dict[str, Any]:
        """Register the scenario's approved package; return the execution input (the event, or a manual input)."""
        approval = self.scenario.approval
        if approval is None:
            raise ValueError(f"scenario {self.scenario.name} has no 'approval'")
        package_arn = None
        if approval.package_exists:
            package_arn = self.create_package(approval.group, approval.package_status, approval.metadata)
        if approval.manual is not None:
            execution_input = dict(approval.manual)
            if package_arn and "model_package_arn" not in execution_input:
                execution_input["model_package_arn"] = package_arn
            return execution_input
        event = self.scenario.load_event(self.root)
        return self.approval_event(event, package_arn) if package_arn else event

    def _create_capture_buckets(self, live: list[Any]) -> None:
        """The buckets the live endpoints capture into exist (their owner made them before turning capture on)."""
        s3 = self.session.client("s3")
        for spec in live:
            destination = str((spec.config_extras.get("DataCaptureConfig") or {}).get("DestinationS3Uri", ""))
            if destination.startswith("s3://"):
                bucket = destination[len("s3://") :].split("/", 1)[0]
                if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                    s3.create_bucket(Bucket=bucket)

    def run(self, execution_name: str | None = None) -> Report:
        """The scenario from the start to the report: the approval, then the timeline, until all is done."""
        self._execution_name = execution_name
        approval = self.scenario.approval
        with self.holding_time():
            if approval is not None:
                first = self.prepare_approval()
                if approval.manual is not None:
                    self.at(0, lambda: self._start_manually(first))
                else:
                    for _ in range(1 + approval.duplicates):
                        self.at(0, lambda: self.publish(first))
            scheduled = self.timeline.schedule()
            if approval is not None or scheduled:
                self.start_world()
        self.wait()
        return build_report(self)

    def _start_manually(self, execution_input: dict[str, Any]) -> None:
        self.start(execution_input)

    def stack_info(self) -> Any:
        """The stack as the `rollout` commands know it (operate.StackInfo)."""
        from rollout_cli import operate

        env = self.stack.environment
        api = self.stack.steering_api
        return operate.StackInfo(
            self.stack.state_machine_arn,
            self.stack.table_name,
            env["POLICY_PARAMETER_PREFIX"].rstrip("/"),
            env.get("DEFAULT_POLICY", "{}"),
            api.url if api else "",
        )

    def steering_transport(self) -> Any:
        """What carries the `rollout` command's HTTPS requests to the steering API in local mode."""
        api = self.stack.steering_api
        if api is None:
            raise LookupError("the stack has no steering API")
        send = api.send

        def held(*args: Any, **kwargs: Any) -> Any:  # time waits for a request from outside, as for ``invoke``
            with self.outside_time():
                return send(*args, **kwargs)

        return held

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call one function's real handler in-process, as `sam local invoke -e` would (functional tests). Time
        is held while it runs: executions an earlier call started go on only after it (their Wait states would
        otherwise move the clock under the handler and time it out, as fast as the machine runs them)."""
        arn = self.stack.functions[logical_id]
        body = json.dumps(event).encode()
        headers: dict[str, str] = {}
        with self.outside_time():
            result = json.loads(self.aws._invoke(arn, body, headers))
        if headers.get("x-amz-function-error"):
            raise FunctionError(result["errorType"], result["errorMessage"])
        return result


class SimulationStalledError(TimeoutError):
    """Simulated time stopped moving while executions still ran: a hang in the simulation, never a slow policy."""


class FunctionError(Exception):
    """A handler raised: ``error_type`` is what the state machine's Catch would match."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message = error_type, message


def _alarm_states(names: list[str]) -> dict[str, str]:
    """The state of each named alarm that exists in (moto's) CloudWatch, read the way SageMaker's guardrails do."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[ACCOUNT][REGION].alarms
    return {name: alarms[name].state_value for name in names if name in alarms}


def _is_scalable(endpoint: str, variant: str) -> bool:
    """Is the variant registered with (moto's) Application Auto Scaling?"""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    backend = applicationautoscaling_backends[ACCOUNT][REGION]
    return f"endpoint/{endpoint}/variant/{variant}" in backend.targets.get("sagemaker:variant:DesiredInstanceCount", {})


def _threads() -> str:
    """Where every thread stands (the innermost frames): what a stalled simulation waits on."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if frame is None:
            continue
        stack = traceback.extract_stack(frame)[-4:]
        where = " <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})" for f in reversed(stack))
        lines.append(f"  thread {thread.name}: {where}")
    return "\n".join(lines)
