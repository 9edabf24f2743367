"""The end of an A/B or shadow test: both sides' figures over the whole test (CloudWatch, the data capture), the
winner, and the decision - told as a ``Rollout Experiment Concluded`` event and handed to ``rollout.transition`` as an
``ExperimentConcluded`` observation (promotion, keeping the test's configuration, or the endpoint back on its
baseline). Also the sequential test an A/B test with ``stop_early`` asks at every check."""

from __future__ import annotations

from datetime import datetime

from rollout import clock
from rollout.analysis import VariantFigures
from rollout.aws import cloudwatch, s3, sagemaker
from rollout.config import Settings
from rollout.experiment import AbVerdict, ab_decision, ab_sequential_winner, ab_winner, shadow_decision
from rollout.models.policy import AbTest, Shadow, Verification
from rollout.models.progress import ExperimentResult, RolloutState, SideFigures, VerificationResult
from rollout.notifications.announcing import announce
from rollout.notifications.kinds import EventKind
from rollout.stats.core import Counts
from rollout.stats.sequential import Period, SequentialResult, sequential_error_rates, sequential_means
from rollout.transition import ExperimentConcluded
from rollout.verification import judge_replay, judged_from


def _side(variants: list[str], figures: VariantFigures, value: float | None) -> SideFigures:
    return SideFigures(
        variants=tuple(variants),
        invocations=int(figures.invocations),
        errors=int(figures.errors),
        error_rate=figures.error_rate,
        latency_ms=figures.latency_ms,
        value=value,
    )


def measure(state: RolloutState, now: datetime) -> tuple[SideFigures, SideFigures]:
    """Baseline and new sides over the whole test (from the start of its bake), valued by the test's metric."""
    target, baseline = state.target, state.require_baseline()
    assert target is not None and target.variant_name
    start = judged_from(state.bake.started_at or state.started_at, state.verification)  # not the replay
    strategy = state.policy.strategy
    statistic: str = state.policy.analysis.latency_statistic
    if isinstance(strategy, AbTest) and strategy.metric.kind == "model_latency":
        statistic = strategy.metric.statistic
    old_names, new_names = [v.name for v in baseline.variants], [target.variant_name]
    old = cloudwatch.variant_figures(state.endpoint_name, old_names, start, now, statistic)
    new = cloudwatch.variant_figures(state.endpoint_name, new_names, start, now, statistic)
    old_value, new_value = old.latency_ms, new.latency_ms
    if isinstance(strategy, AbTest) and strategy.metric.kind == "error_rate":
        old_value, new_value = old.error_rate, new.error_rate
    elif isinstance(strategy, AbTest) and strategy.metric.kind == "cloudwatch":
        metric = strategy.metric
        assert metric.metric_name is not None
        old_value = cloudwatch.variant_metric(
            metric.namespace, metric.metric_name, metric.statistic, state.endpoint_name, old_names, start, now
        )
        new_value = cloudwatch.variant_metric(
            metric.namespace, metric.metric_name, metric.statistic, state.endpoint_name, new_names, start, now
        )
    return _side(old_names, old, old_value), _side(new_names, new, new_value)


def sequential(state: RolloutState, now: datetime) -> SequentialResult:
    """The A/B test's sequential test over the minutes since it began (valid however often it is looked at):
    error rates by the mixture test on per-minute counts, latency by the sequential t test on the logs of the
    per-minute figures, any other metric by the sequential t test on its per-minute figures."""
    strategy = state.policy.strategy
    target, baseline = state.target, state.require_baseline()
    assert isinstance(strategy, AbTest) and target is not None and target.variant_name
    start = judged_from(state.bake.started_at or state.started_at, state.verification)  # not the replay
    alpha = 1.0 - state.policy.analysis.confidence
    old_names, new_names = [v.name for v in baseline.variants], [target.variant_name]
    metric = strategy.metric
    if metric.kind == "cloudwatch":
        assert metric.metric_name is not None
        old = cloudwatch.metric_minutes(
            metric.namespace, metric.metric_name, metric.statistic, state.endpoint_name, old_names, start, now
        )
        new = cloudwatch.metric_minutes(
            metric.namespace, metric.metric_name, metric.statistic, state.endpoint_name, new_names, start, now
        )
        return sequential_means(new, old, alpha, "difference")
    statistic = metric.statistic if metric.kind == "model_latency" else state.policy.analysis.latency_statistic
    old_minutes = {m.at: m for m in cloudwatch.variant_minutes(state.endpoint_name, old_names, start, now, statistic)}
    new_minutes = {m.at: m for m in cloudwatch.variant_minutes(state.endpoint_name, new_names, start, now, statistic)}
    if metric.kind == "model_latency":
        old_latency = [m.latency_ms for _, m in sorted(old_minutes.items()) if m.latency_ms]
        new_latency = [m.latency_ms for _, m in sorted(new_minutes.items()) if m.latency_ms]
        return sequential_means(new_latency, old_latency, alpha, "ratio")
    periods = [
        Period(
            new=Counts(round(new_minutes[at].errors), round(new_minutes[at].invocations)),
            baseline=Counts(round(old_minutes[at].errors), round(old_minutes[at].invocations)),
        )
        for at in sorted(new_minutes.keys() & old_minutes.keys())  # minutes both sides served
    ]
    return sequential_error_rates(periods, alpha)


def early_winner(state: RolloutState, now: datetime) -> tuple[AbVerdict, SequentialResult] | None:
    """An A/B test with ``stop_early``: the winner the sequential test found so far, or None to go on."""
    strategy = state.policy.strategy
    assert isinstance(strategy, AbTest)
    result = sequential(state, now)
    if result.decision == "continue":
        return None
    baseline, new = measure(state, now)
    verdict = ab_sequential_winner(strategy, baseline, new, result)
    return (verdict, result) if verdict.winner != "none" else None


def compare_shadow_answers(state: RolloutState, strategy: Shadow) -> VerificationResult:
    """What the shadow answered against production, from the endpoint's data capture of both (paired by request)."""
    target, baseline = state.target, state.require_baseline()
    assert target is not None and target.variant_name
    production = max(baseline.variants, key=lambda v: v.weight).name
    destination = sagemaker.capture_destination(target.shift_config_name or "") if target.shift_config_name else None
    thresholds = Verification(
        min_requests=1,
        max_error_rate_increase=1.0,  # errors and latency are the metric checks' (every check of the test)
        max_latency_ratio=None,
        min_label_agreement=strategy.min_label_agreement,
        max_score_difference=strategy.max_score_difference,
    )
    if destination is None:
        return judge_replay(thresholds, [], "no data capture on the shadow test's endpoint config", production)
    pairs = s3.captured_pairs(
        destination, state.endpoint_name, production, target.variant_name, strategy.answer_sample_size
    )
    return judge_replay(thresholds, pairs, f"{destination} (captured pairs)", production)


def conclude(state: RolloutState, settings: Settings, verdict_reason: str, early: bool = False) -> ExperimentConcluded:
    """The test ran its course (its last check passed) or a sequential test ended it ``early``: measure, decide,
    record and tell it; what follows is the transition's (``ExperimentConcluded``)."""
    strategy = state.policy.strategy
    assert isinstance(strategy, (AbTest, Shadow))
    now = clock.now()
    baseline, new = measure(state, now)
    p_value = None
    if isinstance(strategy, AbTest):
        if state.policy.analysis.statistical:
            result = sequential(state, now)
            verdict, p_value = ab_sequential_winner(strategy, baseline, new, result), result.p_value
        else:
            verdict = ab_winner(strategy, baseline, new)
        winner, reason, metric = verdict.winner, verdict.reason, strategy.metric.shown()
        if early:
            reason = f"stopped early after {int((now - (state.bake.started_at or now)).total_seconds())} s: {reason}"
        decision = ab_decision(strategy, winner)
        planned_restore = strategy.decision == "rollback"  # measure, then back: what the policy asked
    else:  # a shadow that failed its checks never gets here: they rolled it back
        winner, reason, metric = "new", f"shadow passed: {verdict_reason}", "5XX rate and ModelLatency vs production"
        decision = shadow_decision(strategy)
        planned_restore = True
        if strategy.compares_answers:
            compared = compare_shadow_answers(state, strategy)
            metric += ", answers vs production"
            state.verification = compared
            if compared.passed:
                reason = f"{reason}; answers: {compared.reason}"
            else:
                winner, decision, planned_restore = "baseline", "discard", False
                reason = f"shadow failed on its answers: {compared.reason}"
    state.experiment = ExperimentResult(
        kind=strategy.type,
        metric=metric,
        baseline=baseline,
        new=new,
        winner=winner,
        passed=winner == "new",
        decision=decision,
        reason=reason,
        stopped_early=early,
        p_value=p_value,
    )
    announce(
        state,
        EventKind.EXPERIMENT_CONCLUDED,
        settings,
        test=strategy.type,
        winner=winner,
        decision=decision,
        detail=reason,
        baseline=baseline.model_dump(),
        new=new.model_dump(),
    )
    label = "A/B test" if isinstance(strategy, AbTest) else "shadow test"
    if decision == "promote":
        state.message = f"{label}: {reason}; promoting the new model"
        state.reason = f"{label}: {reason}; the new model was promoted"
    elif decision in ("keep", "keep_both"):
        kept = "both models keep serving at the test weights" if decision == "keep_both" else "the shadow keeps running"
        state.reason = state.message = f"{label}: {reason}; {kept} (decision {decision})"
    else:
        back = f"endpoint {state.endpoint_name} goes back to {state.require_baseline().config_name}"
        state.reason = state.message = f"{label}: {reason}; {back} (decision {decision})"
    return ExperimentConcluded(decision=decision, planned_restore=planned_restore)
