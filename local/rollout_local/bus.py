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
from rollout_local.emulator.sagemaker import ACCOUNT, REGION
from rollout_local.stack import Stack

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


def rules_of(stack: Stack) -> list[Rule]:
    """Every EventBridge rule of the stack: the functions' and the state machine's, patterns compiled once."""
    rules = [
        Rule(arn.rsplit(":", 1)[-1], EventPattern.load(json.dumps(pattern)), arn, False) for pattern, arn in stack.rules
    ]
    machine = EventPattern.load(json.dumps(stack.event_pattern))
    rules.append(Rule("state machine", machine, stack.state_machine_arn, True))
    return rules


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
    ) -> None:
        self.rules = rules
        self.delivery = timedelta(seconds=delivery_seconds)  # how long EventBridge takes to hand an event over
        self.agenda = agenda
        self.now = now
        self.start_execution = start_execution
        self.invoke = invoke
        self.errors: list[dict[str, Any]] = []  # failed deliveries and the errors of invoked functions
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
                self.errors.append({"rule": rule.name, "errorType": type(exc).__name__, "errorMessage": str(exc)})
            return
        self.agenda.spawn(lambda: self._invoke(rule, event))

    def _invoke(self, rule: Rule, event: dict[str, Any]) -> None:
        """An asynchronous invocation: the function's errors are reported, never raised to whoever put the event."""
        headers: dict[str, str] = {}
        result = self.invoke(rule.target, json.dumps(event).encode(), headers)
        if headers.get("x-amz-function-error"):
            self.errors.append(json.loads(result))


def _delivery(bus: EventBus, rule: Rule, event: dict[str, Any]) -> Callable[[], None]:
    return lambda: bus.deliver(rule, event)
