"""The operator's side of the service: what the `rollout` commands do against a deployed stack.

Everything here talks to AWS with the caller's credentials through boto3; the stack's names come from its
CloudFormation outputs and parameters, so a command needs only the stack name.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Steered:
    """What a steering command did: ``done`` False means there was nothing to act on."""

    done: bool
    rollout_id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def approve(session: Any, stack: StackInfo, endpoint: str, by: str, reason: str = "", reject: bool = False) -> Steered:
    """Approve (or reject) the gate the endpoint's rollout waits at."""
    by, reason = table.clipped(by, reason)
    ddb = session.client("dynamodb")
    waiting = table.waiting(stack.table_name, endpoint, ddb)
    if (
        waiting is None
        or waiting.kind != "gate"
        or table.lock_holder(stack.table_name, endpoint, ddb) != waiting.rollout_id
    ):
        return Steered(False, None, f"no rollout of {endpoint} is waiting at a gate")
    cause = f"{'rejected' if reject else 'approved'} by {by}" + (f": {reason}" if reason else "")
    verb = "reject" if reject else "approve"
    table.put_request(stack.table_name, endpoint, waiting.rollout_id, f"{verb}:{waiting.gate}", by, reason, ddb)
    sfn = session.client("stepfunctions")
    gone = (sfn.exceptions.TaskTimedOut, sfn.exceptions.TaskDoesNotExist, sfn.exceptions.InvalidToken)
    try:
        if reject:
            sfn.send_task_failure(taskToken=waiting.token, error="GateRejectedError", cause=cause)
        else:
            sfn.send_task_success(taskToken=waiting.token, output=json.dumps({"Error": "Approved", "Cause": cause}))
    except gone:  # the gate is between two checks: the next one reads the durable request
        pass
    return Steered(True, waiting.rollout_id, f"gate '{waiting.gate}' of {endpoint} {cause}")


def abort(session: Any, stack: StackInfo, endpoint: str, by: str, reason: str) -> Steered:
    """Abort the endpoint's running rollout: it rolls back like a failed check, and the record says who and why."""
    by, reason = table.clipped(by, reason)
    ddb = session.client("dynamodb")
    rollout_id = table.lock_holder(stack.table_name, endpoint, ddb)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {endpoint} is running")
    table.put_request(stack.table_name, endpoint, rollout_id, "abort", by, reason, ddb)
    waiting = table.waiting(stack.table_name, endpoint, ddb)
    if waiting is not None and waiting.rollout_id == rollout_id:  # waiting in a bake or a gate: end it now
        sfn = session.client("stepfunctions")
        with contextlib.suppress(
            sfn.exceptions.TaskTimedOut, sfn.exceptions.TaskDoesNotExist, sfn.exceptions.InvalidToken
        ):
            sfn.send_task_failure(taskToken=waiting.token, error="AbortedError", cause=f"aborted by {by}: {reason}")
    return Steered(True, rollout_id, f"rollout {rollout_id} of {endpoint} aborted by {by}: {reason}")


def promote(session: Any, stack: StackInfo, endpoint: str, by: str) -> Steered:
    """Promote-now: skip the remaining steps once the current one passes its checks (and pass a waiting gate)."""
    ddb = session.client("dynamodb")
    rollout_id = table.lock_holder(stack.table_name, endpoint, ddb)
    if rollout_id is None:
        return Steered(False, None, f"no rollout of {endpoint} is running")
    table.put_request(stack.table_name, endpoint, rollout_id, "promote", by, "promote now", ddb)
    approved = approve(session, stack, endpoint, by, "promote now")
    note = "; " + approved.message if approved.done else ""
    return Steered(True, rollout_id, f"rollout {rollout_id} of {endpoint} will promote after its current step{note}")


def release(
    session: Any, stack: StackInfo, endpoint: str, by: str, reason: str, now: datetime | None = None
) -> Steered:
    """A person's go-ahead for an endpoint a rollout left for a person (outcome needs_attention): the hold goes,
    the held rollout's record says who released it, when and why, and the next rollout waiting for the endpoint
    takes it at its next look (``lock_poll_seconds``)."""
    ddb = session.client("dynamodb")
    held = table.hold(stack.table_name, endpoint, ddb)
    if held is None:
        return Steered(False, None, f"endpoint {endpoint} is not held: nothing to release")
    by, reason = table.clipped(by, reason)
    if not table.release_hold(stack.table_name, endpoint, held, by, reason, now or datetime.now(UTC), ddb):
        return Steered(False, None, f"the hold of {endpoint} changed meanwhile: look again (rollout history)")
    return Steered(
        True,
        held.rollout_id,
        f"released {endpoint} (held since {held.since} after rollout {held.rollout_id}) by {by}: {reason}",
    )
