"""Running a scenario: build the world, deliver the approval, run the real workflow, report what happened."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.events.models import EventPattern

from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.patches import LocalAws
from rollout_local.emulator.sagemaker import ACCOUNT, SageMakerEmulator
from rollout_local.emulator.world import World
from rollout_local.report import Report, build_report
from rollout_local.scenario import AutoscalingSpec, EndpointSpec, OperatorAction, Scenario, endpoint_name_of
from rollout_local.stack import REGION, ROOT, Stack, deploy

QUIET_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
MAX_WALL_SECONDS = 120.0


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
        self.aws = LocalAws(self.clock, self.sagemaker, scenario.faults, scenario.limits, scenario.aws_timings)
        self.executions: list[str] = []
        self.event_errors: list[dict[str, Any]] = []  # handler errors of EventBridge-delivered events
        self._deliveries: list[threading.Thread] = []
        self.wall_started = time.monotonic()
        self._exits: list[Any] = []

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
        parameters = dict(self.scenario.stack)
        self.stack: Stack = deploy(self.aws, parameters)
        self._stack_env = _environment(self.stack.environment)
        self._stack_env.__enter__()
        self.session = boto3.Session(region_name=REGION)
        self.sfn = self.session.client("stepfunctions")
        self.sm = self.session.client("sagemaker")
        if self.scenario.endpoint is not None:
            self.create_endpoint(self.scenario.endpoint)
        self.approved: set[str] = set()
        self.world = World(
            self.clock,
            self.sagemaker,
            self.session,
            self.scenario.traffic,
            self.scenario.behaviours(),
            self.scenario.alarms,
            new_package_arns=lambda: self.approved,
            on_alarm_event=self.deliver_event,
            metric_delay_seconds=self.scenario.aws_timings.metric_delay_seconds,
        )
        self.aws.alarm_history = lambda: self.world.transitions
        self._world_thread: threading.Thread | None = None
        endpoint_name = endpoint_name_of(self.scenario)
        self.operator_results: list[dict[str, Any]] = []
        for action in self.scenario.operator:
            self.world.probes.append((action.at_seconds, self._operator(action, endpoint_name or "")))
        if self.scenario.alarms and endpoint_name:
            self.world.create_alarms(endpoint_name)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack_env.__exit__(None, None, None)
        self.aws.__exit__(None, None, None)
        self._env.__exit__(None, None, None)

    # --- the world before the approval -------------------------------------------------------------------

    def create_endpoint(self, spec: EndpointSpec) -> None:
        """An InService endpoint (or one in the status the scenario asks for), made through the real API."""
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
                    ModelName=model, ExecutionRoleArn=self.stack.role_arn, Containers=[{"ModelPackageName": package}]
                )
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
            variants.append(entry)
        config = spec.config_name or f"{spec.name}-config-v0"
        self.sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=variants, **spec.config_extras)
        self.sm.create_endpoint(EndpointName=spec.name, EndpointConfigName=config)
        self.settle_endpoints()
        if spec.live_weights:
            self.sm.update_endpoint_weights_and_capacities(
                EndpointName=spec.name,
                DesiredWeightsAndCapacities=[
                    {"VariantName": v, "DesiredWeight": w} for v, w in spec.live_weights.items()
                ],
            )
            self.settle_endpoints()
        endpoint = self.sagemaker.endpoints[spec.name]
        if spec.status != "InService":
            endpoint.status = spec.status
        for variant in spec.variants:
            if variant.autoscaling is not None:
                self._autoscale(spec.name, variant.name, variant.autoscaling)
        if spec.config_missing:
            self.sm.delete_endpoint_config(EndpointConfigName=config)

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

    def settle_endpoints(self) -> None:
        """Let setup-time operations finish before the story starts (simulated time moves on)."""
        self.clock.advance(
            max(self.scenario.timings.create_endpoint_seconds, self.scenario.timings.update_endpoint_seconds)
        )
        self.sagemaker.settle()
        self.clock.start = self.clock.now()

    def create_package(self, group: str, status: str = "Approved", metadata: dict[str, str] | None = None) -> str:
        """Register a model version and set its approval status, as a data scientist would."""
        if group not in self.sagemaker.groups:
            self.sm.create_model_package_group(ModelPackageGroupName=group)
        arn: str = self.sm.create_model_package(
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
        if status != "PendingManualApproval":
            self.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        self.approved.add(arn)
        return arn

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

    # --- running -----------------------------------------------------------------------------------------

    def matches_rule(self, event: dict[str, Any]) -> bool:
        """Would the template's EventBridge rule deliver this event to the state machine?"""
        pattern = EventPattern.load(json.dumps(self.stack.event_pattern))
        return bool(pattern.matches_event(event))  # type: ignore[arg-type]

    def _operator(self, action: OperatorAction, endpoint: str) -> Any:
        """A person's command at a simulated time, through the same code as the `rollout` CLI."""

        def act() -> None:
            from rollout_local import operate

            stack = operate.StackInfo(self.stack.state_machine_arn, self.stack.table_name, "", "{}")
            if action.action in ("approve", "reject"):
                result = operate.approve(
                    self.session, stack, endpoint, action.by, action.reason, action.action == "reject"
                )
            elif action.action == "abort":
                result = operate.abort(self.session, stack, endpoint, action.by, action.reason)
            else:
                result = operate.promote(self.session, stack, endpoint, action.by)
            at = self.clock.elapsed()
            self.operator_results.append({"t": at, "action": action.action, **result.as_dict()})

        return act

    def deliver_event(self, event: dict[str, Any]) -> None:
        """EventBridge: hand ``event`` to every function whose rule in template.yaml matches it, asynchronously
        and ``aws_timings.eventbridge_delivery_seconds`` later, as EventBridge does (the emitter never waits)."""
        for pattern, function_arn in self.stack.rules:
            if EventPattern.load(json.dumps(pattern)).matches_event(event):  # type: ignore[arg-type]
                self.clock.enter()  # the delivery takes part in the simulation from now, so time cannot skip it
                delivery = threading.Thread(target=self._deliver, args=(function_arn, event), daemon=True)
                self._deliveries.append(delivery)
                delivery.start()

    def _deliver(self, function_arn: str, event: dict[str, Any]) -> None:
        try:
            self.clock.sleep(self.scenario.aws_timings.eventbridge_delivery_seconds)
            headers: dict[str, str] = {}
            result = self.aws._invoke(function_arn, json.dumps(event).encode(), headers)
            if headers.get("x-amz-function-error"):
                self.event_errors.append(json.loads(result))
        finally:
            self.clock.exit()

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        # Step Functions names an unnamed execution with a UUID; moto would call every one of them "None".
        arn: str = self.sfn.start_execution(
            stateMachineArn=self.stack.state_machine_arn,
            input=json.dumps(execution_input),
            name=name or str(uuid.uuid4()),
        )["executionArn"]
        self.executions.append(arn)
        return arn

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

    def running(self) -> bool:
        return any(self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" for arn in self.executions)

    def start_world(self) -> None:
        """Start traffic, metrics and alarm evaluation; call while holding time, after starting executions."""
        if self._world_thread is not None:
            return
        self.clock.enter()  # on the world thread's behalf, before it exists
        self._world_thread = threading.Thread(target=self.world.run, args=(self.running,), daemon=True)
        self._world_thread.start()

    def wait(self, arns: list[str] | None = None) -> None:
        """Wait (real time, bounded) until the executions finish; virtual time runs meanwhile."""
        deadline = time.monotonic() + MAX_WALL_SECONDS
        for arn in arns or self.executions:
            while self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"execution {arn} still running after {MAX_WALL_SECONDS} s of wall time")
                time.sleep(0.002)
        if self._world_thread is not None:
            self._world_thread.join(timeout=MAX_WALL_SECONDS)
        for delivery in list(self._deliveries):  # events still on their way when the last execution ended
            delivery.join(timeout=MAX_WALL_SECONDS)

    def prepare_approval(self) -> dict[str, Any]:
        """Register and approve the scenario's package, store its policy; return the execution input."""
        approval = self.scenario.approval
        package_arn = None
        if approval.package_exists:
            package_arn = self.create_package(approval.group, approval.package_status, approval.metadata)
        if self.scenario.policy is not None:
            self.put_policy(approval.group, self.scenario.policy)
        if approval.manual is not None:
            execution_input = dict(approval.manual)
            if package_arn and "model_package_arn" not in execution_input:
                execution_input["model_package_arn"] = package_arn
            return execution_input
        event = self.scenario.load_event(self.root)
        return self.approval_event(event, package_arn) if package_arn else event

    def run(self, execution_name: str | None = None) -> Report:
        """The scenario from approval to report."""
        execution_input = self.prepare_approval()
        for delivery in list(self._deliveries):  # events of the world's setup land before the story starts
            delivery.join(timeout=MAX_WALL_SECONDS)
        with self.holding_time():
            if self.scenario.approval.manual is not None or self.matches_rule(execution_input):
                for copy_number in range(1 + self.scenario.approval.duplicates):
                    name = f"{execution_name}-{copy_number}" if execution_name and copy_number else execution_name
                    self.start(execution_input, name)
            if self.executions:
                self.start_world()
        self.wait()
        return build_report(self)

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
