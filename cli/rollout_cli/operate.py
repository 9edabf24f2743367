"""The operator's side of the service: what the `rollout` commands do against a deployed stack.

Everything here talks to AWS with the caller's credentials through boto3; the stack's names come from its
CloudFormation outputs and parameters, so a command needs only the stack name.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from rollout.aws import registry, ssm, stepfunctions, table
from rollout.errors import AwsServiceError
from rollout.models.policy import AbTest, BlueGreen, Shadow
from rollout.plan.steps import expand
from rollout.policy import ResolvedPolicy, parse_policy_document, resolve_policy, standard_layers


@dataclass(frozen=True)
class StackInfo:
    """What a command needs to know about a deployed stack."""

    state_machine_arn: str
    table_name: str
    policy_prefix: str
    default_policy: str
    steering_url: str = ""


def _outputs_and_parameters(session: Any, stack_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's outputs and parameters by key (CloudFormation DescribeStacks)."""
    stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return outputs, parameters


def stack_info(session: Any, stack_name: str) -> StackInfo:
    """Read the stack's outputs and parameters (CloudFormation DescribeStacks)."""
    outputs, parameters = _outputs_and_parameters(session, stack_name)
    return StackInfo(
        state_machine_arn=outputs["StateMachineArn"],
        table_name=outputs["RolloutTableName"],
        policy_prefix=parameters.get("PolicyParameterPrefix", "/rollout/policies").rstrip("/"),
        default_policy=parameters.get("DefaultPolicy", "{}") or "{}",
        steering_url=outputs.get("SteeringApiUrl", ""),
    )


def env_vars(session: Any, stack_name: str) -> dict[str, dict[str, str]]:
    """The ``sam local invoke --env-vars`` file for a deployed stack: the environment the template sets with
    ``!Ref``/``!Sub`` (names SAM cannot know locally), read from the stack's outputs and parameters, so a locally
    invoked function works on the stack's own table, topic and state machine."""
    outputs, parameters = _outputs_and_parameters(session, stack_name)
    return {
        "Parameters": {
            "ROLLOUT_TABLE_NAME": outputs["RolloutTableName"],
            "NOTIFY_TOPIC_ARN": outputs.get("NotificationTopicArn", ""),
            "STATE_MACHINE_ARN": outputs["StateMachineArn"],
            "EVENT_BUS_NAME": parameters.get("EventBusName", "default"),
            "POLICY_PARAMETER_PREFIX": parameters.get("PolicyParameterPrefix", "/rollout/policies"),
            "DEFAULT_POLICY": parameters.get("DefaultPolicy", "{}") or "{}",
            "SAGEMAKER_EXECUTION_ROLE_ARN": parameters.get("SageMakerExecutionRoleArn", ""),
            "POWERTOOLS_LOG_LEVEL": parameters.get("LogLevel", "INFO"),
            "POWERTOOLS_METRICS_NAMESPACE": parameters.get("MetricsNamespace", "SageMakerRollout"),
        }
    }


def validate_policy_file(path: Path) -> tuple[ResolvedPolicy, list[str]]:
    """Validate a policy document; return it resolved and its plan (as one line per step)."""
    resolved = resolve_policy([parse_policy_document(path.read_text(), f"file {path}")])
    return resolved, plan_lines(resolved.policy.strategy)


def plan_lines(strategy: Any) -> list[str]:
    """How a person reads the plan: the steps of a traffic shift, and what SageMaker does in a blue/green
    deployment or what a shadow or A/B test does (a shadow's share is a copy of the requests, not traffic)."""
    if isinstance(strategy, BlueGreen):
        return _blue_green_lines(strategy)
    if isinstance(strategy, Shadow):
        return [
            f"copy {strategy.sampling_percent}% of requests to the new model as a shadow for "
            f"{strategy.duration_seconds} s (callers are answered by the live model), then {strategy.on_pass} "
            "if it passes"
        ]
    if isinstance(strategy, AbTest):
        return [
            f"{strategy.new_percent:g}% of traffic on the new model beside the live one for "
            f"{strategy.duration_seconds} s, then {strategy.decision.replace('_', ' ')}"
        ]
    return [f"{s.weight_percent:g}% for {s.bake_seconds} s" for s in expand(strategy)]


def _size(size: Any) -> str:
    return f"{size.value}%" if size.type == "CAPACITY_PERCENT" else f"{size.value} instance(s)"


def _blue_green_lines(strategy: BlueGreen) -> list[str]:
    if strategy.rolling is not None:
        rolling = strategy.rolling
        lines = [
            f"SageMaker rolling update: batches of {_size(rolling.max_batch_size)} of the fleet, "
            f"{rolling.wait_interval_seconds} s bake after each batch"
        ]
    else:
        routing = strategy.routing
        wait = routing.wait_interval_seconds
        if routing.type == "CANARY" and routing.canary_size is not None:
            first = f"{_size(routing.canary_size)} of the new fleet's capacity"
            lines = [f"SageMaker blue/green: traffic to {first} first, {wait} s bake, then all of it"]
        elif routing.type == "LINEAR" and routing.linear_step_size is not None:
            lines = [
                f"SageMaker blue/green: traffic to the new fleet in steps of {_size(routing.linear_step_size)}, "
                f"{wait} s bake after each"
            ]
        else:
            lines = [f"SageMaker blue/green: all traffic to the new fleet at once, {wait} s bake"]
    alarms = ", ".join(strategy.auto_rollback_alarms) or "the policy's analysis.alarms"
    lines.append(f"SageMaker rolls back by itself if {alarms} goes to ALARM")
    if strategy.termination_wait_seconds:
        lines.append(f"the old fleet is kept {strategy.termination_wait_seconds} s after the shift, then terminated")
    lines.append("then one health check by the rollout")
    return lines


def put_policy(session: Any, stack: StackInfo, group: str, path: Path) -> tuple[str, ResolvedPolicy]:
    """Validate a group's policy document as the stack will read it (over its DefaultPolicy), then write it to
    the SSM parameter the stack reads (``<PolicyParameterPrefix>/<group>``). An invalid document writes nothing."""
    name = f"{stack.policy_prefix}/{group}"
    text = path.read_text()
    resolved = resolve_policy(standard_layers(stack.default_policy, name, text, {}))
    document = json.dumps(json.loads(text), separators=(",", ":"))  # valid JSON: resolve_policy parsed it
    ssm.put_parameter(name, document, session.client("ssm"))
    return name, resolved


def show_policy(session: Any, stack: StackInfo, group: str, package_arn: str | None = None) -> ResolvedPolicy:
    """The policy a rollout of ``group`` would get now, with the source of every field."""
    name = f"{stack.policy_prefix}/{group}"
    stored = ssm.get_parameter(name, session.client("ssm"))
    metadata: dict[str, str] = {}
    if package_arn:
        metadata = dict(registry.describe_model_package(package_arn, session.client("sagemaker")).metadata)
    return resolve_policy(standard_layers(stack.default_policy, name, stored, metadata))


def start(
    session: Any,
    stack: StackInfo,
    package_arn: str,
    endpoint: str | None,
    policy: dict[str, Any] | None,
    name: str | None = None,
) -> str:
    """A manual execution with the documented input; returns its ARN. Unnamed, it gets a UUID (what Step
    Functions does when no name is given; said explicitly, as moto would name every such execution "None")."""
    execution_input: dict[str, Any] = {"model_package_arn": package_arn}
    if endpoint:
        execution_input["endpoint_name"] = endpoint
    if policy:
        execution_input["policy"] = policy
    name = name or str(uuid.uuid4())
    arn = stepfunctions.start_execution(
        stack.state_machine_arn, json.dumps(execution_input), name, session.client("stepfunctions")
    )
    if arn is None:
        raise AwsServiceError(f"states:StartExecution failed: an execution named {name} exists already")
    return arn


def history(session: Any, stack: StackInfo, endpoint: str, limit: int = 20) -> list[dict[str, Any]]:
    """The endpoint's rollout records, newest first; fields the table keeps as JSON text come back as JSON."""
    records: list[dict[str, Any]] = table.list_records(stack.table_name, endpoint, limit, session.client("dynamodb"))
    for record in records:
        for key in JSON_FIELDS:
            if isinstance(record.get(key), str):
                with contextlib.suppress(json.JSONDecodeError):  # an older record's free text stays as it was
                    record[key] = json.loads(record[key])
    return records


JSON_FIELDS = ("steps", "experiment")  # record attributes stored as JSON text (a DynamoDB string)


def status(session: Any, stack: StackInfo, endpoint: str | None = None, now: datetime | None = None) -> list[Any]:
    """Every running rollout (of ``endpoint``) as ``rollout_cli.status.RolloutStatus``: step, live shares,
    latest verdict, time left in the bake, the rollback's reason and progress."""
    from rollout_cli.status import status as running

    return running(session, stack.state_machine_arn, endpoint, now)


def policy_layers_summary(resolved: ResolvedPolicy) -> list[tuple[str, str, str]]:
    """(field, value, source) rows for every field a source set; the rest are defaults."""
    document = resolved.policy.model_dump(mode="json")
    rows = []
    for path, source in resolved.sources.items():
        value: Any = document
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        rows.append((path, json.dumps(value), source))
    return rows


# --- steering a running rollout ----------------------------------------------------------------------------
# People steer through the stack's steering API (API Gateway, AWS_IAM auth): each command is one HTTPS request
# signed with the caller's AWS credentials (SigV4). AWS authenticates the principal and checks execute-api:Invoke;
# the steering function records that principal. --by and --reason travel as comments.

Transport = Callable[[Any], tuple[int, bytes]]  # a prepared HTTP request -> (status, body)


@dataclass(frozen=True)
class Steered:
    """What a steering command did: ``done`` False means it changed nothing (``status`` says why: 409 nothing to
    act on, 403 refused by AWS, 400 a bad request)."""

    done: bool
    rollout_id: str | None
    message: str
    status: int = 200

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _send(prepared: Any) -> tuple[int, bytes]:
    from botocore.httpsession import URLLib3Session

    response = URLLib3Session(timeout=30).send(prepared)
    return int(response.status_code), bytes(response.content)


# What each steering action does (the commands' help says the same): approve or reject the gate the rollout waits
# at; abort (roll back like a failed check); promote now (skip the remaining steps once the current one passes, and
# pass a waiting gate); release an endpoint a needs_attention rollout left held (the next waiting rollout takes it at
# its next look); pause at the current weight (checks and alarms go on) and resume; retry the package of the latest
# rollout, which rolled back or failed; undo: roll out the model of the previous successful rollout.
ACTIONS = ("approve", "reject", "abort", "promote", "release", "pause", "resume", "retry", "undo")
FIXED_REASONS = {"promote": "promote now", "retry": "retry"}  # actions that take no reason of a person's


def steer(
    session: Any,
    stack: StackInfo,
    endpoint: str,
    action: str,
    reason: str = "",
    by: str = "",
    transport: Transport | None = None,
    signed: bool = True,
) -> Steered:
    """POST /endpoints/<endpoint>/<action> to the steering API (the commands send one of ``ACTIONS``; the API
    itself answers any other with 404), signed with the session's credentials. --by and the reason travel as
    comments: AWS records the principal that signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    reason = FIXED_REASONS.get(action, reason)
    if not stack.steering_url:
        return Steered(
            False, None, "the stack has no SteeringApiUrl output (deployed before steering had an API?)", 400
        )
    url = f"{stack.steering_url.rstrip('/')}/endpoints/{quote(endpoint, safe='')}/{action}"
    request = AWSRequest(
        method="POST",
        url=url,
        data=json.dumps({"reason": reason, "by": by}),
        headers={"Content-Type": "application/json"},
    )
    if signed:
        credentials = session.get_credentials()
        if credentials is None:
            return Steered(False, None, "no AWS credentials to sign the steering request with", 403)
        region = urlsplit(url).netloc.split(".")[2] if ".execute-api." in url else session.region_name
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    status, body = (transport or _send)(request.prepare())
    try:
        answer = json.loads(body.decode() or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        answer = {}
    message = str(answer.get("message") or answer.get("Message") or body.decode(errors="replace") or f"HTTP {status}")
    return Steered(bool(answer.get("done")) and status == 200, answer.get("rollout_id"), message, status)
