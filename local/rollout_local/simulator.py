"""Running a scenario: build the world, deliver the approval, play the timeline, run the real workflow, report.

Threads of one simulation, all participants of the virtual clock: the executions (moto's workers), the world
(traffic, metrics, alarms, one tick a simulated minute for every endpoint), and the agenda (the timeline and
EventBridge's deliveries, at exact simulated times). The main thread sets up, starts them while holding time,
then waits until no execution runs and nothing is left on the agenda.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.events.models import EventPattern

from rollout_local.agenda import Agenda
from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.patches import LocalAws
from rollout_local.emulator.sagemaker import ACCOUNT, REGION, SageMakerEmulator
from rollout_local.emulator.world import Behaviour, World
from rollout_local.report import Report, build_report
from rollout_local.scenario import AutoscalingSpec, EndpointSpec, Scenario, VariantSpec
from rollout_local.stack import ROOT, Stack, deploy
from rollout_local.timeline import Timeline, event_id, package_state_change

QUIET_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
MAX_WALL_SECONDS = 120.0
# EventBridge hands an event to each matching rule's target this long after it is put (simulated seconds).
# The one place delivery time is decided.
EVENT_DELIVERY_SECONDS = 0.0
DEFAULT_BUS = "default"  # the template's rules name no bus: they are on the account's default bus
EXECUTION_NAMES = uuid.UUID("0d6c1f0e-5b7a-4f3e-8a61-2c4b9e7d1a05")


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


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule of the stack and its one target."""

    name: str
    pattern: Any  # moto's compiled EventPattern
    target: str  # a function ARN or the state machine ARN
    starts_execution: bool


class Simulation:
    """An emulated account with the stack deployed. Use as a context manager; tests drive it step by step."""

    def __init__(self, scenario: Scenario, root: Path = ROOT, verbose: bool = False) -> None:
        self.scenario = scenario
        self.root = root
        self.verbose = verbose
        self.clock = VirtualClock()
        self.sagemaker = SageMakerEmulator(
            self.clock.now, scenario.timings, is_scalable=_is_scalable, alarm_states=_alarm_states
        )
        self.aws = LocalAws(self.clock, self.sagemaker, scenario.faults)
        self.agenda = Agenda(self.clock)
        self.timeline = Timeline(self)
        self.executions: list[str] = []  # every execution of the state machine, in start order (see refresh)
        self.event_errors: list[dict[str, Any]] = []  # failed deliveries and handler errors of delivered events
        self.approved: set[str] = set()  # packages the scenario approved: their models are the "new" ones
        self.wall_started = time.monotonic()
        self._names = 0
        self._execution_name: str | None = None
        self._events = 0
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Simulation:
        quiet = dict(QUIET_ENVIRONMENT)
        if self.verbose:
            quiet["POWERTOOLS_LOG_LEVEL"] = "INFO"
        else:  # moto logs every failed state of the workflow; the report already tells them
            logging.getLogger("moto").setLevel(logging.CRITICAL)
        self._env = _environment(quiet)
        self._env.__enter__()
        self.aws.__enter__()
        self.stack: Stack = deploy(self.aws, dict(self.scenario.stack))
        self._stack_env = _environment(self.stack.environment)
        self._stack_env.__enter__()
        self.session = boto3.Session(region_name=REGION)
        self.sfn = self.session.client("stepfunctions")
        self.sm = self.session.client("sagemaker")
        outside = boto3.Session(region_name=REGION)
        self.outside = Outside(outside, outside.client("sagemaker"), outside.client("stepfunctions"))
        self.rules = _rules(self.stack)
        self.aws.event_sink = self._put_by_a_function
        self.create_endpoints(self.scenario.live_endpoints())
        for group, policy in self.scenario.all_policies().items():
            self.put_policy(group, policy)
        self.world = World(
            self.clock,
            self.sagemaker,
            self.session,
            self.scenario.traffic,
            self.scenario.behaviours(),
            self.scenario.alarms,
            new_package_arns=lambda: self.approved,
            on_alarm_event=self.publish,
            behaviour_of=self.behaviour_of,
        )
        self.aws.alarm_history = lambda: self.world.transitions
        self._world_thread: threading.Thread | None = None
        self._create_alarms()
        return self

    def __exit__(self, *exc: object) -> None:
        self.agenda.stop(timeout=5)
        self._stack_env.__exit__(None, None, None)
        self.aws.__exit__(None, None, None)
        self._env.__exit__(None, None, None)

    @property
    def operator_results(self) -> list[dict[str, Any]]:
        """What the scenario's people did, and what each command answered."""
        return self.timeline.operator_results

    # --- the world before the start ----------------------------------------------------------------------

    def create_endpoint(self, spec: EndpointSpec) -> None:
        """An InService endpoint (or one in the status the scenario asks for), made through the real API."""
        self.create_endpoints([spec])

    def create_endpoints(self, specs: list[EndpointSpec]) -> None:
        """The live endpoints, made together (one settling wait for all, however many there are)."""
        for spec in specs:
            group = f"{spec.name}-baseline"
            if group not in self.sagemaker.groups:
                self.sm.create_model_package_group(ModelPackageGroupName=group)
            package = self.sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Approved")[
                "ModelPackageArn"
            ]
            variants = []
            for variant in spec.variants:
                model = variant.model or f"{spec.name}-{variant.name}-model"
                if model not in self.sagemaker.models:
                    self.sm.create_model(
                        ModelName=model,
                        ExecutionRoleArn=self.stack.role_arn,
                        Containers=[{"ModelPackageName": package}],
                    )
                variants.append(self.production_variant(variant, model))
            self.sm.create_endpoint_config(
                EndpointConfigName=spec.config, ProductionVariants=variants, **spec.config_extras
            )
            self.sm.create_endpoint(EndpointName=spec.name, EndpointConfigName=spec.config)
        if not specs:
            return
        self.settle_endpoints()
        reweighted = [spec for spec in specs if spec.live_weights]
        for spec in reweighted:
            self.sm.update_endpoint_weights_and_capacities(
                EndpointName=spec.name,
                DesiredWeightsAndCapacities=[
                    {"VariantName": v, "DesiredWeight": w} for v, w in spec.live_weights.items()
                ],
            )
        if reweighted:
            self.settle_endpoints()
        for spec in specs:
            endpoint = self.sagemaker.endpoints[spec.name]
            if spec.status != "InService":
                endpoint.status = spec.status
            for variant in spec.variants:
                if variant.autoscaling is not None:
                    self._autoscale(spec.name, variant.name, variant.autoscaling)
            if spec.config_missing:
                self.sm.delete_endpoint_config(EndpointConfigName=spec.config)

    @staticmethod
    def production_variant(variant: VariantSpec, model: str) -> dict[str, Any]:
        """A ProductionVariants entry for CreateEndpointConfig."""
        entry: dict[str, Any] = {
            "VariantName": variant.name,
            "ModelName": model,
            "InitialVariantWeight": variant.weight,
        }
        if variant.serverless:
            entry["ServerlessConfig"] = {
                "MemorySizeInMB": variant.serverless.memory_size_mb,
                "MaxConcurrency": variant.serverless.max_concurrency,
            }
        else:
            entry["InstanceType"] = variant.instance_type or "ml.m5.xlarge"
            entry["InitialInstanceCount"] = variant.instance_count or 1
        return entry

    def _autoscale(self, endpoint: str, variant: str, spec: AutoscalingSpec) -> None:
        aas = self.session.client("application-autoscaling")
        resource = f"endpoint/{endpoint}/variant/{variant}"
        dimension = "sagemaker:variant:DesiredInstanceCount"
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            MinCapacity=spec.min_capacity,
            MaxCapacity=spec.max_capacity,
        )
        aas.put_scaling_policy(
            PolicyName=f"{variant}-invocations",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": spec.target_invocations_per_instance,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )

    def _create_alarms(self) -> None:
        """The scenario's alarms, a metric alarm on its endpoint's variant (the only endpoint by default)."""
        if not self.scenario.alarms:
            return
        from rollout_local.scenario import endpoint_name_of

        default = endpoint_name_of(self.scenario)
        by_endpoint: dict[str, list[Any]] = {}
        for alarm in self.scenario.alarms:
            endpoint = alarm.endpoint or default
            if endpoint or not alarm.metric:
                by_endpoint.setdefault(endpoint or "", []).append(alarm)
        for endpoint, specs in by_endpoint.items():
            self.world.create_alarms(endpoint, specs)

    def settle_endpoints(self) -> None:
        """Let setup-time operations finish before the story starts (simulated time moves on)."""
        self.clock.advance(
            max(self.scenario.timings.create_endpoint_seconds, self.scenario.timings.update_endpoint_seconds)
        )
        self.sagemaker.settle()
        self.clock.start = self.clock.now()

    # --- the model registry ------------------------------------------------------------------------------

    def create_package(
        self,
        group: str,
        status: str = "Approved",
        metadata: dict[str, str] | None = None,
        announce: bool = False,
    ) -> str:
        """Register a model version and set its approval status, as a data scientist would. ``announce``: SageMaker
        emits its state change events (the timeline); setup before the start is silent."""
        sm = self.outside.sm if announce else self.sm
        if group not in self.sagemaker.groups:
            sm.create_model_package_group(ModelPackageGroupName=group)
        arn: str = sm.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest",
                        "ModelDataUrl": f"s3://models/{group}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties=metadata or {"owner": "ml-platform"},
        )["ModelPackageArn"]
        if announce:
            self.announce_package(arn)
        if status != "PendingManualApproval":
            if announce:
                self.set_package_status(arn, status)
            else:
                self.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        self.approved.add(arn)
        return arn

    def set_package_status(self, arn: str, status: str, description: str = "", duplicates: int = 0) -> None:
        """UpdateModelPackage(ModelApprovalStatus); SageMaker emits the state change event."""
        update: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
        if description:
            update["ApprovalDescription"] = description
        self.outside.sm.update_model_package(**update)
        if status == "Approved":
            self.approved.add(arn)
        self.announce_package(arn, duplicates)

    def announce_package(self, arn: str, duplicates: int = 0) -> str:
        """SageMaker's ``Model Package State Change`` for the package as it is now (sent 1 + ``duplicates`` times,
        as SageMaker may); returns its approval status."""
        described = self.outside.sm.describe_model_package(ModelPackageName=arn)
        with self._lock:
            self._events += 1
            number = self._events
        event = package_state_change(described, self.clock.now(), event_id(arn, number))
        for _ in range(1 + duplicates):
            self.publish(event)
        return str(described.get("ModelApprovalStatus"))

    def package_arn(self, ref: str) -> str:
        """The ARN of ``group/version``."""
        group, _, version = ref.rpartition("/")
        for arn, package in self.sagemaker.packages.items():
            if package["ModelPackageGroupName"] == group and str(package["ModelPackageVersion"]) == version:
                return arn
        raise LookupError(f"package {ref} is not registered")

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

    def behaviour_of(self, model_name: str) -> tuple[list[Behaviour], bool]:
        """How a model answers: by its name, its package's group/version, its group, then 'new' or 'baseline'."""
        behaviours = self.world.behaviours
        model = self.sagemaker.models.get(model_name, {})
        arns = [c.get("ModelPackageName") for c in model.get("Containers", [])]
        is_new = any(arn in self.approved for arn in arns)
        keys = [model_name]
        for arn in arns:
            package = self.sagemaker.packages.get(arn or "", {})
            group = package.get("ModelPackageGroupName")
            if group:
                keys += [f"{group}/{package['ModelPackageVersion']}", group]
        keys.append("new" if is_new else "baseline")
        for key in keys:
            if key in behaviours:
                return behaviours[key], is_new
        return [], is_new

    # --- EventBridge ---------------------------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """EventBridge's default bus: ``event`` goes to the target of every rule of the stack that matches it
        (start an execution of the state machine, or invoke the function), after the delivery delay."""
        when = self.clock.now() + timedelta(seconds=EVENT_DELIVERY_SECONDS)
        for rule in self.rules:
            if rule.pattern.matches_event(event):
                self.agenda.at(when, lambda rule=rule: self._deliver(rule, event))  # type: ignore[misc]

    def matches_rule(self, event: dict[str, Any]) -> bool:
        """Would the state machine's rule in template.yaml start a rollout for this event?"""
        return any(rule.starts_execution and rule.pattern.matches_event(event) for rule in self.rules)

    def _deliver(self, rule: Rule, event: dict[str, Any]) -> None:
        if rule.starts_execution:
            try:
                self.start(event)
            except ClientError as exc:
                self.event_errors.append({"rule": rule.name, "errorType": type(exc).__name__, "errorMessage": str(exc)})
            return
        self.agenda.spawn(lambda: self._invoke_target(rule, event))

    def _invoke_target(self, rule: Rule, event: dict[str, Any]) -> None:
        """EventBridge invokes a function asynchronously: its errors are the function's, reported, never raised."""
        headers: dict[str, str] = {}
        result = self.aws._invoke(rule.target, json.dumps(event).encode(), headers)
        if headers.get("x-amz-function-error"):
            self.event_errors.append(json.loads(result))

    def _put_by_a_function(self, entry: dict[str, Any]) -> None:
        """A PutEvents entry of a handler, as the event EventBridge makes of it, onto the bus it names."""
        if entry.get("EventBusName", DEFAULT_BUS) not in (
            DEFAULT_BUS,
            f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{DEFAULT_BUS}",
        ):
            return
        self.publish(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry.get("DetailType", ""),
                "source": entry.get("Source", ""),
                "account": ACCOUNT,
                "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry.get("Detail") or "{}"),
            }
        )

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

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
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
        """Does any execution of the state machine still run?"""
        page = self.sfn.list_executions(
            stateMachineArn=self.stack.state_machine_arn, statusFilter="RUNNING", maxResults=1
        )
        return bool(page["executions"])

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

    def wait_until(self, condition: Any, what: str) -> None:
        """Wait (real time, bounded) for ``condition()`` while executions run."""
        deadline = time.monotonic() + MAX_WALL_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting for {what}")
            time.sleep(0.002)

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
        if self._world_thread is not None:
            self._world_thread.join(timeout=MAX_WALL_SECONDS)
            if self._world_thread.is_alive():
                raise TimeoutError(f"the simulation still runs after {MAX_WALL_SECONDS} s of wall time")
            self.agenda.stop(timeout=MAX_WALL_SECONDS)
        else:
            deadline = time.monotonic() + MAX_WALL_SECONDS
            for arn in arns or list(self.executions):
                while self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"execution {arn} still running after {MAX_WALL_SECONDS} s of wall time")
                    time.sleep(0.002)
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

    def run(self, execution_name: str | None = None) -> Report:
        """The scenario from the start to the report: the approval, then the timeline, until all is done."""
        self._execution_name = execution_name
        approval = self.scenario.approval
        with self.holding_time():
            if approval is not None:
                first = self.prepare_approval()
                if approval.manual is not None:
                    self.at(0, lambda: self._start_quietly(first))
                else:
                    for _ in range(1 + approval.duplicates):
                        self.at(0, lambda: self.publish(first))
            numbered = [(i, e) for i, e in enumerate(self.scenario.timeline)]
            numbered += [(-1, e) for e in self.scenario.operator_entries()]
            for index, entry in sorted(numbered, key=lambda pair: pair[1].at_seconds):
                self.at(entry.at_seconds, lambda i=index, e=entry: self.timeline.perform(i, e))  # type: ignore[misc]
            if approval is not None or numbered:
                self.start_world()
        self.wait()
        return build_report(self)

    def _start_quietly(self, execution_input: dict[str, Any]) -> None:
        self.start(execution_input)

    def stack_info(self) -> Any:
        """The stack as the `rollout` commands know it (operate.StackInfo)."""
        from rollout_local import operate

        env = self.stack.environment
        return operate.StackInfo(
            self.stack.state_machine_arn,
            self.stack.table_name,
            env["POLICY_PARAMETER_PREFIX"].rstrip("/"),
            env.get("DEFAULT_POLICY", "{}"),
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call one function's real handler in-process, as `sam local invoke -e` would (functional tests)."""
        arn = self.stack.functions[logical_id]
        body = json.dumps(event).encode()
        headers: dict[str, str] = {}
        result = json.loads(self.aws._invoke(arn, body, headers))
        if headers.get("x-amz-function-error"):
            raise FunctionError(result["errorType"], result["errorMessage"])
        return result


class FunctionError(Exception):
    """A handler raised: ``error_type`` is what the state machine's Catch would match."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message = error_type, message


def _rules(stack: Stack) -> list[Rule]:
    """Every EventBridge rule of the stack: the functions' and the state machine's, patterns compiled once."""
    rules = [
        Rule(arn.rsplit(":", 1)[-1], EventPattern.load(json.dumps(pattern)), arn, False)  # type: ignore[no-untyped-call]
        for pattern, arn in stack.rules
    ]
    state_machine = EventPattern.load(json.dumps(stack.event_pattern))  # type: ignore[no-untyped-call]
    rules.append(Rule("state machine", state_machine, stack.state_machine_arn, True))
    return rules


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
