"""Pure judging of a step: the three-valued verdict of one health check, and what it means for the bake.

No AWS, no clock: the adapters read alarms and metrics into a ``HealthObservation``; ``judge`` gives the
verdict (Argo Rollouts' Successful / Failed / Inconclusive); ``after_check`` applies the policy's failure
threshold and inconclusive limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rollout.models import Analysis, BakeState, Verdict


@dataclass(frozen=True)
class VariantFigures:
    """One variant's traffic over the judged window (from AWS/SageMaker metrics; latency in milliseconds)."""

    invocations: float
    errors: float
    latency_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None


@dataclass(frozen=True)
class HealthObservation:
    alarms: dict[str, str]  # alarm name -> OK | ALARM | INSUFFICIENT_DATA
    new: VariantFigures | None = None
    baseline: VariantFigures | None = None
    alarm_reasons: dict[str, str] = field(default_factory=dict)  # alarm name -> its StateReason


@dataclass(frozen=True)
class HealthVerdict:
    verdict: Verdict
    reason: str
    alarm: str | None = None  # the alarm that failed the check, if one did


def judge(analysis: Analysis, observed: HealthObservation) -> HealthVerdict:
    """Three-valued verdict of one check: the policy's alarms first, then the built-in metric checks."""
    firing = sorted(name for name, value in observed.alarms.items() if value == "ALARM")
    if firing:
        why = observed.alarm_reasons.get(firing[0])
        detail = f" ({why})" if why else ""
        return HealthVerdict(Verdict.FAIL, f"alarm {', '.join(firing)} is in ALARM{detail}", alarm=firing[0])
    unknown: list[str] = []
    missing = sorted(name for name, value in observed.alarms.items() if value == "INSUFFICIENT_DATA")
    if missing and analysis.treat_missing == "inconclusive":
        unknown.append(f"alarm {', '.join(missing)} has INSUFFICIENT_DATA")
    figures = ""
    if analysis.has_metric_checks:
        new, base = observed.new, observed.baseline
        if new is None or new.invocations < analysis.min_invocations:
            seen = int(new.invocations) if new else 0
            unknown.append(
                f"new variant served {seen} invocations, fewer than min_invocations={analysis.min_invocations}"
            )
        else:
            failures, figures = _metric_failures(analysis, new, base)
            if failures:
                return HealthVerdict(Verdict.FAIL, "; ".join(failures))
            if new.latency_ms is None and (analysis.max_latency_ms or analysis.max_latency_ratio):
                unknown.append("no ModelLatency datapoints for the new variant")
    if unknown:
        return HealthVerdict(Verdict.INCONCLUSIVE, "; ".join(unknown))
    return HealthVerdict(Verdict.PASS, figures or "no alarm in ALARM")


def _metric_failures(analysis: Analysis, new: VariantFigures, base: VariantFigures | None) -> tuple[list[str], str]:
    failures: list[str] = []
    rate = new.error_rate or 0.0
    base_rate = base.error_rate if base is not None else None
    stat = analysis.latency_statistic
    shown = [f"5XX rate {rate:.2%} over {int(new.invocations)} invocations"]
    if analysis.max_error_rate is not None and rate > analysis.max_error_rate:
        failures.append(f"5XX rate {rate:.2%} > max_error_rate {analysis.max_error_rate:.2%}")
    if analysis.max_error_rate_increase is not None and base_rate is not None:
        shown.append(f"baseline {base_rate:.2%}")
        if rate - base_rate > analysis.max_error_rate_increase:
            failures.append(
                f"5XX rate {rate:.2%} exceeds the baseline's {base_rate:.2%} by more than "
                f"max_error_rate_increase {analysis.max_error_rate_increase:.2%}"
            )
    latency = new.latency_ms
    if latency is not None:
        shown.append(f"ModelLatency {stat} {latency:.1f} ms")
        if analysis.max_latency_ms is not None and latency > analysis.max_latency_ms:
            failures.append(f"ModelLatency {stat} {latency:.1f} ms > max_latency_ms {analysis.max_latency_ms:g}")
        base_latency = base.latency_ms if base is not None else None
        if analysis.max_latency_ratio is not None and base_latency:
            ratio = latency / base_latency
            shown.append(f"{ratio:.2f}x baseline")
            if ratio > analysis.max_latency_ratio:
                failures.append(
                    f"ModelLatency {stat} {latency:.1f} ms is {ratio:.2f}x the baseline's {base_latency:.1f} ms "
                    f"> max_latency_ratio {analysis.max_latency_ratio:g}"
                )
    return failures, ", ".join(shown)


class BakeAction(StrEnum):
    CONTINUE = "continue"  # keep baking; check again later
    EXTEND = "extend"  # the bake is over but inconclusive: bake one more interval
    ADVANCE = "advance"  # this step passed
    ROLL_BACK = "roll_back"


@dataclass(frozen=True)
class BakeDecision:
    action: BakeAction
    reason: str


def after_check(analysis: Analysis, bake: BakeState, verdict: HealthVerdict, now: datetime) -> BakeDecision:
    """What one verdict means for the step being baked (``bake`` holds the counts before this check)."""
    over = bake.ends_at is None or now >= bake.ends_at
    if verdict.verdict is Verdict.FAIL:
        failures = bake.failures + 1
        if verdict.alarm is not None:
            return BakeDecision(BakeAction.ROLL_BACK, verdict.reason)
        if failures >= analysis.failure_threshold:
            return BakeDecision(
                BakeAction.ROLL_BACK, f"{verdict.reason} (failed check {failures} of {analysis.failure_threshold})"
            )
        return BakeDecision(
            BakeAction.CONTINUE, f"{verdict.reason} (failed check {failures} of {analysis.failure_threshold})"
        )
    if verdict.verdict is Verdict.INCONCLUSIVE:
        if not over:
            return BakeDecision(BakeAction.CONTINUE, verdict.reason)
        if bake.inconclusive < analysis.max_inconclusive:
            return BakeDecision(
                BakeAction.EXTEND,
                f"{verdict.reason}; extending the bake ({bake.inconclusive + 1} of max_inconclusive="
                f"{analysis.max_inconclusive})",
            )
        if analysis.on_inconclusive == "pass":
            return BakeDecision(BakeAction.ADVANCE, f"{verdict.reason}; still inconclusive, on_inconclusive=pass")
        return BakeDecision(BakeAction.ROLL_BACK, f"{verdict.reason}; still inconclusive, on_inconclusive=fail")
    if over:
        return BakeDecision(BakeAction.ADVANCE, verdict.reason)
    return BakeDecision(BakeAction.CONTINUE, verdict.reason)


LONG_WAIT_CHECKS = 96  # periodic checks a long wait gets at most...
LONGEST_CHECK_INTERVAL = 3600  # ...but at least one an hour
# A wait is checked at most every 15 minutes: a check costs 3 state transitions (Bake, Evaluate Health, Next
# Action?), so a day of baking or of waiting at a gate costs at most 96 checks, 288 transitions.
STEADY_CHECK_INTERVAL = 900


def check_interval(analysis: Analysis, wait_seconds: float) -> int:
    """Seconds between the periodic checks of a wait (a bake, a test, a gate) lasting ``wait_seconds``.

    Every 15 minutes, or - in a wait shorter than half an hour - once midway (and once at its end); stretched for
    long waits to at most 96 checks per wait, but never beyond an hour: a week-long gate or a 30-day A/B test is
    checked hourly. The policy's ``check_interval_seconds`` is the shortest spacing it accepts. Alarms end any
    wait within seconds (the alarm listener), whatever the spacing: the periodic checks are for the metric
    comparisons, whose evidence grows slowly anyway. This keeps a rollout cheap (state transitions are billed)
    and its execution history short.
    """
    stretched = min(max(STEADY_CHECK_INTERVAL, int(wait_seconds) // LONG_WAIT_CHECKS), LONGEST_CHECK_INTERVAL)
    halfway = max(1, int(wait_seconds) // 2)
    return max(analysis.check_interval_seconds, min(stretched, halfway))


def next_check_seconds(analysis: Analysis, bake: BakeState, now: datetime) -> int:
    """Seconds until the next check: the check interval, or less to land on the end of the bake."""
    if bake.ends_at is None:
        return 0
    remaining = max(0, int((bake.ends_at - now).total_seconds()))
    length = (bake.ends_at - bake.started_at).total_seconds() if bake.started_at else 0
    return min(check_interval(analysis, length), remaining)
