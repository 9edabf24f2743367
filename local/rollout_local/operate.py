"""The operator's side of the service: what the `rollout` commands do against a deployed stack.

Everything here talks to AWS with the caller's credentials through boto3; the stack's names come from its
CloudFormation outputs and parameters, so a command needs only the stack name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from rollout import plan
from rollout.aws import table
from rollout.models import RolloutState
from rollout.policy import ResolvedPolicy, parse_policy_document, resolve_policy, standard_layers


@dataclass(frozen=True)
class StackInfo:
    """What a command needs to know about a deployed stack."""

    state_machine_arn: str
    table_name: str
    policy_prefix: str
    default_policy: str
    steering_url: str = ""


def stack_info(session: Any, stack_name: str) -> StackInfo:
    """Read the stack's outputs and parameters (CloudFormation DescribeStacks)."""
    stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return StackInfo(
        state_machine_arn=outputs["StateMachineArn"],
        table_name=outputs["RolloutTableName"],
        policy_prefix=parameters.get("PolicyParameterPrefix", "/rollout/policies").rstrip("/"),
        default_policy=parameters.get("DefaultPolicy", "{}") or "{}",
        steering_url=outputs.get("SteeringApiUrl", ""),
    )


def validate_policy_file(path: Path) -> tuple[ResolvedPolicy, list[str]]:
    """Validate a policy document; return it resolved and its plan (as one line per step)."""
    resolved = resolve_policy([parse_policy_document(path.read_text(), f"file {path}")])
    steps = plan.expand(resolved.policy.strategy)
    return resolved, [f"{s.weight_percent:g}% for {s.bake_seconds} s" for s in steps]


def show_policy(session: Any, stack: StackInfo, group: str, package_arn: str | None = None) -> ResolvedPolicy:
    """The policy a rollout of ``group`` would get now, with the source of every field."""
    name = f"{stack.policy_prefix}/{group}"
    ssm = session.client("ssm")
    try:
        stored = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        stored = None
    metadata: dict[str, str] = {}
    if package_arn:
        described = session.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
        metadata = described.get("CustomerMetadataProperties") or {}
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
    arn: str = session.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, input=json.dumps(execution_input), name=name or str(uuid.uuid4())
    )["executionArn"]
    return arn


def history(session: Any, stack: StackInfo, endpoint: str, limit: int = 20) -> list[dict[str, str]]:
    """The endpoint's rollout records, newest first."""
    return table.list_records(stack.table_name, endpoint, limit, session.client("dynamodb"))


@dataclass(frozen=True)
class RolloutStatus:
    execution_arn: str
    endpoint: str
    package: str
    strategy: str
    phase: str
    step: int
    steps: int
    weight_percent: float | None
    weights: dict[str, float]
    last_verdict: str | None
    message: str
    last_figures: dict[str, Any] | None  # the statistical judge's figures at the latest check
    verification: str | None  # how the pre-traffic verification went, when the policy asked for one
    seconds_to_next_check: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(
    session: Any, stack: StackInfo, endpoint: str | None = None, now: datetime | None = None
) -> list[RolloutStatus]:
    """Every running rollout (of ``endpoint``): its step, live weights, latest verdict, time to the next check."""
    sfn = session.client("stepfunctions")
    running = sfn.list_executions(stateMachineArn=stack.state_machine_arn, statusFilter="RUNNING")["executions"]
    found = []
    for execution in running:
        state = _latest_state(sfn, execution["executionArn"])
        if state is None or (endpoint and state.endpoint_name != endpoint):
            continue
        found.append(_summary(session, execution["executionArn"], state, now))
    return found


def _latest_state(sfn: Any, arn: str) -> RolloutState | None:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    for event in sorted(events, key=lambda e: e["id"], reverse=True):
        details = event.get("stateExitedEventDetails") or event.get("stateEnteredEventDetails") or {}
        text = details.get("output") or details.get("input")
        if not text:
            continue
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("state"), dict):
            document = document["state"]  # the Bake task's payload wraps the state
        try:
            return RolloutState.model_validate({k: v for k, v in document.items() if k in RolloutState.model_fields})
        except (ValueError, TypeError, AttributeError):
            continue
    return None


def _summary(session: Any, arn: str, state: RolloutState, now: datetime | None) -> RolloutStatus:
    weights: dict[str, float] = {}
    try:
        described = session.client("sagemaker").describe_endpoint(EndpointName=state.endpoint_name)
        weights = {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in described.get("ProductionVariants", [])}
    except Exception:
        weights = {}
    step = state.steps[state.step_index] if state.steps else None
    remaining = None
    if state.phase.value == "baking" and state.bake.ends_at is not None and now is not None:
        remaining = max(0, int((state.bake.ends_at - now).total_seconds()))
    return RolloutStatus(
        execution_arn=arn,
        endpoint=state.endpoint_name,
        package=f"{state.package.group_name} v{state.package.version}",
        strategy=state.policy.strategy.type,
        phase=state.phase.value,
        step=state.step_index + 1 if step else 0,
        steps=len(state.steps),
        weight_percent=step.weight_percent if step else None,
        weights=weights,
        last_verdict=state.history[-1].verdict.value if state.history else None,
        message=state.message,
        last_figures=state.history[-1].figures.model_dump(mode="json")
        if state.history and state.history[-1].figures
        else None,
        verification=state.verification.reason if state.verification else None,
        seconds_to_next_check=remaining,
    )


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
    """POST /endpoints/<endpoint>/<action> to the steering API, signed with the session's credentials."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

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


def approve(
    session: Any,
    stack: StackInfo,
    endpoint: str,
    by: str = "",
    reason: str = "",
    reject: bool = False,
    transport: Transport | None = None,
    signed: bool = True,
) -> Steered:
    """Approve (or reject) the gate the endpoint's rollout waits at."""
    return steer(session, stack, endpoint, "reject" if reject else "approve", reason, by, transport, signed)


def abort(
    session: Any,
    stack: StackInfo,
    endpoint: str,
    by: str,
    reason: str,
    transport: Transport | None = None,
    signed: bool = True,
) -> Steered:
    """Abort the endpoint's running rollout: it rolls back like a failed check, and the record says who and why."""
    return steer(session, stack, endpoint, "abort", reason, by, transport, signed)


def promote(
    session: Any, stack: StackInfo, endpoint: str, by: str = "", transport: Transport | None = None, signed: bool = True
) -> Steered:
    """Promote-now: skip the remaining steps once the current one passes its checks (and pass a waiting gate)."""
    return steer(session, stack, endpoint, "promote", "promote now", by, transport, signed)
