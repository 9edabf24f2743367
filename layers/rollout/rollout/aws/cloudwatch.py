"""CloudWatch: alarm states and the per-variant AWS/SageMaker metrics a health check reads."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rollout import clock
from rollout.analysis import MinuteFigures, VariantFigures
from rollout.aws.clients import client, translated
from rollout.models.policy import Analysis

if TYPE_CHECKING:  # request shapes checked by mypy (mypy-boto3-cloudwatch: dev only, not shipped)
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef, TagTypeDef

NAMESPACE = "AWS/SageMaker"
MICROSECONDS_PER_MS = 1000.0


def alarm_states(names: Sequence[str]) -> dict[str, str]:
    """State of each named alarm that exists (a missing name is absent from the result)."""
    return {name: value for name, (value, _) in alarm_details(names).items()}


def alarm_details(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """State value and state reason of each named alarm that exists."""
    states: dict[str, tuple[str, str]] = {}
    for start in range(0, len(names), 100):
        with translated("cloudwatch:DescribeAlarms"):
            response = client("cloudwatch").describe_alarms(
                AlarmNames=list(names[start : start + 100]), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
            states[alarm["AlarmName"]] = (alarm["StateValue"], alarm.get("StateReason", ""))
    return states


def alarms_fired(names: Sequence[str], since: datetime, until: datetime) -> list[tuple[str, datetime, str]]:
    """Alarms among ``names`` that went to ALARM in [since, until], earliest first: (name, when, reason)."""
    fired = [found for name in names if (found := _first_alarm(name, since, until)) is not None]
    return sorted(fired, key=lambda f: f[1])


def _first_alarm(name: str, since: datetime, until: datetime) -> tuple[str, datetime, str] | None:
    with translated("cloudwatch:DescribeAlarmHistory"):
        pages = (
            client("cloudwatch")
            .get_paginator("describe_alarm_history")
            .paginate(
                AlarmName=name,
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                HistoryItemType="StateUpdate",
                StartDate=since,
                EndDate=until,
                ScanBy="TimestampAscending",
            )
        )
        for item in (item for page in pages for item in page.get("AlarmHistoryItems", [])):
            new = json.loads(item.get("HistoryData") or "{}").get("newState", {})
            if new.get("stateValue") == "ALARM":
                return name, item["Timestamp"], new.get("stateReason", "")
    return None


# CloudWatch keeps 1-minute datapoints for 15 days and 5-minute ones for 63 days: a query whose StartTime is older
# must ask for a Period that is a multiple of 300 s (3600 s), "or no data points in that time range is returned"
# (CloudWatch API Reference, MetricStat.Period). It also rounds StartTime down: to the whole minute within 15 days,
# to the 5-minute clock interval within 63 days, to the hour beyond (GetMetricData, StartTime).
MINUTE = 60
RESOLUTIONS = ((timedelta(days=63), 3600), (timedelta(days=15), 300))
AGE_MARGIN = timedelta(minutes=1)  # the age is CloudWatch's to measure, when the request arrives: err on the old side


def grid_start(start: datetime) -> tuple[datetime, int]:
    """Where a query of data from ``start`` begins on CloudWatch's grid, and the grid's step: within 15 days the
    minute holding ``start``; older, the next 5-minute (hourly) mark at or after it, never before (never on minutes a
    caller left out, such as a replay's)."""
    first = start.replace(second=0, microsecond=0)
    for older, step in RESOLUTIONS:
        if clock.now() - first > older - AGE_MARGIN:
            epoch = math.ceil(start.timestamp())
            return datetime.fromtimestamp(-(-epoch // step) * step, tz=start.tzinfo), step
    return first, MINUTE


def whole_window(start: datetime, end: datetime) -> tuple[datetime, int] | None:
    """The StartTime and the one Period of a whole-window query over [start, end) that CloudWatch answers as one
    bucket, or None when the window holds no whole interval yet.

    The StartTime is on CloudWatch's own grid, so its rounding changes nothing: within 15 days, the minute holding
    ``start`` (as the per-minute series read it); older, the next 5-minute (hourly) mark, never before ``start``
    (never on minutes the caller left out, such as a replay's). The Period reaches from there past ``end``, so the
    answer is one value, not a whole bucket and a partial one (EndTime stops it at ``end``)."""
    first, grid = grid_start(start)
    if end <= first:
        return None
    return first, max(grid, math.ceil((end - first).total_seconds() / grid) * grid)


def variant_figures(
    endpoint: str, variants: Sequence[str], start: datetime, end: datetime, latency_statistic: str
) -> VariantFigures:
    """Invocations, 5XX errors and ModelLatency (converted to ms) of ``variants`` together over [start, end)."""
    window = whole_window(start, end)
    if window is None:
        return VariantFigures(invocations=0, errors=0, latency_ms=None)
    start, seconds = window
    queries: list[MetricDataQueryTypeDef] = []
    for index, variant in enumerate(variants):
        dims: list[DimensionTypeDef] = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ]
        for key, metric, stat in (
            ("inv", "Invocations", "Sum"),
            ("err", "Invocation5XXErrors", "Sum"),
            ("lat", "ModelLatency", latency_statistic),
        ):
            queries.append(
                {
                    "Id": f"{key}{index}",
                    "MetricStat": {
                        "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
                        "Period": seconds,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    with translated("cloudwatch:GetMetricData"):
        response = client("cloudwatch").get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    values = {r["Id"]: r.get("Values", []) for r in response.get("MetricDataResults", [])}
    invocations = [sum(values.get(f"inv{i}", [])) for i in range(len(variants))]
    errors = sum(sum(values.get(f"err{i}", [])) for i in range(len(variants)))
    latencies = [(values[f"lat{i}"][0], invocations[i]) for i in range(len(variants)) if values.get(f"lat{i}")]
    total = sum(invocations)
    latency = None
    if latencies:  # weighted by traffic when several variants are judged together
        weight = sum(w for _, w in latencies) or len(latencies)
        latency = sum(v * (w or 1) for v, w in latencies) / weight / MICROSECONDS_PER_MS
    return VariantFigures(invocations=total, errors=errors, latency_ms=latency)


def _variant_query(
    query_id: str, namespace: str, metric: str, endpoint: str, variant: str, period: int, stat: str
) -> MetricDataQueryTypeDef:
    """One GetMetricData query of a per-variant metric (dimensions EndpointName, VariantName)."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _minute_queries(
    namespace: str, endpoint: str, variants: Sequence[str], metrics: Sequence[tuple[str, str, str]], period: int
) -> list[MetricDataQueryTypeDef]:
    """One query per variant and (id prefix, metric, statistic), of one figure per ``period``."""
    return [
        _variant_query(f"{key}{index}", namespace, metric, endpoint, variant, period, stat)
        for index, variant in enumerate(variants)
        for key, metric, stat in metrics
    ]


def _minute_series(
    queries: list[MetricDataQueryTypeDef], start: datetime, end: datetime
) -> dict[str, dict[datetime, float]]:
    """Query id -> {minute start -> value}, every page of GetMetricData (oldest first)."""
    found: dict[str, dict[datetime, float]] = {q["Id"]: {} for q in queries}
    for first in range(0, len(queries), 500):  # GetMetricData takes at most 500 queries
        with translated("cloudwatch:GetMetricData"):
            pages = (
                client("cloudwatch")
                .get_paginator("get_metric_data")
                .paginate(
                    MetricDataQueries=queries[first : first + 500],
                    StartTime=start,
                    EndTime=end,
                    ScanBy="TimestampAscending",
                )
            )
            for page in pages:
                for result in page.get("MetricDataResults", []):
                    series = found.setdefault(result["Id"], {})
                    for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                        series[when] = float(value)
    return found


def _whole_minutes(start: datetime, end: datetime) -> tuple[datetime, datetime, int]:
    """[start, end) on CloudWatch's grid (``grid_start``), at least one period long, and the period of the series:
    minutes within 15 days; older, CloudWatch keeps only 5-minute (hourly) data, so 5-minute (hourly) periods."""
    first, period = grid_start(start)
    last = datetime.fromtimestamp(int(end.timestamp()) // period * period, tz=end.tzinfo)
    return first, max(last, first + timedelta(seconds=period)), period


def variant_minutes(
    endpoint: str, variants: Sequence[str], start: datetime, end: datetime, latency_statistic: str
) -> tuple[MinuteFigures, ...]:
    """Invocations, 5XX errors and ModelLatency (ms) of ``variants`` together, minute by minute over [start, end),
    oldest first (5-minute, then hourly, periods once the window is older than CloudWatch keeps minutes: see
    _whole_minutes); only minutes with invocations. Several variants' latencies are averaged, weighted by traffic
    (a p99 of two fleets cannot be combined exactly; the weighted average is close when they are alike)."""
    first, last, period = _whole_minutes(start, end)
    metrics = (
        ("inv", "Invocations", "Sum"),
        ("err", "Invocation5XXErrors", "Sum"),
        ("lat", "ModelLatency", latency_statistic),
    )
    series = _minute_series(_minute_queries(NAMESPACE, endpoint, variants, metrics, period), first, last)
    minutes: list[MinuteFigures] = []
    for when in sorted({t for i in range(len(variants)) for t in series.get(f"inv{i}", {})}):
        invocations = errors = weighted = weight = 0.0
        for i in range(len(variants)):
            served = series.get(f"inv{i}", {}).get(when, 0.0)
            invocations += served
            errors += series.get(f"err{i}", {}).get(when, 0.0)
            latency = series.get(f"lat{i}", {}).get(when)
            if latency is not None and served > 0:
                weighted += latency * served
                weight += served
        if invocations > 0:
            latency_ms = weighted / weight / MICROSECONDS_PER_MS if weight else None
            minutes.append(MinuteFigures(at=when, invocations=invocations, errors=errors, latency_ms=latency_ms))
    return tuple(minutes)


def metric_minutes(
    namespace: str, metric: str, statistic: str, endpoint: str, variants: Sequence[str], start: datetime, end: datetime
) -> list[float]:
    """One figure per minute (per 5 minutes or hour for an old window) of any per-variant metric over [start, end),
    oldest first: summed across ``variants``
    for Sum and SampleCount, averaged across them otherwise; minutes without data are left out."""
    first, last, period = _whole_minutes(start, end)
    queries = _minute_queries(namespace, endpoint, variants, (("m", metric, statistic),), period)
    series = _minute_series(queries, first, last)
    figures: list[float] = []
    for when in sorted({t for values in series.values() for t in values}):
        values = [series[f"m{i}"][when] for i in range(len(variants)) if when in series.get(f"m{i}", {})]
        figures.append(sum(values) if statistic in ("Sum", "SampleCount") else sum(values) / len(values))
    return figures


def variant_metric(
    namespace: str, metric: str, statistic: str, endpoint: str, variants: Sequence[str], start: datetime, end: datetime
) -> float | None:
    """One statistic of any per-variant metric (dimensions EndpointName, VariantName) over [start, end):
    summed across ``variants`` for Sum and SampleCount, averaged across them otherwise. None without data."""
    window = whole_window(start, end)
    if window is None:
        return None
    start, seconds = window
    queries = [
        _variant_query(f"m{index}", namespace, metric, endpoint, variant, seconds, statistic)
        for index, variant in enumerate(variants)
    ]
    with translated("cloudwatch:GetMetricData"):
        response = client("cloudwatch").get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    values = [r["Values"][0] for r in response.get("MetricDataResults", []) if r.get("Values")]
    if not values:
        return None
    return float(sum(values)) if statistic in ("Sum", "SampleCount") else float(sum(values) / len(values))


def variant_alarm_names(prefix: str) -> list[str]:
    """Every alarm ``put_variant_alarms`` may create under ``prefix`` (so a lost state can still find them)."""
    return [f"{prefix}-5xx-rate", f"{prefix}-latency"]


def put_variant_alarms(
    prefix: str, endpoint: str, variant: str, analysis: Analysis, tags: Sequence[dict[str, str]]
) -> list[str]:
    """Alarms on the new variant for the analysis' absolute limits; the names of those created."""
    dims: list[DimensionTypeDef] = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    alarm_tags: list[TagTypeDef] = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
    created: list[str] = []
    error_alarm, latency_alarm = variant_alarm_names(prefix)
    if analysis.max_error_rate is not None:
        name = error_alarm

        def stat(metric_id: str, metric: str) -> MetricDataQueryTypeDef:
            return {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }

        with translated("cloudwatch:PutMetricAlarm"):
            client("cloudwatch").put_metric_alarm(
                AlarmName=name,
                AlarmDescription=f"5XX rate of {endpoint}/{variant} above the rollout policy's max_error_rate",
                Metrics=[
                    stat("errors", "Invocation5XXErrors"),
                    stat("invocations", "Invocations"),
                    {
                        "Id": "rate",
                        "Expression": f"IF(invocations >= {analysis.min_invocations}, errors / invocations, 0)",
                        "ReturnData": True,
                    },
                ],
                EvaluationPeriods=1,
                Threshold=analysis.max_error_rate,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
                Tags=alarm_tags,
            )
        created.append(name)
    if analysis.max_latency_ms is not None:
        name = latency_alarm
        statistic: dict[str, Any] = (
            {"Statistic": "Average"}
            if analysis.latency_statistic == "Average"
            else {"ExtendedStatistic": analysis.latency_statistic}
        )
        with translated("cloudwatch:PutMetricAlarm"):
            client("cloudwatch").put_metric_alarm(
                AlarmName=name,
                AlarmDescription=f"ModelLatency of {endpoint}/{variant} above the rollout policy's max_latency_ms",
                Namespace=NAMESPACE,
                MetricName="ModelLatency",
                Dimensions=dims,
                Period=60,
                EvaluationPeriods=1,
                Threshold=analysis.max_latency_ms * MICROSECONDS_PER_MS,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
                Tags=alarm_tags,
                **statistic,
            )
        created.append(name)
    return created


def delete_alarms(names: Sequence[str]) -> None:
    """Delete alarms (DeleteAlarms ignores names that do not exist)."""
    for start in range(0, len(names), 100):
        with translated("cloudwatch:DeleteAlarms"):
            client("cloudwatch").delete_alarms(AlarmNames=list(names[start : start + 100]))
