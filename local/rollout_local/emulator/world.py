"""The world around the endpoint: callers sending traffic, models behaving well or badly, CloudWatch
metrics and alarms. moto stores metrics but never evaluates an alarm; this module does both, in virtual time.

Every tick (one simulated minute) the world routes ``requests_per_second`` by the endpoint's live weights,
lets each model answer with its scenario behaviour, writes the real ``AWS/SageMaker`` per-variant metrics
(Invocations, Invocation5XXErrors, ModelLatency in microseconds) with virtual timestamps, evaluates every
alarm with CloudWatch's semantics (period, evaluation periods, datapoints to alarm, missing data), and emits
``CloudWatch Alarm State Change`` events for the transitions.

A minute's datapoints reach CloudWatch ``metric_delay_seconds`` after the minute ends (AWS publishes endpoint
metrics with a delay of a minute or more): GetMetricData and alarm evaluation both see a minute only from then.
The datapoints go straight into CloudWatch's indexed store for these namespaces (``metrics.py``), so a tick costs
the same on the first day of a bake as on the thirtieth, and reading a window costs its length, not the history.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from rollout_local.emulator.answers import Answers, answer, capture_key, capture_record, request_body, stable_uuid
from rollout_local.emulator.clock import SimulationClosed, VirtualClock
from rollout_local.emulator.metrics import MetricStore
from rollout_local.emulator.sagemaker import ACCOUNT, REGION, ApiError, Route, SageMakerEmulator

NAMESPACE = "AWS/SageMaker"
BUSINESS_NAMESPACE = "Business"  # where a behaviour's ``metrics`` go, per variant (an A/B test's KPI)
TICK = timedelta(seconds=60)
HISTOGRAM = 100  # latency samples written per variant and minute (moto stores each one)
CAPTURED_PER_MINUTE = 200  # data capture records written per variant and minute at most (AWS: every sampled one)


class Behaviour(BaseModel):
    """How a model answers from ``after_seconds`` (since the approval) on."""

    model_config = ConfigDict(extra="forbid")

    after_seconds: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    latency_ms: float = Field(default=40.0, gt=0, description="median ModelLatency")
    p99_latency_ms: float | None = Field(default=None, gt=0, description="99th percentile (default 3x the median)")
    metrics: dict[str, float] = Field(
        default_factory=dict, description="business metrics per minute (namespace Business, per variant)"
    )
    answers: Answers = Field(default_factory=Answers, description="what the model answers (InvokeEndpoint, capture)")


class TrafficChange(BaseModel):
    """From ``after_seconds`` (since the approval) on, callers send ``requests_per_second``."""

    model_config = ConfigDict(extra="forbid")

    after_seconds: int = Field(ge=0)
    requests_per_second: float = Field(ge=0)


class Traffic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_second: float = Field(default=0, ge=0)
    changes: list[TrafficChange] = Field(
        default_factory=list, description="later request rates (a quiet night, traffic that arrives), in any order"
    )

    def rate_at(self, elapsed: float) -> float:
        """Requests per second ``elapsed`` seconds after the approval."""
        rate = self.requests_per_second
        for change in sorted(self.changes, key=lambda c: c.after_seconds):
            if elapsed >= change.after_seconds:
                rate = change.requests_per_second
        return rate


class AlarmScriptStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_seconds: int = Field(ge=0)
    state: str = Field(pattern="^(OK|ALARM|INSUFFICIENT_DATA)$")
    reason: str = "set by the scenario"


class AlarmSpec(BaseModel):
    """An alarm that exists before the approval: on a live variant's metric, or scripted (a business KPI)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    metric: str | None = Field(default=None, description="AWS/SageMaker metric of an existing variant")
    variant: str | None = None
    statistic: str = "Sum"
    threshold: float = 0
    comparison: str = "GreaterThanThreshold"
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    script: list[AlarmScriptStep] = Field(default_factory=list)


@dataclass
class Minute:
    invocations: int = 0
    errors: int = 0
    latencies_us: list[tuple[float, int]] = field(default_factory=list)  # (value, count)


@dataclass
class AlarmTransition:
    alarm: str
    at: datetime
    old: str
    new: str
    reason: str


def _unit_of(*parts: str) -> float:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _behaviour_at(phases: list[Behaviour], elapsed: float) -> Behaviour:
    current = phases[0] if phases else Behaviour()
    for phase in sorted(phases, key=lambda p: p.after_seconds):
        if elapsed >= phase.after_seconds:
            current = phase
    return current


class World:
    """Traffic, metrics and alarms for one simulation. ``run`` is a clock participant thread."""

    def __init__(
        self,
        clock: VirtualClock,
        sagemaker: SageMakerEmulator,
        session: Any,
        traffic: Traffic,
        behaviours: dict[str, list[Behaviour]],
        alarms: list[AlarmSpec],
        new_package_arns: Callable[[], set[str]],
        on_alarm_event: Callable[[dict[str, Any]], None] | None = None,
        behaviour_of: Callable[[str], tuple[list[Behaviour], bool]] | None = None,
        metric_delay_seconds: float = 0.0,
    ) -> None:
        self.clock, self.sagemaker, self.traffic = clock, sagemaker, traffic
        self.metric_delay = timedelta(seconds=metric_delay_seconds)
        self.store = MetricStore(clock.now, (NAMESPACE, BUSINESS_NAMESPACE))  # CloudWatch's, for these namespaces
        self.alarms_changed: Callable[[], int] = lambda: -1  # a count that moves when any alarm changes (-1: unknown)
        self._alarms: tuple[int, list[dict[str, Any]]] | None = None  # DescribeAlarms as of that count
        self._origin: datetime | None = None  # the first tick: minutes start on this grid
        self.cloudwatch = session.client("cloudwatch")
        self.behaviours = behaviours
        self.alarm_specs = {a.name: a for a in alarms}
        self.new_package_arns = new_package_arns
        self.on_alarm_event = on_alarm_event
        self.behaviour_of = behaviour_of  # model name -> (its phases, is it a model the scenario approved?)
        self.minutes: dict[tuple[str, str], dict[datetime, Minute]] = defaultdict(dict)
        self.transitions: list[AlarmTransition] = []
        self.bad_requests_served = 0
        self.requests_served = 0
        self.shadow_requests = 0  # copies sent to shadow variants (never answered to a caller)
        self.shadow_errors = 0
        self.shares: list[
            tuple[datetime, dict[str, dict[str, float]]]
        ] = []  # (minute start, endpoint -> variant -> share)
        self._carry: dict[tuple[str, str, str], float] = defaultdict(float)
        self.probes: list[tuple[float, Callable[[], None]]] = []  # (simulated second, call) run at that tick
        self.s3 = session.client("s3")
        self._requests_sent: dict[str, int] = defaultdict(int)  # endpoint -> callers' requests so far (numbering)
        self.invocations: list[
            tuple[datetime, str, str, int]
        ] = []  # InvokeEndpoint calls: (at, endpoint, variant, status)
        self.captured: list[str] = []  # s3://bucket/key of every capture file written
        self._minute_first: dict[str, int] = {}
        self._late_captures: list[tuple[dict[str, Any], str, str, datetime, str]] = []  # InvokeEndpoint's

    # --- setup -------------------------------------------------------------------------------------------

    def create_alarms(self, endpoint: str, specs: list[AlarmSpec] | None = None) -> None:
        """Create ``specs`` (default: every alarm), metric alarms on ``endpoint``'s variants."""
        for spec in self.alarm_specs.values() if specs is None else specs:
            if spec.metric:
                kwargs: dict[str, Any] = {
                    "AlarmName": spec.name,
                    "Namespace": NAMESPACE,
                    "MetricName": spec.metric,
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": endpoint},
                        {"Name": "VariantName", "Value": spec.variant or ""},
                    ],
                    "Period": spec.period,
                    "EvaluationPeriods": spec.evaluation_periods,
                    "DatapointsToAlarm": spec.datapoints_to_alarm or spec.evaluation_periods,
                    "Threshold": spec.threshold,
                    "ComparisonOperator": spec.comparison,
                    "TreatMissingData": spec.treat_missing_data,
                }
                if spec.statistic.startswith("p"):
                    kwargs["ExtendedStatistic"] = spec.statistic
                else:
                    kwargs["Statistic"] = spec.statistic
                self.cloudwatch.put_metric_alarm(**kwargs)
            else:  # a scripted alarm on a metric outside SageMaker
                self.cloudwatch.put_metric_alarm(
                    AlarmName=spec.name,
                    Namespace="Business",
                    MetricName=spec.name,
                    Statistic="Average",
                    Period=60,
                    EvaluationPeriods=1,
                    Threshold=0,
                    ComparisonOperator="GreaterThanThreshold",
                )
        self.evaluate_alarms(self.clock.now())

    # --- the loop ----------------------------------------------------------------------------------------

    def run(self, running: Callable[[], bool]) -> None:
        """Tick every minute until the story ends (each minute's metrics carry the instant they are published).
        The caller has already entered this thread into the clock."""
        try:
            next_tick = self._origin = self.clock.now()
            while running():
                if self.clock.now() >= next_tick:
                    self.tick(next_tick)
                    next_tick += TICK
                self.clock.sleep(max(0.0, (next_tick - self.clock.now()).total_seconds()), first=True)
        except SimulationClosed:
            pass  # the simulation was closed before its story ended
        finally:
            self.clock.exit()

    def visible_until(self, now: datetime) -> datetime:
        """The end of the last minute whose datapoints CloudWatch has at ``now``."""
        end = now - self.metric_delay
        if self._origin is None or end < self._origin:
            return end
        whole_minutes = int((end - self._origin).total_seconds() // TICK.total_seconds())
        return self._origin + whole_minutes * TICK

    def tick(self, now: datetime) -> None:
        self.serve(now)
        self.evaluate_alarms(now)
        elapsed = (now - self.clock.start).total_seconds()
        for at, probe in [p for p in self.probes if p[0] <= elapsed]:
            self.probes.remove((at, probe))
            probe()  # time stands still while it runs: the world is a participant

    # --- traffic and metrics ------------------------------------------------------------------------------

    def _variant_behaviour(self, model_name: str, elapsed: float) -> tuple[Behaviour, bool]:
        if self.behaviour_of is not None:
            phases, is_new = self.behaviour_of(model_name)
            return _behaviour_at(phases or [Behaviour()], elapsed), is_new
        model = self.sagemaker.models.get(model_name, {})
        packages = {c.get("ModelPackageName") for c in model.get("Containers", [])}
        is_new = bool(packages & self.new_package_arns())
        phases = self.behaviours.get("new" if is_new else "baseline") or [Behaviour()]
        return _behaviour_at(phases, elapsed), is_new

    def serve(self, now: datetime) -> None:
        """One minute of traffic ending at ``now``, routed by the live weights (and copied to shadows)."""
        minute_start = now - TICK
        self._flush_captures()
        self._minute_first = {}  # endpoint -> the number of its first request this minute
        routes = self.sagemaker.traffic_routes()
        self.shares.append((minute_start, {e: {_label(r): r.share for r in found} for e, found in routes.items()}))
        elapsed = (now - self.clock.start).total_seconds()
        rate = self.traffic.rate_at(elapsed - TICK.total_seconds()) * TICK.total_seconds()
        publish_at = now + self.metric_delay
        for endpoint, found in routes.items():
            served: dict[str, Minute] = {}
            business: dict[str, dict[str, list[tuple[float, int]]]] = defaultdict(lambda: defaultdict(list))
            for route in found:
                behaviour, is_new = self._variant_behaviour(route.model, elapsed)
                requests = self._whole(endpoint, _label(route), "requests", rate * route.share)
                if requests <= 0:
                    continue
                errors = min(requests, self._whole(endpoint, _label(route), "errors", requests * behaviour.error_rate))
                if route.fleet == "shadow":  # a copy: its answers never reach a caller
                    self.shadow_requests += requests
                    self.shadow_errors += errors
                else:
                    self.requests_served += requests
                    if is_new:
                        self.bad_requests_served += errors
                self._capture_minute(endpoint, route, behaviour, requests, minute_start)  # shadows: own name
                minute = served.setdefault(route.variant, Minute())
                minute.invocations += requests
                minute.errors += errors
                minute.latencies_us += [(v, c * requests) for v, c in _latency_histogram(behaviour)]
                for metric, value in behaviour.metrics.items():
                    business[route.variant][metric].append((value, requests))
            for variant, minute in served.items():
                minute.latencies_us = _normalised(minute.latencies_us)
                self.minutes[(endpoint, variant)][minute_start] = minute
                dims = (("EndpointName", endpoint), ("VariantName", variant))
                for metric, samples, unit in _datapoints(minute):
                    self.store.put(NAMESPACE, metric, dims, minute_start, samples, unit, publish_at)
                for metric, kpi in business[variant].items():
                    total = sum(c for _, c in kpi)
                    value = sum(v * c for v, c in kpi) / total
                    self.store.put(BUSINESS_NAMESPACE, metric, dims, minute_start, [(value, 1.0)], "None", publish_at)

    # --- answers: InvokeEndpoint and data capture --------------------------------------------------------

    def _flush_captures(self) -> None:
        """Write the capture records of InvokeEndpoint calls since the last tick, one file per variant."""
        pending, self._late_captures = self._late_captures, []
        files: dict[tuple[str, str], tuple[dict[str, Any], datetime, list[str]]] = {}
        for config, endpoint, variant, at, line in pending:
            files.setdefault((endpoint, variant), (config, at, []))[2].append(line)
        for (endpoint, variant), (config, at, lines) in files.items():
            self._write_capture(config, endpoint, variant, at, lines)

    def _capture_minute(
        self, endpoint: str, route: Route, behaviour: Behaviour, requests: int, start: datetime
    ) -> None:
        """Data capture of one minute of a variant's traffic, when the endpoint's config asks for it."""
        if route.fleet == "shadow":  # a copy of the minute's first callers' requests: the same bodies
            first = self._minute_first.get(endpoint, self._requests_sent[endpoint])
        else:
            first = self._requests_sent[endpoint]
            self._minute_first.setdefault(endpoint, first)
            self._requests_sent[endpoint] += requests
        config = self.sagemaker.capture_config(endpoint)
        if not config or config.get("EnableCapture", True) is False:
            return
        sampled = self._whole(
            endpoint, _label(route), "captured", requests * config.get("InitialSamplingPercentage", 0) / 100
        )
        sampled = min(sampled, CAPTURED_PER_MINUTE)
        if sampled <= 0:
            return
        kind = behaviour.answers.content_type
        lines = []
        for n in range(sampled):
            index = first + n
            body = request_body(endpoint, index, kind)
            at = start + timedelta(seconds=60 * n / sampled)
            response, response_type = answer(behaviour.answers, body)
            event = stable_uuid(endpoint, route.variant, str(index))
            lines.append(json.dumps(capture_record(config, body, kind, response, response_type, at, event)))
        self._write_capture(config, endpoint, route.variant, start, lines)

    def _write_capture(
        self, config: dict[str, Any], endpoint: str, variant: str, at: datetime, lines: list[str]
    ) -> None:
        bucket, key = capture_key(config, endpoint, variant, at, stable_uuid(endpoint, variant, at.isoformat()))
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
        except ClientError:  # a missing bucket, say: SageMaker's capture fails without failing the request
            return
        self.captured.append(f"s3://{bucket}/{key}")

    def invoke(
        self, endpoint: str, variant: str | None, body: bytes, content_type: str, inference_id: str | None = None
    ) -> tuple[str, bytes, str, float]:
        """SageMaker Runtime InvokeEndpoint: (the variant that answered, body, content type, the model's latency in
        ms). A request the model fails raises ``ApiError`` ModelError (HTTP 424, as AWS reports a container's
        error); the same request gets the same answer (or error) from the same model every time."""
        now = self.clock.now()
        digest = hashlib.sha256(body).hexdigest()
        chosen, model, capture = self.sagemaker.invocation_target(endpoint, variant, _unit_of("route", digest))
        behaviour, _ = self._variant_behaviour(model, (now - self.clock.start).total_seconds())
        if _unit_of("error", model, digest) < behaviour.error_rate:
            self.invocations.append((now, endpoint, chosen, 424))
            raise ApiError(
                "ModelError",
                f'Received server error (500) from primary with message "model {model} failed". See '
                f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logEventViewer:group="
                f"/aws/sagemaker/Endpoints/{endpoint} in account {ACCOUNT} for more information.",
                424,
            )
        response, response_type = answer(behaviour.answers, body)
        self.invocations.append((now, endpoint, chosen, 200))
        sampled = _unit_of("sample", digest) * 100 < capture.get("InitialSamplingPercentage", 0)
        if capture and capture.get("EnableCapture", True) is not False and sampled:
            event = stable_uuid(endpoint, chosen, digest, now.isoformat())
            line = capture_record(capture, body, content_type, response, response_type, now, event, inference_id)
            # written by the world at its next tick, as SageMaker writes capture files later, and as the service
            # (never the caller) - the caller needs no S3 permission for it
            self._late_captures.append((capture, endpoint, chosen, now, json.dumps(line)))
        return chosen, response, response_type, behaviour.latency_ms

    def _whole(self, endpoint: str, variant: str, what: str, expected: float) -> int:
        """Whole requests from an expected count, carrying the fraction to the next minute (deterministic)."""
        key = (endpoint, variant, what)
        total = self._carry[key] + expected
        whole = int(total)
        self._carry[key] = total - whole
        return whole

    # --- alarms ------------------------------------------------------------------------------------------

    def evaluate_alarms(self, now: datetime, names: list[str] | None = None) -> None:
        """Evaluate every alarm (or the ``names`` given: one put back after SetAlarmState)."""
        elapsed = (now - self.clock.start).total_seconds()
        alarms = self._described_alarms()
        for alarm in [a for a in alarms if a["AlarmName"] in names] if names else alarms:
            spec = self.alarm_specs.get(alarm["AlarmName"])
            if spec is not None and spec.script:
                steps = [s for s in spec.script if s.at_seconds <= elapsed]
                if steps:
                    self._set(alarm, steps[-1].state, steps[-1].reason, now)
                continue
            if alarm.get("Namespace") != NAMESPACE and not alarm.get("Metrics"):
                continue
            state, reason = self._evaluate(alarm, now)
            if state is not None:
                self._set(alarm, state, reason, now)

    def _described_alarms(self) -> list[dict[str, Any]]:
        """DescribeAlarms (metric alarms), asked again only when an alarm has changed since the last answer."""
        changes = self.alarms_changed()
        if self._alarms is None or changes < 0 or self._alarms[0] != changes:
            found = self.cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]
            self._alarms = (self.alarms_changed(), found)
        return self._alarms[1]

    def _series(self, metric: dict[str, Any], stat: str, periods: list[datetime], period: int) -> list[float | None]:
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        minutes = self.minutes.get((dims.get("EndpointName", ""), dims.get("VariantName", "")), {})
        values: list[float | None] = []
        for start in periods:  # the minutes of each period, looked up (never a scan of the whole history)
            end = start + timedelta(seconds=period)
            minute = self._on_grid(start)
            window: list[Minute] = []
            while minute < end:
                if (found := minutes.get(minute)) is not None:
                    window.append(found)
                minute += TICK
            values.append(_statistic(metric["MetricName"], stat, window))
        return values

    def _on_grid(self, at: datetime) -> datetime:
        """The first start of a world minute at or after ``at``."""
        if self._origin is None:
            return at
        steps = -(-(at - self._origin) // TICK)
        return self._origin + steps * TICK

    def _evaluate(self, alarm: dict[str, Any], now: datetime) -> tuple[str | None, str]:
        period = int(alarm.get("Period") or 60)
        n = int(alarm.get("EvaluationPeriods") or 1)
        m = int(alarm.get("DatapointsToAlarm") or n)
        end = self.visible_until(now)  # the latest periods whose datapoints have reached CloudWatch
        periods = [end - timedelta(seconds=period * (n - i)) for i in range(n)]
        if alarm.get("Metrics"):  # metric math: ids -> series; one expression "a/b" (or "100*a/b") returns data
            series: dict[str, list[float | None]] = {}
            expression = None
            for query in alarm["Metrics"]:
                if "MetricStat" in query:
                    stat = query["MetricStat"]
                    period = int(stat.get("Period", period))
                    series[query["Id"]] = self._series(stat["Metric"], stat["Stat"], periods, period)
                elif query.get("Expression"):
                    expression = query["Expression"]
            values = _ratio(expression or "", series, len(periods))
        else:
            metric = {"MetricName": alarm["MetricName"], "Dimensions": alarm.get("Dimensions", [])}
            stat = alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average"
            values = self._series(metric, stat, periods, period)
        treat = alarm.get("TreatMissingData") or "missing"
        threshold = float(alarm.get("Threshold", 0))
        op = alarm.get("ComparisonOperator", "GreaterThanThreshold")
        breaching = good = 0
        for value in values:
            if value is None:
                if treat == "breaching":
                    breaching += 1
                elif treat == "notBreaching":
                    good += 1
                continue
            if _breaches(value, threshold, op):
                breaching += 1
            else:
                good += 1
        shown = ", ".join("missing" if v is None else f"{v:g}" for v in values)
        if breaching >= m:
            return (
                "ALARM",
                f"Threshold Crossed: {breaching} of the last {n} datapoints [{shown}] breached {threshold:g}",
            )
        if breaching == 0 and good == 0:
            return (None, "") if treat == "ignore" else ("INSUFFICIENT_DATA", "Insufficient Data: no datapoints")
        return "OK", f"Threshold Crossed: {breaching} of the last {n} datapoints [{shown}] breached {threshold:g}"

    def set_alarm_state(self, name: str, state: str, reason: str) -> str:
        """Someone's SetAlarmState: the state holds until the alarm's next evaluation; returns the old state."""
        found = [a for a in self._described_alarms() if a["AlarmName"] == name]
        if not found:
            raise LookupError(f"alarm {name} does not exist")
        old = str(found[0]["StateValue"])
        self._set(found[0], state, reason, self.clock.now())
        return old

    def _set(self, alarm: dict[str, Any], state: str, reason: str, now: datetime) -> None:
        old = alarm["StateValue"]
        if old == state:
            return
        self.cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason[:1023])
        self.transitions.append(AlarmTransition(alarm["AlarmName"], now, old, state, reason))
        if self.on_alarm_event is not None:
            self.on_alarm_event(alarm_event(alarm, old, state, reason, now))


def alarm_event(alarm: dict[str, Any], old: str, new: str, reason: str, now: datetime) -> dict[str, Any]:
    """``CloudWatch Alarm State Change`` as EventBridge delivers it."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "version": "0",
        "id": f"{alarm['AlarmName']}-{int(now.timestamp())}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [alarm["AlarmArn"]],
        "detail": {
            "alarmName": alarm["AlarmName"],
            "state": {"value": new, "reason": reason, "timestamp": stamp},
            "previousState": {"value": old, "reason": alarm.get("StateReason", ""), "timestamp": stamp},
            "configuration": {"description": alarm.get("AlarmDescription", "")},
        },
    }


def _label(route: Route) -> str:
    return f"{route.variant} ({route.fleet})" if route.fleet else route.variant


def _datapoints(minute: Minute) -> list[tuple[str, list[tuple[float, float]], str]]:
    """The AWS/SageMaker metrics of one variant's minute (both fleets of a guardrail update together), as
    (metric, samples as (value, count), unit)."""
    histogram: dict[float, int] = defaultdict(int)
    for value, count in minute.latencies_us:
        histogram[value] += count
    return [
        ("Invocations", [(float(minute.invocations), 1.0)], "None"),
        ("Invocation5XXErrors", [(float(minute.errors), 1.0)], "None"),
        ("ModelLatency", [(float(v), float(c)) for v, c in histogram.items()], "Microseconds"),
    ]


def _normalised(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """About HISTOGRAM samples in the same proportions (two fleets' histograms weighted by their requests)."""
    merged: dict[float, int] = defaultdict(int)
    for value, count in samples:
        merged[value] += count
    total = sum(merged.values()) or 1
    return [(v, max(1, round(HISTOGRAM * c / total))) for v, c in merged.items() if c]


def _latency_histogram(behaviour: Behaviour) -> list[tuple[float, int]]:
    """A 100-sample histogram (microseconds) whose p50, p90 and p99 are the behaviour's."""
    p50 = behaviour.latency_ms
    p99 = behaviour.p99_latency_ms or 3 * p50
    p90 = (p50 + p99) / 2
    return [(p50 * 1000, 89), (p90 * 1000, 9), (p99 * 1000, 2)]


def _statistic(metric: str, stat: str, window: list[Minute]) -> float | None:
    if not window:
        return None
    if metric == "ModelLatency":
        samples = sorted(v for m in window for v, c in m.latencies_us for _ in range(c))
        if not samples:
            return None
        if stat.startswith("p"):
            return percentile(samples, float(stat[1:]))
        if stat == "Average":
            return sum(samples) / len(samples)
        if stat == "Maximum":
            return samples[-1]
        if stat == "Minimum":
            return samples[0]
        return float(len(samples)) if stat == "SampleCount" else sum(samples)
    if metric not in ("Invocations", "Invocation5XXErrors"):
        return None  # a metric this world does not simulate (InvocationsPerInstance, CPU, ...)
    values = [float(m.invocations if metric == "Invocations" else m.errors) for m in window]
    if stat == "Sum":
        return sum(values)
    if stat == "Average":
        total = sum(m.invocations for m in window)
        return sum(values) / total if metric != "Invocations" and total else sum(values) / len(values)
    if stat == "SampleCount":
        return float(sum(m.invocations for m in window))
    return max(values) if stat == "Maximum" else min(values)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile, as CloudWatch computes pNN on raw samples."""
    rank = max(1, -(-round(p * len(sorted_values)) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


GUARDED_RATIO = re.compile(r"^IF\((\w+)>=([\d.]+),(\w+)/(\w+),0\)$")


def _ratio(expression: str, series: dict[str, list[float | None]], n: int) -> list[float | None]:
    """The metric math this project's alarms use: ``a/b``, ``100*a/b``, ``IF(c >= N, a/b, 0)``."""
    text = expression.replace(" ", "")
    guarded = GUARDED_RATIO.match(text)
    if guarded:
        guard, minimum, top, bottom = guarded.groups()
        ratios = _ratio(f"{top}/{bottom}", series, n)
        counts = series.get(guard, [None] * n)
        return [r if c is not None and c >= float(minimum) else 0.0 for r, c in zip(ratios, counts, strict=False)]
    scale = 1.0
    if text.startswith("100*"):
        scale, text = 100.0, text[4:]
    if "/" not in text:
        return series.get(text, [None] * n)
    top, bottom = text.split("/", 1)
    result: list[float | None] = []
    for a, b in zip(series.get(top, [None] * n), series.get(bottom, [None] * n), strict=False):
        result.append(None if a is None or not b else scale * a / b)
    return result


def _breaches(value: float, threshold: float, op: str) -> bool:
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }.get(op, False)
