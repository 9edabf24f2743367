"""The simulation report: outcome, the endpoint as left, the timeline, and what it cost."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rollout_local.scenario import endpoint_name_of

if TYPE_CHECKING:
    from rollout_local.simulator import Simulation

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
    t: float = Field(description="simulated seconds since the approval")
    state: str
    note: str = ""


class EventReport(BaseModel):
    t: float
    detail_type: str
    detail: dict[str, Any]


class ExecutionReport(BaseModel):
    name: str
    status: str
    outcome: str
    reason: str | None


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
    outcome: str
    reason: str | None
    endpoint: EndpointReport | None
    executions: list[ExecutionReport]
    timeline: list[TimelineEntry]
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
        lines = [f"scenario  {self.scenario}", f"outcome   {self.outcome}", f"reason    {self.reason or '-'}", ""]
        previous = None
        repeats = 0
        for entry in self.timeline:
            key = (entry.state, entry.note)
            if key == previous:
                repeats += 1
                continue
            if repeats:
                lines.append(f"{'':>9}  ... {repeats} more")
            repeats, previous = 0, key
            lines.append(f"{_clock(entry.t):>9}  {entry.state:<24} {entry.note}")
        if repeats:
            lines.append(f"{'':>9}  ... {repeats} more")
        if self.experiment is not None:
            x = self.experiment
            lines += ["", f"test      {x['kind']} on {x['metric']}: winner {x['winner']}, decision {x['decision']}"]
            for side in ("baseline", "new"):
                f = x[side]
                rate = "-" if f["error_rate"] is None else f"{f['error_rate']:.3%}"
                latency = "-" if f["latency_ms"] is None else f"{f['latency_ms']:.1f} ms"
                value = "" if f["value"] is None or x["kind"] != "ab_test" else f", judged value {f['value']:.6g}"
                lines.append(
                    f"          {side:<8} {'/'.join(f['variants'])}: {f['invocations']} invocations, 5XX {rate}, "
                    f"latency {latency}{value}"
                )
            lines.append(f"          {x['reason']}")
        if self.endpoint is not None:
            e = self.endpoint
            lines += ["", f"endpoint  {e.name}: {e.status if e.exists else 'does not exist'} on {e.config_name or '-'}"]
            for v in e.variants:
                size = f"{v.instances} x {v.instance_type}" if v.instance_type else "serverless"
                shadow = " (shadow)" if v.shadow else ""
                lines.append(f"          {v.name}{shadow}: model {v.model}, weight {v.weight:g}, {size}")
        m = self.metrics
        calls = ", ".join(f"{k} {v}" for k, v in sorted(m.api_calls.items()))
        lines += [
            "",
            f"metrics   {m.state_transitions} state transitions, {m.lambda_invocations} Lambda invocations, "
            f"{m.simulated_seconds:.0f} simulated s in {m.wall_seconds:.2f} wall s",
            f"          traffic: {m.requests_served} requests, {m.bad_requests_served} failed ones served by the new "
            "model; alarm to rollback: "
            + ("-" if m.alarm_to_rollback_seconds is None else f"{m.alarm_to_rollback_seconds:g} s")
            + (f"; shadow copies: {m.shadow_requests} ({m.shadow_errors} failed)" if m.shadow_requests else ""),
            f"          API calls: {calls}",
        ]
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"+{minutes:02d}:{secs:02d}"


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
            output = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
            if isinstance(output, dict) and not open_task.note:
                open_task.note = str(output.get("message") or output.get("reason") or "")
            open_task = None
        elif kind in ("LambdaFunctionFailed", "TaskFailed") and open_task is not None:
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            open_task.note = f"{details.get('error', 'error')}: {_cause(details.get('cause'))}"
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


def build_report(simulation: Simulation) -> Report:
    records = _records(simulation)
    by_id = {r["rollout_id"]: r for r in records}
    executions: list[ExecutionReport] = []
    timeline: list[TimelineEntry] = []
    transitions = 0
    last_event = simulation.clock.start
    for arn in simulation.executions:
        described = simulation.sfn.describe_execution(executionArn=arn)
        events = _history(simulation, arn)
        if events:
            last_event = max(last_event, events[-1]["timestamp"])
        transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
        timeline.extend(_timeline(simulation, events))
        name = arn.rsplit(":", 1)[-1]
        record = by_id.get(name, {})
        outcome = record.get("outcome") or ("failed" if described["status"] != "SUCCEEDED" else "succeeded")
        reason = record.get("reason") or described.get("cause")
        if described["status"] in ("FAILED", "TIMED_OUT", "ABORTED") and outcome == "running":
            # the execution died before it could record an outcome (the history quota, for one): say so
            outcome, reason = "failed", f"{described.get('error')}: {described.get('cause')}"
        executions.append(ExecutionReport(name=name, status=described["status"], outcome=outcome, reason=reason))
    for transition in simulation.world.transitions:
        if transition.old == "INSUFFICIENT_DATA" and transition.new == "OK":
            continue
        timeline.append(
            TimelineEntry(
                t=(transition.at - simulation.clock.start).total_seconds(),
                state=f"alarm {transition.alarm}",
                note=f"{transition.old} -> {transition.new}: {transition.reason}",
            )
        )
    for at, operation, endpoint, what in simulation.sagemaker.changes:
        if operation == "GuardrailRollback":
            timeline.append(
                TimelineEntry(
                    t=(at - simulation.clock.start).total_seconds(),
                    state="SageMaker guardrails",
                    note=f"rolling {endpoint} back to its old fleet: {what}",
                )
            )
    timeline.sort(key=lambda e: e.t)
    primary = next((e for e in executions if e.outcome != "duplicate"), executions[0] if executions else None)
    endpoint_name = endpoint_name_of(simulation.scenario)
    return Report(
        scenario=simulation.scenario.name,
        outcome=primary.outcome if primary else "ignored",
        reason=primary.reason if primary else "the approval event does not match the stack's EventBridge rule",
        endpoint=_endpoint(simulation, endpoint_name),
        executions=executions,
        timeline=timeline,
        metrics=Metrics(
            state_transitions=transitions,
            api_calls=dict(sorted(simulation.aws.api_calls.items())),
            lambda_invocations=len(simulation.aws.invocations),
            simulated_seconds=round((last_event - simulation.clock.start).total_seconds(), 3),
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
                t=(at - simulation.clock.start).total_seconds(),
                detail_type=entry.get("DetailType", ""),
                detail=json.loads(entry.get("Detail") or "{}"),
            )
            for at, entry in simulation.aws.published
        ],
        event_errors=simulation.event_errors,
        operator=simulation.operator_results,
    )


def _experiment(record: dict[str, str]) -> dict[str, Any] | None:
    raw = record.get("experiment")
    return json.loads(raw) if raw else None


def _alarm_to_rollback(simulation: Simulation) -> float | None:
    """Seconds from the first alarm entering ALARM to the first change that took traffic off the new model."""
    fired = [t.at for t in simulation.world.transitions if t.new == "ALARM"]
    spec = simulation.scenario.endpoint
    if not fired or spec is None:
        return None
    first = min(fired)
    baseline_variants = {v.name for v in spec.variants}
    baseline_config = spec.config_name or f"{spec.name}-config-v0"
    for at, operation, endpoint, what in simulation.sagemaker.changes:
        if endpoint != spec.name or at < first:
            continue
        if operation == "UpdateEndpoint" and what == baseline_config:
            return (at - first).total_seconds()
        if isinstance(what, dict) and all(w == 0 for v, w in what.items() if v not in baseline_variants):
            return (at - first).total_seconds()
    return None
