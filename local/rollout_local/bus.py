"""EventBridge in the simulator: one bus, the stack's rules, and delivery to their targets.

Every event of a simulation goes through ``EventBus.publish``: SageMaker's model package changes (the scenario's
approvals and timeline), CloudWatch's alarm state changes (the world), and the events the service's functions put
themselves. Each rule of the stack - the functions' rules and the state machine's - is matched against it, and
each matching rule's target gets it: the state machine starts an execution with the event as input, a function
is invoked asynchronously. Deliveries happen on the agenda, ``delivery_seconds`` later (the scenario's
``aws_timings.eventbridge_delivery_seconds``), so whoever puts an event never waits for its targets (as on AWS).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from moto.events.models import EventPattern

from rollout_local.agenda import Agenda
from rollout_local.emulator.iam_needs import Need
from rollout_local.emulator.iam_policy import Role, parse_statement
from rollout_local.emulator.sagemaker import ACCOUNT, REGION
from rollout_local.stack import AsyncInvokeConfig, Stack

DEFAULT_BUS = "default"  # the template's rules name no bus: they are on the account's default bus
DEFAULT_BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{DEFAULT_BUS}"


@dataclass(frozen=True)
class Put:
    """One event on the bus: when, what, and the rules that matched it (empty: nobody gets it)."""

    at: datetime
    source: str
    detail_type: str
    resources: list[str]
    rules: list[str]


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule of the stack and its one target."""

    name: str
    pattern: Any  # moto's compiled EventPattern
    target: str  # a function ARN, or the state machine ARN
    starts_execution: bool
    arn: str = ""
    dead_letter_arn: str | None = None  # where an event goes that cannot be delivered


def wildcard_error(operand: Any) -> str | None:
    """Why EventBridge refuses this ``wildcard`` operand, or None. As its rule engine (aws/event-ruler) parses it:
    a string; ``*`` matches any run of characters (none included); ``\\*`` and ``\\\\`` are a literal ``*`` and
    backslash, any other escape is refused; two ``*`` side by side are refused."""
    if not isinstance(operand, str):
        return f"wildcard match pattern must be a string, got {operand!r}"
    index = 0
    while index < len(operand):
        char = operand[index]
        if char == "\\":
            if index + 1 >= len(operand) or operand[index + 1] not in "*\\":
                return f"Invalid escape character at pos {index}"
            index += 2
            continue
        if char == "*" and operand[index + 1 : index + 2] == "*":
            return f"Consecutive wildcard characters at pos {index}"
        index += 1
    return None


def pattern_errors(pattern: Any, path: str = "") -> list[str]:
    """What EventBridge would refuse in an event pattern, for the filters local mode matches with a semantics of
    its own (``wildcard``, ``prefix``): moto's matcher accepts them all."""
    errors: list[str] = []
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            errors += pattern_errors(value, f"{path}.{key}" if path else key)
    elif isinstance(pattern, list):
        for item in pattern:
            if isinstance(item, dict) and "wildcard" in item:
                problem = wildcard_error(item["wildcard"])
                errors += [f"{path}: {problem}"] if problem else []
            elif isinstance(item, dict) and "prefix" in item:
                operand = item["prefix"]
                if isinstance(operand, dict):
                    operand = operand.get("equals-ignore-case")
                errors += [] if isinstance(operand, str) else [f"{path}: prefix match pattern must be a string"]
            elif isinstance(item, dict) and "$or" not in item:
                errors += pattern_errors(item, path)
    return errors


def rules_of(stack: Stack) -> list[Rule]:
    """Every EventBridge rule of the stack: the functions' and the state machine's, patterns compiled once. A
    pattern EventBridge would refuse refuses the stack (as PutRule fails the deployment)."""
    for spec in stack.rules:
        errors = pattern_errors(spec.pattern)
        if errors:
            raise ValueError(f"EventBridge refuses the event pattern of rule {spec.name}: {'; '.join(errors)}")
    return [
        Rule(
            "state machine" if spec.target == stack.state_machine_arn else spec.target.rsplit(":", 1)[-1],
            EventPattern.load(json.dumps(spec.pattern)),
            spec.target,
            spec.target == stack.state_machine_arn,
            spec.arn,
            spec.dead_letter_arn,
        )
        for spec in stack.rules
    ]


# Lambda retries a failed asynchronous invocation after one minute, then after two more (AWS Lambda developer guide,
# "Error handling and automatic retries in Lambda").
ASYNC_RETRY_DELAYS = (60.0, 120.0)


@dataclass(frozen=True)
class DeadLetters:
    """Where undeliverable events and failed asynchronous invocations go, and who may send there."""

    async_configs: dict[str, AsyncInvokeConfig]
    queue_policies: dict[str, list[dict[str, Any]]]
    roles: dict[str, Role]  # function name -> its role (the Lambda service sends a destination record with it)
    send: Callable[[str, str, dict[str, str]], None]  # queue ARN, body, string attributes


class EventBus:
    """The account's default event bus, with the stack's rules on it."""

    def __init__(
        self,
        rules: list[Rule],
        agenda: Agenda,
        now: Callable[[], datetime],
        start_execution: Callable[[dict[str, Any]], str],
        invoke: Callable[[str, bytes, dict[str, str]], bytes],
        delivery_seconds: float = 0.5,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.rules = rules
        self.delivery = timedelta(seconds=delivery_seconds)  # how long EventBridge takes to hand an event over
        self.agenda = agenda
        self.now = now
        self.start_execution = start_execution
        self.invoke = invoke
        self.dead_letters = dead_letters
        self.errors: list[dict[str, Any]] = []  # failed deliveries and the errors of invoked functions
        self.dead_lettered: list[dict[str, Any]] = []  # what went to a dead-letter queue or failure destination
        self.log: list[Put] = []  # every event put on the bus, in order

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` to the target of every matching rule, after the delivery delay."""
        now = self.now()
        matched = [rule for rule in self.rules if rule.pattern.matches_event(event)]
        resources = [str(r) for r in event.get("resources") or []]
        names = [rule.name for rule in matched]
        self.log.append(Put(now, str(event.get("source")), str(event.get("detail-type")), resources, names))
        for rule in matched:
            self.agenda.at(now + self.delivery, _delivery(self, rule, event))

    def starts_execution(self, event: dict[str, Any]) -> bool:
        """Would the state machine's rule start a rollout for this event?"""
        return any(rule.starts_execution and rule.pattern.matches_event(event) for rule in self.rules)

    def put_events_entry(self, entry: dict[str, Any]) -> None:
        """A PutEvents entry (from a function), made into the event EventBridge builds of it."""
        if entry.get("EventBusName", DEFAULT_BUS) not in (DEFAULT_BUS, DEFAULT_BUS_ARN):
            return  # another bus: none of the stack's rules is on it
        self.publish(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry.get("DetailType", ""),
                "source": entry.get("Source", ""),
                "account": ACCOUNT,
                "time": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": entry.get("Resources", []),
                "detail": json.loads(entry.get("Detail") or "{}"),
            }
        )

    def deliver(self, rule: Rule, event: dict[str, Any]) -> None:
        """Hand ``event`` to ``rule``'s target now."""
        if rule.starts_execution:
            try:
                self.start_execution(event)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                self.errors.append({"rule": rule.name, "errorType": type(exc).__name__, "errorMessage": str(exc)})
                self._dead_letter(rule, event, str(error.get("Code", "")), str(error.get("Message", "")))
            return
        self.agenda.spawn(lambda: self._invoke(rule, event, 1))

    def _invoke(self, rule: Rule, event: dict[str, Any], attempt: int) -> None:
        """An asynchronous invocation: the function's errors are reported, never raised to whoever put the event;
        Lambda retries it, then sends it to the function's on-failure destination."""
        headers: dict[str, str] = {}
        result = self.invoke(rule.target, json.dumps(event).encode(), headers)
        if not headers.get("x-amz-function-error"):
            return
        error = json.loads(result)
        self.errors.append(error)
        config = self.dead_letters.async_configs.get(rule.target) if self.dead_letters else None
        retries = config.maximum_retry_attempts if config else 2
        if attempt <= retries:
            delay = ASYNC_RETRY_DELAYS[min(attempt - 1, len(ASYNC_RETRY_DELAYS) - 1)]
            self.agenda.at(self.now() + timedelta(seconds=delay), lambda: self._invoke(rule, event, attempt + 1))
            return
        if config is not None and config.on_failure_arn:
            self._on_failure(rule, event, error, attempt, config.on_failure_arn)

    def _on_failure(self, rule: Rule, event: dict[str, Any], error: dict[str, Any], attempts: int, queue: str) -> None:
        """The invocation record Lambda sends to an SQS on-failure destination, with the function's role."""
        assert self.dead_letters is not None
        function = rule.target.rsplit(":", 1)[-1]
        role = self.dead_letters.roles.get(function)
        if role is not None and role.decide(Need("sqs:SendMessage", queue)) != "allow":
            self.errors.append(
                {
                    "rule": rule.name,
                    "errorType": "AccessDenied",
                    "errorMessage": f"{function} may not send its failure record to {queue}: the record is lost",
                }
            )
            return
        record = {
            "version": "1.0",
            "timestamp": self.now().isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{rule.target}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": error,
        }
        self.dead_letters.send(queue, json.dumps(record), {})
        self.dead_lettered.append({"queue": queue, "rule": rule.name, "kind": "on-failure destination"})

    def _dead_letter(self, rule: Rule, event: dict[str, Any], code: str, message: str) -> None:
        """EventBridge's dead-letter queue: the event, with why it was not delivered, if the queue's policy lets
        EventBridge send for this rule (otherwise the event is lost, as on AWS)."""
        if rule.dead_letter_arn is None or self.dead_letters is None:
            return
        statements = self.dead_letters.queue_policies.get(rule.dead_letter_arn, [])
        if not _events_may_send(statements, rule.dead_letter_arn, rule.arn):
            self.errors.append(
                {
                    "rule": rule.name,
                    "errorType": "DeadLetterDenied",
                    "errorMessage": "the queue's "
                    f"policy does not let EventBridge send for {rule.arn}: the event is lost",
                }
            )
            return
        attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": rule.target, "ERROR_CODE": code, "ERROR_MESSAGE": message}
        self.dead_letters.send(rule.dead_letter_arn, json.dumps(event), attributes)
        self.dead_lettered.append({"queue": rule.dead_letter_arn, "rule": rule.name, "kind": "dead-letter queue"})


def _events_may_send(statements: list[dict[str, Any]], queue: str, rule_arn: str) -> bool:
    """Does the queue's resource policy allow events.amazonaws.com to SendMessage for this rule?"""
    context = {"aws:sourcearn": (rule_arn,), "aws:sourceaccount": (ACCOUNT,)}
    allowed = False
    for index, raw in enumerate(statements):
        if raw.get("Principal") != {"Service": "events.amazonaws.com"}:
            continue
        statement = parse_statement({k: v for k, v in raw.items() if k != "Principal"}, f"queue policy #{index}")
        if statement.applies("sqs:SendMessage", queue, context):
            if statement.effect == "Deny":
                return False
            allowed = True
    return allowed


def _delivery(bus: EventBus, rule: Rule, event: dict[str, Any]) -> Callable[[], None]:
    return lambda: bus.deliver(rule, event)
