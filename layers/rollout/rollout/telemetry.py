"""What the service tells CloudWatch about its rollouts: Embedded Metric Format (EMF) lines in the function's log,
which CloudWatch Logs turns into metrics (no PutMetricData call, so no IAM grant). Namespace: the
``POWERTOOLS_METRICS_NAMESPACE`` the template sets from its ``MetricsNamespace`` parameter.

- ``Rollouts`` (Count), by ``Outcome``: one per rollout that ended (its record written) or was refused.
- ``AlarmToRollbackSeconds`` (Seconds), by ``Outcome`` (rolled_back): from the check that found a watched alarm in
  ALARM - at once when the alarm listener wakes the bake - to the rollback's start.

The endpoint and rollout id travel as EMF metadata (in the log line, not dimensions: a dimension per endpoint would
be a custom metric per endpoint). Powertools' Metrics is imported only when a rollout ends, so the other functions'
cold starts do not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rollout.models.progress import Outcome, Phase, Verdict


def ended(result: Mapping[str, Any]) -> str | None:
    """The outcome of a step's result that ends a rollout: Record Outcome's state (phase finished) or Record
    Rejection's record; None for every other step's result."""
    outcome = result.get("outcome")
    if not isinstance(outcome, str) or not outcome:
        return None
    if result.get("phase") == Phase.FINISHED.value:
        return outcome
    if "phase" not in result and outcome == Outcome.REJECTED.value and "rollout_id" in result:
        return outcome
    return None


def alarm_to_rollback_seconds(result: Mapping[str, Any]) -> float | None:
    """Seconds from the first check that failed on an alarm to the rollback's start (None: no such rollback)."""
    started = result.get("rollback_started_at")
    if result.get("outcome") != Outcome.ROLLED_BACK.value or not isinstance(started, str):
        return None
    alarmed = [
        record["at"]
        for record in result.get("history") or []
        if isinstance(record, Mapping) and record.get("alarm") and record.get("verdict") == Verdict.FAIL.value
    ]
    if not alarmed:
        return None
    seconds = (datetime.fromisoformat(started) - datetime.fromisoformat(str(alarmed[0]))).total_seconds()
    return max(0.0, seconds)


def rollout_metrics(result: Mapping[str, Any]) -> dict[str, float] | None:
    """The metrics a step's result gives (None: it does not end a rollout)."""
    if ended(result) is None:
        return None
    found = {"Rollouts": 1.0}
    seconds = alarm_to_rollback_seconds(result)
    if seconds is not None:
        found["AlarmToRollbackSeconds"] = seconds
    return found


def emit(result: Mapping[str, Any], endpoint: str | None = None) -> None:
    """Print the EMF line for a rollout that ended (nothing for any other result)."""
    values = rollout_metrics(result)
    outcome = ended(result)
    if values is None or outcome is None:
        return
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():  # POWERTOOLS_METRICS_DISABLED: nothing is printed, so nothing may be kept either
        return
    metrics = Metrics()  # Powertools' instances share one metric set: flush_metrics prints and clears it
    metrics.add_dimension(name="Outcome", value=outcome)
    for name, value in values.items():
        unit = MetricUnit.Count if name == "Rollouts" else MetricUnit.Seconds
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.add_metadata(key="rollout_id", value=str(result.get("rollout_id") or ""))
    if endpoint:
        metrics.add_metadata(key="endpoint", value=endpoint)
    metrics.flush_metrics()
