"""CloudWatch: alarm states and the per-variant AWS/SageMaker metrics a health check reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from rollout.aws.clients import client, translated
from rollout.decide import VariantFigures

NAMESPACE = "AWS/SageMaker"
MICROSECONDS_PER_MS = 1000.0


def alarm_states(names: Sequence[str]) -> dict[str, str]:
    """State of each named alarm that exists (a missing name is absent from the result)."""
    states: dict[str, str] = {}
    for start in range(0, len(names), 100):
        with translated("cloudwatch:DescribeAlarms"):
            response = client("cloudwatch").describe_alarms(
                AlarmNames=list(names[start : start + 100]), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


def variant_figures(
    endpoint: str, variants: Sequence[str], start: datetime, end: datetime, latency_statistic: str
) -> VariantFigures:
    """Invocations, 5XX errors and ModelLatency (converted to ms) of ``variants`` together over [start, end)."""
    seconds = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    start = end - timedelta(seconds=seconds)
    queries: list[dict[str, Any]] = []
    for index, variant in enumerate(variants):
        dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
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
