"""The simulation report: outcome, the endpoint as left, the timeline, and what it cost."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rollout_local.scenario import endpoint_name_of
from rollout_local.timeline import ActionReport

if TYPE_CHECKING:
    from rollout_local.simulator import Simulation

# executions that are no rollout of their own: a repeated delivery, and a rollout's earlier, continued executions
NOT_ROLLOUTS = ("duplicate", "continued")
TIMELINE_EVENTS = ("TaskStateEntered", "WaitStateEntered", "SucceedStateEntered", "FailStateEntered")


class VariantReport(BaseModel):
    name: str
    model: str
    model_package: str | None
    weight: float
    instances: int | None
    instance_type: str | None
    shadow: bool = False


class EndpointReport(BaseModel):
    name: str
    exists: bool
    status: str | None = None
    config_name: str | None = None
    variants: list[VariantReport] = Field(default_factory=list)


class TimelineEntry(BaseModel):
    t: float = Field(description="simulated seconds since the start")
    state: str
    note: str = ""
    rollout: str | None = Field(default=None, description="the execution a state belongs to (null: the world's)")
    ended: float | None = Field(default=None, description="when a task state ended (simulated seconds)")
    failed: bool = Field(default=False, description="the task ended with an error (the note is the error)")


class EventReport(BaseModel):
    t: float
    detail_type: str
    detail: dict[str, Any]


class ExecutionReport(BaseModel):
    name: str
    status: str
    outcome: str
    reason: str | None
    package: str | None = Field(default=None, description="the model package ARN the rollout is about")
    package_ref: str | None = Field(default=None, description="group/version")
    endpoint: str | None = None
    started: float = Field(default=0.0, description="simulated seconds since the start")
    ended: float | None = Field(default=None, description="null while still running")
    timeline: list[TimelineEntry] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.package_ref or self.package or '?'} -> {self.endpoint or '?'}"


class Metrics(BaseModel):
    state_transitions: int
    api_calls: dict[str, int]
    lambda_invocations: int
    simulated_seconds: float
    wall_seconds: float
    requests_served: int = Field(description="simulated requests the endpoint answered")
    bad_requests_served: int = Field(description="failed (5XX) requests served by the new model")
    shadow_requests: int = Field(default=0, description="copies of requests sent to a shadow variant (never answered)")
    shadow_errors: int = Field(default=0, description="5XX answers of a shadow variant (never reached a caller)")
    alarm_to_rollback_seconds: float | None = Field(
        description="from the first alarm going to ALARM to the rollback's first traffic cut (null: no alarm fired)"
    )


class Report(BaseModel):
    scenario: str
    outcome: str = Field(
        description="one rollout: its outcome; several: their common outcome, or 'mixed' (duplicates aside); "
        "none: 'ignored'"
    )
    reason: str | None
    endpoint: EndpointReport | None = Field(description="the scenario's endpoint (see endpoint_name_of)")
    endpoints: list[EndpointReport] = Field(default_factory=list, description="every endpoint, as left")
    executions: list[ExecutionReport]
    timeline: list[TimelineEntry]
    actions: list[ActionReport] = Field(default_factory=list, description="what the scenario's timeline did")
    metrics: Metrics
    records: list[dict[str, str]] = Field(default_factory=list)
    experiment: dict[str, Any] | None = Field(default=None, description="how an A/B or shadow test ended")
    events: list[EventReport] = Field(default_factory=list, description="the rollout events put on EventBridge")
    operator: list[dict[str, Any]] = Field(default_factory=list, description="what the scenario's people did")
    event_errors: list[dict[str, Any]] = Field(
        default_factory=list, description="errors of functions triggered by EventBridge rules (should be empty)"
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_text(self) -> str:
        """The report for a person (see ``render``)."""
        from rollout_local.render import text

        return text(self)


def _history(simulation: Simulation, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = simulation.sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _timeline(simulation: Simulation, events: list[dict[str, Any]]) -> list[TimelineEntry]:
    start = simulation.clock.start
    entries: list[TimelineEntry] = []
    waits: set[int] = set()
    open_task: TimelineEntry | None = None
    for event in events:
        kind = event["type"]
        if kind in TIMELINE_EVENTS:
            name = event["stateEnteredEventDetails"]["name"]
            entry = TimelineEntry(t=(event["timestamp"] - start).total_seconds(), state=name)
            entries.append(entry)
            if kind == "WaitStateEntered":
                waits.add(id(entry))
            open_task = entry if kind == "TaskStateEntered" else None
        elif kind == "TaskStateExited" and open_task is not None:
            open_task.ended = (event["timestamp"] - start).total_seconds()
            output = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
            if isinstance(output, dict) and not open_task.note:
                open_task.note = str(output.get("message") or output.get("reason") or "")
            open_task = None
        elif kind in ("LambdaFunctionFailed", "TaskFailed") and open_task is not None:
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            open_task.note = f"{details.get('error', 'error')}: {_cause(details.get('cause'))}"
            open_task.ended, open_task.failed = (event["timestamp"] - start).total_seconds(), True
    for entry, following in itertools.pairwise(entries):
        if id(entry) in waits and not entry.note:
            entry.note = f"{following.t - entry.t:g} s"
    return entries


def _cause(cause: str | None) -> str:
    try:
        parsed = json.loads(cause or "")
    except json.JSONDecodeError:
        return cause or ""
    return str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else str(cause)


def _endpoint(simulation: Simulation, name: str | None) -> EndpointReport | None:
    if not name:
        return None
    emulator = simulation.sagemaker
    emulator.settle()
    endpoint = emulator.endpoints.get(name)
    if endpoint is None:
        return EndpointReport(name=name, exists=False)
    specs = {v["VariantName"]: v for v in emulator.configs.get(endpoint.config_name, {}).get("ProductionVariants", [])}
    config = emulator.configs.get(endpoint.config_name, {})
    specs |= {v["VariantName"]: v for v in config.get("ShadowProductionVariants", [])}
    variants = []
    live = [(v, w, c, False) for v, (w, c) in endpoint.live.items()]
    live += [(v, w, c, True) for v, (w, c) in endpoint.shadows.items()]
    for variant, weight, count, shadow in live:
        spec = specs.get(variant, {})
        model = spec.get("ModelName", "?")
        containers = emulator.models.get(model, {}).get("Containers", [])
        variants.append(
            VariantReport(
                name=variant,
                model=model,
                model_package=containers[0].get("ModelPackageName") if containers else None,
                weight=weight,
                instances=count,
                instance_type=spec.get("InstanceType"),
                shadow=shadow,
            )
        )
    return EndpointReport(
        name=name, exists=True, status=endpoint.status, config_name=endpoint.config_name, variants=variants
    )


def _records(simulation: Simulation) -> list[dict[str, str]]:
    items = simulation.session.client("dynamodb").scan(TableName=simulation.stack.table_name)["Items"]
    records = [
        {k: v["S"] for k, v in item.items() if "S" in v and k not in {"pk", "sk"}}
        for item in items
        if item["pk"]["S"].startswith("ENDPOINT#") and item["sk"]["S"].startswith("ROLLOUT#")
    ]
    return sorted(records, key=lambda r: (r.get("started_at", ""), r.get("rollout_id", "")))


def _rollout_id(described: dict[str, Any], name: str) -> str:
    """The rollout an execution belongs to: its own name, or the rollout it continues."""
    execution_input = json.loads(described.get("input") or "{}")
    continued = execution_input.get("continue") if isinstance(execution_input, dict) else None
    return str(continued["rollout_id"]) if isinstance(continued, dict) and "rollout_id" in continued else name


def _continued(events: list[dict[str, Any]]) -> bool:
    """Did the execution end by handing its rollout to a fresh execution (Continue As New)?"""
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    return bool(entered) and entered[-1] == "Rollout Continued"


def build_report(simulation: Simulation) -> Report:
    """Everything a run left behind: each execution, each endpoint, the world's events, the costs."""
    records = _records(simulation)
    by_id = {r["rollout_id"]: r for r in records}
    executions: list[ExecutionReport] = []
    timeline: list[TimelineEntry] = []
    transitions = 0
    start = simulation.clock.start
    last_event = start
    for arn in simulation.refresh_executions():
        described = simulation.sfn.describe_execution(executionArn=arn)
        events = _history(simulation, arn)
        if events:
            last_event = max(last_event, events[-1]["timestamp"])
        transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
        name = arn.rsplit(":", 1)[-1]
        own = _timeline(simulation, events)
        for entry in own:
            entry.rollout = name
        timeline.extend(own)
        record = by_id.get(_rollout_id(described, name), {})
        outcome = record.get("outcome") or ("failed" if described["status"] != "SUCCEEDED" else "succeeded")
        reason = record.get("reason") or described.get("cause")
        if _continued(events):
            outcome, reason = "continued", "the rollout goes on in a fresh execution (history quota)"
        if described["status"] in ("FAILED", "TIMED_OUT", "ABORTED") and outcome == "running":
            # the execution died before it could record an outcome (the history quota, for one): say so
            outcome, reason = "failed", f"{described.get('error')}: {described.get('cause')}"
        package, endpoint = _subject(simulation, described, record)
        # the last history event, not stopDate: moto stamps the stop with the wall clock
        stopped = events[-1]["timestamp"] if events and described["status"] != "RUNNING" else None
        executions.append(
            ExecutionReport(
                name=name,
                status=described["status"],
                outcome=outcome,
                reason=reason,
                package=package,
                package_ref=_ref(simulation, package),
                endpoint=endpoint,
                started=(described["startDate"] - start).total_seconds(),
                ended=(stopped - start).total_seconds() if stopped else None,
                timeline=own,
            )
        )
    timeline += _world_timeline(simulation)
    actions = list(simulation.timeline.reports)
    timeline += [TimelineEntry(t=a.t, state=f"timeline: {a.action}", note=_action_note(a)) for a in actions]
    timeline.sort(key=lambda e: e.t)
    rollouts = [e for e in executions if e.outcome not in NOT_ROLLOUTS]
    primary = rollouts[0] if rollouts else (executions[0] if executions else None)
    outcome, reason = _outcome(simulation, executions)
    endpoint_name = endpoint_name_of(simulation.scenario)
    endpoints = [e for e in (_endpoint(simulation, n) for n in _endpoint_names(simulation, executions)) if e]
    ended = max([last_event - start, *(timedelta(seconds=a.t) for a in actions)]).total_seconds()
    return Report(
        scenario=simulation.scenario.name,
        outcome=outcome,
        reason=reason,
        endpoint=next((e for e in endpoints if e.name == endpoint_name), None),
        endpoints=endpoints,
        executions=executions,
        timeline=timeline,
        actions=actions,
        metrics=Metrics(
            state_transitions=transitions,
            api_calls=dict(sorted(simulation.aws.api_calls.items())),
            lambda_invocations=len(simulation.aws.invocations),
            simulated_seconds=round(ended, 3),
            wall_seconds=round(time.monotonic() - simulation.wall_started, 3),
            requests_served=simulation.world.requests_served,
            bad_requests_served=simulation.world.bad_requests_served,
            shadow_requests=simulation.world.shadow_requests,
            shadow_errors=simulation.world.shadow_errors,
            alarm_to_rollback_seconds=_alarm_to_rollback(simulation),
        ),
        records=records,
        experiment=_experiment(by_id.get(primary.name, {}) if primary else {}),
        events=[
            EventReport(
                t=(at - start).total_seconds(),
                detail_type=entry.get("DetailType", ""),
                detail=json.loads(entry.get("Detail") or "{}"),
            )
            for at, entry in simulation.aws.published
        ],
        event_errors=simulation.event_errors,
        operator=simulation.operator_results,
    )


def _outcome(simulation: Simulation, executions: list[ExecutionReport]) -> tuple[str, str | None]:
    """The scenario's outcome: one rollout's own; several rollouts' common one, or 'mixed'; none: 'ignored'."""
    if not executions:
        if simulation.scenario.approval is not None and simulation.scenario.approval.event is not None:
            return "ignored", "the approval event does not match the stack's EventBridge rule"
        return "ignored", "no event matched the state machine's EventBridge rule and nobody started a rollout"
    rollouts = [e for e in executions if e.outcome not in NOT_ROLLOUTS] or executions
    if len(rollouts) == 1:
        return rollouts[0].outcome, rollouts[0].reason
    counts = Counter(e.outcome for e in rollouts)
    if len(counts) == 1:
        return rollouts[0].outcome, f"all {len(rollouts)} rollouts {rollouts[0].outcome}"
    shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])))
    return "mixed", f"{len(rollouts)} rollouts: {shown}"


def _subject(
    simulation: Simulation, described: dict[str, Any], record: dict[str, str]
) -> tuple[str | None, str | None]:
    """The package and endpoint of an execution: from its record, else from its input."""
    package, endpoint = record.get("package_arn"), record.get("endpoint_name")
    if package and endpoint:
        return package, endpoint
    try:
        given = json.loads(described.get("input") or "{}")
    except json.JSONDecodeError:
        given = {}
    if isinstance(given, dict):
        detail = given.get("detail")
        from_event = detail.get("ModelPackageArn") if isinstance(detail, dict) else None
        package = package or from_event or given.get("model_package_arn")
        endpoint = endpoint or given.get("endpoint_name")
    return (package if isinstance(package, str) else None), (endpoint if isinstance(endpoint, str) else None)


def _ref(simulation: Simulation, arn: str | None) -> str | None:
    found = simulation.sagemaker.packages.get(arn or "")
    return f"{found['ModelPackageGroupName']}/{found['ModelPackageVersion']}" if found else None


def _endpoint_names(simulation: Simulation, executions: list[ExecutionReport]) -> list[str]:
    """The scenario's endpoints, then those its rollouts and timeline named, then any other that exists."""
    names = [e.name for e in simulation.scenario.live_endpoints()]
    primary = endpoint_name_of(simulation.scenario)
    names += [primary] if primary else []
    names += [e.endpoint for e in executions if e.endpoint]
    names += [str(getattr(e, "endpoint", None)) for e in simulation.scenario.timeline if getattr(e, "endpoint", None)]
    names += list(simulation.sagemaker.endpoints)
    return list(dict.fromkeys(names))


def _world_timeline(simulation: Simulation) -> list[TimelineEntry]:
    """Alarm transitions and SageMaker's own guardrail rollbacks."""
    start = simulation.clock.start
    entries = [
        TimelineEntry(
            t=(t.at - start).total_seconds(), state=f"alarm {t.alarm}", note=f"{t.old} -> {t.new}: {t.reason}"
        )
        for t in simulation.world.transitions
        if not (t.old == "INSUFFICIENT_DATA" and t.new == "OK")
    ]
    entries += [
        TimelineEntry(
            t=(at - start).total_seconds(),
            state="SageMaker guardrails",
            note=f"rolling {endpoint} back to its old fleet: {what}",
        )
        for at, operation, endpoint, what in simulation.sagemaker.changes
        if operation == "GuardrailRollback"
    ]
    return entries


def _action_note(action: ActionReport) -> str:
    note = action.summary + (f" ({action.error})" if action.error else "")
    return note + "".join(f"; {event}" for event in action.events)


def _experiment(record: dict[str, str]) -> dict[str, Any] | None:
    raw = record.get("experiment")
    return json.loads(raw) if raw else None


def _alarm_to_rollback(simulation: Simulation) -> float | None:
    """Seconds from the first alarm entering ALARM to the first change that took traffic off the new model."""
    fired = [t.at for t in simulation.world.transitions if t.new == "ALARM"]
    name = endpoint_name_of(simulation.scenario)
    spec = next((e for e in simulation.scenario.live_endpoints() if e.name == name), None)
    if not fired or spec is None:
        return None
    first = min(fired)
    baseline_variants = {v.name for v in spec.variants}
    baseline_config = spec.config
    for at, operation, endpoint, what in simulation.sagemaker.changes:
        if endpoint != spec.name or at < first:
            continue
        if operation == "UpdateEndpoint" and what == baseline_config:
            return (at - first).total_seconds()
        if isinstance(what, dict) and all(w == 0 for v, w in what.items() if v not in baseline_variants):
            return (at - first).total_seconds()
    return None
