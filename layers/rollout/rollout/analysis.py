"""Pure judging of a step: the three-valued verdict of one health check, and what it means for the bake.

No AWS, no clock: the adapters read alarms and metrics into a ``HealthObservation``; ``judge`` gives the
verdict (Argo Rollouts' Successful / Failed / Inconclusive); ``after_check`` applies the policy's failure
threshold and inconclusive limit.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from rollout.frozen import frozen
from rollout.models.policy import AbTest, Analysis, Strategy
from rollout.models.progress import BakeState, JudgeFigures, Verdict

if TYPE_CHECKING:  # the statistical judge's modules load when it first judges (see judge_statistically)
    from rollout.stats.core import Counts


@frozen
class VariantFigures:
    """One variant's traffic over the judged window (from AWS/SageMaker metrics; latency in milliseconds)."""

    invocations: float
    errors: float
    latency_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None


@frozen
class MinuteFigures:
    """One variant's (or one side's) traffic in one minute: the statistical judge's unit of evidence."""

    at: datetime
    invocations: float
    errors: float
    latency_ms: float | None


@frozen
class HealthObservation:
    alarms: dict[str, str]  # alarm name -> OK | ALARM | INSUFFICIENT_DATA
    new: VariantFigures | None = None
    baseline: VariantFigures | None = None
    alarm_reasons: dict[str, str] = field(default_factory=dict)  # alarm name -> its StateReason
    # the statistical judge: per-minute figures of both sides over the judged window (None: not read)
    new_minutes: tuple[MinuteFigures, ...] | None = None
    baseline_minutes: tuple[MinuteFigures, ...] | None = None


@frozen
class HealthVerdict:
    verdict: Verdict
    reason: str
    alarm: str | None = None  # the alarm that failed the check, if one did
    figures: JudgeFigures | None = None  # the statistical judge's figures, when it judged


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
    statistical: HealthVerdict | None = None
    if analysis.statistical and observed.new_minutes is not None and observed.baseline_minutes is not None:
        statistical = judge_statistically(analysis, observed.new_minutes, observed.baseline_minutes)
    shown = ""
    if _has_limits(analysis):  # limits still bind beside the statistical judge (an absolute ceiling, say)
        new, base = observed.new, observed.baseline
        if new is None or new.invocations < analysis.min_invocations:
            seen = int(new.invocations) if new else 0
            unknown.append(
                f"new variant served {seen} invocations, fewer than min_invocations={analysis.min_invocations}"
            )
        else:
            failures, shown = _metric_failures(analysis, new, base)
            if failures:
                figures = statistical.figures if statistical else None
                return HealthVerdict(Verdict.FAIL, "; ".join(failures), figures=figures)
            if new.latency_ms is None and (analysis.max_latency_ms or analysis.max_latency_ratio):
                unknown.append("no ModelLatency datapoints for the new variant")
    if statistical is not None:
        if statistical.verdict is Verdict.FAIL:
            return statistical
        if statistical.verdict is Verdict.INCONCLUSIVE:
            unknown.append(statistical.reason)
        elif not unknown:
            return statistical
        return HealthVerdict(Verdict.INCONCLUSIVE, "; ".join(unknown), figures=statistical.figures)
    if observed.new_minutes is not None and not _has_limits(analysis) and not unknown:
        return HealthVerdict(Verdict.PASS, f"no alarm in ALARM; {NO_CONCURRENT_BASELINE}")
    if unknown:
        return HealthVerdict(Verdict.INCONCLUSIVE, "; ".join(unknown))
    return HealthVerdict(Verdict.PASS, shown or "no alarm in ALARM")


NO_CONCURRENT_BASELINE = "no baseline served beside the new variant, so the statistical judge had nothing to compare"


def _has_limits(analysis: Analysis) -> bool:
    return any(
        v is not None
        for v in (
            analysis.max_error_rate,
            analysis.max_error_rate_increase,
            analysis.max_latency_ms,
            analysis.max_latency_ratio,
        )
    )


def _counts(minutes: tuple[MinuteFigures, ...]) -> Counts:
    from rollout.stats.core import Counts  # with the statistical judge alone (see judge_statistically)

    invocations = round(sum(m.invocations for m in minutes))
    return Counts(min(invocations, round(sum(m.errors for m in minutes))), invocations)


def judge_statistically(
    analysis: Analysis, new: tuple[MinuteFigures, ...], baseline: tuple[MinuteFigures, ...]
) -> HealthVerdict | None:
    """The statistical judge: the new variant against the baseline serving beside it over the same minutes.

    The 5XX rate by ``stats.noninferiority`` (worse beyond the tolerance: FAIL; within it: PASS; else
    INCONCLUSIVE with the invocations that would decide), the per-minute ModelLatency by ``stats.ranks``
    (Mann-Whitney U against ``latency_tolerance_ratio`` x the baseline). Any FAIL fails; all PASS passes.
    None when the baseline served nothing in the window (a 100% step): there is nothing to compare with.
    """
    # imported here: only a policy with the statistical judge needs them, and most handlers import this module
    # for the threshold judge alone (a cold start pays about 5 ms less)
    from rollout.stats.core import Outcome, StatsInputError
    from rollout.stats.noninferiority import judge_error_rate
    from rollout.stats.ranks import judge_latency
    from rollout.stats.rates import Margin

    new_counts, base_counts = _counts(new), _counts(baseline)
    if base_counts.invocations == 0:
        return None
    margin = Margin(analysis.error_rate_tolerance_kind, analysis.error_rate_tolerance)
    errors = judge_error_rate(new_counts, base_counts, margin, analysis.confidence)
    outcomes = [errors.verdict]
    reasons = {errors.verdict: [errors.reason]}
    figures = JudgeFigures(
        new_invocations=new_counts.invocations,
        new_errors=new_counts.errors,
        baseline_invocations=base_counts.invocations,
        baseline_errors=base_counts.errors,
        p_worse=errors.p_worse,
        p_within=errors.p_within,
        more_invocations=errors.more_invocations,
    )
    ratio = analysis.latency_tolerance_ratio
    if ratio is not None:
        news = [m.latency_ms for m in new if m.latency_ms is not None and m.invocations > 0]
        bases = [m.latency_ms for m in baseline if m.latency_ms is not None and m.invocations > 0]
        if not news or not bases:
            side = "new variant" if not news else "baseline"
            outcomes.append(Outcome.INCONCLUSIVE)
            reasons.setdefault(Outcome.INCONCLUSIVE, []).append(f"no per-minute ModelLatency of the {side} yet")
        else:
            try:
                latency = judge_latency(news, bases, ratio, analysis.confidence)
            except StatsInputError as exc:  # figures CloudWatch should never give (say so, do not guess)
                outcomes.append(Outcome.INCONCLUSIVE)
                reasons.setdefault(Outcome.INCONCLUSIVE, []).append(f"latency not judged: {exc}")
            else:
                outcomes.append(latency.verdict)
                reasons.setdefault(latency.verdict, []).append(
                    f"ModelLatency {analysis.latency_statistic} {latency.reason}"
                )
                figures = figures.model_copy(
                    update={
                        "new_latency_ms": latency.new_median,
                        "baseline_latency_ms": latency.baseline_median,
                        "p_slower": latency.p_slower,
                        "more_minutes": latency.more_minutes,
                    }
                )
    for outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE):
        if outcome in outcomes:
            return HealthVerdict(Verdict(outcome.value), "; ".join(reasons[outcome]), figures=figures)
    return HealthVerdict(Verdict.PASS, "; ".join(reasons[Outcome.PASS]), figures=figures)


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


@frozen
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


def stops_early(strategy: Strategy) -> bool:
    """Is this an A/B test its sequential test may end before its duration?"""
    return isinstance(strategy, AbTest) and strategy.stop_early


def next_check_seconds(analysis: Analysis, bake: BakeState, now: datetime, early_looks: bool = False) -> int:
    """Seconds until the next check: the check interval, or less to land on the end of the bake.

    ``early_looks`` (an A/B test that may stop early): the sequential test stays valid however often it is looked
    at, and a clear difference is decided within minutes, so while the test is young the next look comes after as
    long again as it has run (``check_interval_seconds``, then 2, 4, 8, 16 minutes, ...) until the spacing reaches
    the check interval. A decided test then ends within about twice the time its evidence needed instead of at the
    next 15-minute (or hourly) check, for a few more checks per test (log2 of interval / check_interval_seconds,
    about 3 state transitions each).
    """
    if bake.ends_at is None:
        return 0
    remaining = max(0, int((bake.ends_at - now).total_seconds()))
    length = (bake.ends_at - bake.started_at).total_seconds() if bake.started_at else 0
    interval = check_interval(analysis, length)
    if early_looks and bake.started_at is not None:
        elapsed = int((now - bake.started_at).total_seconds())
        interval = min(interval, max(analysis.check_interval_seconds, elapsed))
    return min(interval, remaining)
