"""The scenario timeline, played: what the outside world does while rollouts run, at exact simulated times.

``Timeline.perform`` does one entry the way the outside world would: data scientists through the model registry
(whose changes SageMaker announces on EventBridge), people through the `rollout` CLI's code, other teams through
SageMaker and CloudWatch. None of it runs inside a handler, so none of it counts as the service's calls, and an
error AWS answers is the entry's result (reported), not the simulation's failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rollout_local.account import production_variant
from rollout_local.actions import (
    Approve,
    DeleteEndpoint,
    Operator,
    PackageEvent,
    SetAlarm,
    SetApproval,
    StartExecution,
    TimelineEntry,
    UpdateEndpoint,
    UpdateWeights,
)
from rollout_local.references import new_config_name
from rollout_local.scenario import endpoint_name_of

if TYPE_CHECKING:
    from rollout_local.simulator import Simulation


class ActionReport(BaseModel):
    """What one timeline entry did."""

    t: float = Field(description="simulated seconds since the start")
    action: str
    summary: str
    error: str | None = Field(default=None, description="the error AWS answered (the entry then changed nothing)")
    events: list[str] = Field(
        default_factory=list, description="the events it caused, each with the rules that got it ('-' for none)"
    )


SET_ALARM_HOLD_SECONDS = 5.0  # how long SetAlarmState's state holds before the alarm is evaluated again

_EVENT_SOURCES = {
    "approve": "aws.sagemaker",
    "set_approval": "aws.sagemaker",
    "package_event": "aws.sagemaker",
    "set_alarm": "aws.cloudwatch",
}


class Timeline:
    """Performs timeline entries against a running simulation, as the outside world."""

    def __init__(self, simulation: Simulation) -> None:
        self.sim = simulation
        self.reports: list[ActionReport] = []
        self.operator_results: list[dict[str, Any]] = []

    def schedule(self) -> int:
        """Put the timeline (and the older ``operator:`` key) on the agenda; returns how many entries there are."""
        numbered: list[tuple[int, TimelineEntry]] = list(enumerate(self.sim.scenario.timeline))
        numbered += [(-1, entry) for entry in self.sim.scenario.operator_entries()]
        for index, entry in sorted(numbered, key=lambda pair: pair[1].at_seconds):
            self.sim.at(entry.at_seconds, self._doing(index, entry))
        return len(numbered)

    def _doing(self, index: int, entry: TimelineEntry) -> Callable[[], None]:
        def do() -> None:
            self.perform(index, entry)

        return do

    def _reevaluating(self, alarm: str) -> Callable[[], None]:
        def reevaluate() -> None:
            self.sim.world.evaluate_alarms(self.sim.clock.now(), [alarm])

        return reevaluate

    def perform(self, index: int, entry: TimelineEntry) -> ActionReport:
        """Do ``entry`` now; an AWS error is the entry's result (reported), never the simulation's failure."""
        from botocore.exceptions import ClientError
        from rollout.errors import AwsServiceError

        sim = self.sim
        at = sim.clock.elapsed()
        seen = len(sim.bus.log)
        try:
            summary, error = self._do(index, entry), None
        except (ClientError, AwsServiceError) as exc:  # the CLI's adapters say AwsServiceError, from the ClientError
            cause = exc if isinstance(exc, ClientError) else exc.__cause__
            summary = f"{entry.action} refused"
            if isinstance(cause, ClientError):
                error = f"{cause.response['Error'].get('Code')}: {cause.response['Error'].get('Message')}"
            else:
                error = str(exc)
        except LookupError as exc:
            summary, error = f"{entry.action} found nothing to act on", str(exc)
        source = _EVENT_SOURCES.get(entry.action)  # other threads put events meanwhile: keep this entry's kind
        caused = [p for p in sim.bus.log[seen:] if p.source == source]
        events = [f"{p.detail_type} -> {', '.join(p.rules) or '-'}" for p in caused]
        report = ActionReport(t=at, action=entry.action, summary=summary, error=error, events=events)
        self.reports.append(report)
        return report

    def _do(self, index: int, entry: TimelineEntry) -> str:
        sim = self.sim
        if isinstance(entry, Approve):
            registry = sim.registry
            if entry.group is not None:
                arn = registry.create_package(entry.group, "PendingManualApproval", entry.metadata or None, True)
            else:
                arn = registry.arn(entry.package or "")
            registry.set_status(arn, "Approved", entry.description, entry.duplicates)
            return f"{registry.ref(arn)} approved"
        if isinstance(entry, SetApproval):
            sim.registry.set_status(sim.registry.arn(entry.package), entry.status, entry.description, entry.duplicates)
            return f"{entry.package} set to {entry.status}"
        if isinstance(entry, PackageEvent):
            arn = sim.registry.arn(entry.package)
            if entry.metadata:
                sim.registry.update_metadata(arn, entry.metadata)
            status = sim.registry.announce(arn, entry.duplicates)
            return f"{entry.package} changed without an approval change (still {status})"
        if isinstance(entry, Operator):
            return self._operator(entry)
        if isinstance(entry, StartExecution):
            arn = sim.start(entry.input)
            return f"someone started execution {arn.rsplit(':', 1)[-1]} with input {json.dumps(entry.input)[:80]}"
        if isinstance(entry, UpdateEndpoint):
            return self._update_endpoint(index, entry)
        if isinstance(entry, UpdateWeights):
            counts = {v: {"DesiredInstanceCount": n} for v, n in entry.instance_counts.items()}
            desired = {v: {"DesiredWeight": w} for v, w in entry.weights.items()}
            for variant, value in counts.items():
                desired.setdefault(variant, {}).update(value)
            sim.outside.sm.update_endpoint_weights_and_capacities(
                EndpointName=entry.endpoint,
                DesiredWeightsAndCapacities=[{"VariantName": v, **d} for v, d in desired.items()],
            )
            shown = ", ".join(f"{v} {_desired(d)}" for v, d in desired.items())
            return f"someone else set {entry.endpoint}'s {shown}"
        if isinstance(entry, SetAlarm):
            old = sim.world.set_alarm_state(entry.alarm, entry.state, entry.reason)
            # CloudWatch: "metric alarms return to their actual state quickly, often within seconds"
            sim.at(sim.clock.elapsed() + SET_ALARM_HOLD_SECONDS, self._reevaluating(entry.alarm))
            return f"alarm {entry.alarm} set from {old} to {entry.state}: {entry.reason}"
        if isinstance(entry, DeleteEndpoint):
            sim.outside.sm.delete_endpoint(EndpointName=entry.endpoint)
            return f"someone else deleted endpoint {entry.endpoint}"
        config = entry.config or sim.outside.sm.describe_endpoint(EndpointName=entry.endpoint)["EndpointConfigName"]
        sim.outside.sm.delete_endpoint_config(EndpointConfigName=config)
        return f"someone else deleted endpoint config {config}"

    def _operator(self, entry: Operator) -> str:
        """A person's `rollout` command, with their own credentials: IAM judges their calls, and the steering API
        authenticates their signed requests."""
        from rollout_cli import operate

        sim = self.sim
        issued = sim.clock.elapsed()  # when the person acted (the request itself takes the function's time)
        person = sim.person(entry.as_)
        session, stack = sim.session_of(person), sim.stack_info()
        endpoint = entry.endpoint or endpoint_name_of(sim.scenario) or ""
        send = sim.steering_transport() if entry.command != "start" else None
        if entry.command == "start":
            arn = operate.start(
                session, stack, sim.registry.arn(entry.package or ""), entry.endpoint, entry.policy, sim.next_name()
            )
            sim.track(arn)
            result = operate.Steered(True, arn.rsplit(":", 1)[-1], f"started execution {arn.rsplit(':', 1)[-1]}")
        else:  # every other command is one steering action of the same name
            result = operate.steer(session, stack, endpoint, entry.command, entry.reason, entry.by, send, entry.signed)
        self.operator_results.append({"t": issued, "action": entry.command, "as": person.name, **result.as_dict()})
        target = entry.package if entry.command == "start" else endpoint
        return f"{person.name}: rollout {entry.command} {target} -> {result.message}"

    def _update_endpoint(self, index: int, entry: UpdateEndpoint) -> str:
        sim = self.sim
        sm = sim.outside.sm
        if not entry.variants:
            sm.update_endpoint(EndpointName=entry.endpoint, EndpointConfigName=entry.config or "")
            return f"someone else updated {entry.endpoint} to config {entry.config}"
        name = new_config_name(entry, index)
        variants = []
        for variant in entry.variants:
            model = variant.model or f"{entry.endpoint}-{variant.name}-model"
            if model not in sim.sagemaker.models:
                ref = variant.package or f"{entry.endpoint}-baseline/1"
                sm.create_model(
                    ModelName=model,
                    ExecutionRoleArn=sim.stack.role_arn,
                    Containers=[{"ModelPackageName": sim.registry.arn(ref)}],
                )
            variants.append(production_variant(variant, model))
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **entry.config_extras)
        sm.update_endpoint(EndpointName=entry.endpoint, EndpointConfigName=name)
        return f"someone else updated {entry.endpoint} to a new config {name}"


def _desired(values: dict[str, float | int]) -> str:
    parts = []
    if "DesiredWeight" in values:
        parts.append(f"weight {values['DesiredWeight']:g}")
    if "DesiredInstanceCount" in values:
        parts.append(f"{values['DesiredInstanceCount']} instances")
    return " and ".join(parts)
