"""The end of an A/B or shadow test: both sides' figures over the whole test, the winner, and what follows -
promotion, keeping the test's configuration, or the endpoint back on its baseline."""

from __future__ import annotations

from datetime import datetime

from rollout import clock
from rollout.analysis import VariantFigures
from rollout.aws import cloudwatch
from rollout.config import Settings
from rollout.experiment import ab_decision, ab_winner, shadow_decision
from rollout.models import AbTest, ExperimentResult, Outcome, Phase, RolloutState, Shadow, SideFigures
from rollout.notifications import EventKind
from rollout.steps.announce import announce


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
    start = state.bake.started_at or state.started_at
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


def conclude(state: RolloutState, settings: Settings, verdict_reason: str) -> RolloutState:
    """The test ran its course (its last check passed): decide and set what comes next."""
    strategy = state.policy.strategy
    assert isinstance(strategy, (AbTest, Shadow))
    now = clock.now()
    baseline, new = measure(state, now)
    if isinstance(strategy, AbTest):
        verdict = ab_winner(strategy, baseline, new)
        winner, reason, metric = verdict.winner, verdict.reason, strategy.metric.shown()
        decision = ab_decision(strategy, winner)
        planned_restore = strategy.decision == "rollback"  # measure, then back: what the policy asked
    else:  # a shadow that failed never gets here: its check rolled it back
        winner, reason, metric = "new", f"shadow passed: {verdict_reason}", "5XX rate and ModelLatency vs production"
        decision = shadow_decision(strategy)
        planned_restore = True
    state.experiment = ExperimentResult(
        kind=strategy.type,
        metric=metric,
        baseline=baseline,
        new=new,
        winner=winner,
        passed=winner == "new",
        decision=decision,
        reason=reason,
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
        state.next = "promote"
        state.message = f"{label}: {reason}; promoting the new model"
        state.reason = f"{label}: {reason}; the new model was promoted"
    elif decision in ("keep", "keep_both"):
        state.phase, state.next, state.outcome = Phase.DEPLOYED, "done", Outcome.SUCCEEDED
        kept = "both models keep serving at the test weights" if decision == "keep_both" else "the shadow keeps running"
        state.reason = state.message = f"{label}: {reason}; {kept} (decision {decision})"
    else:
        state.outcome = Outcome.SUCCEEDED if planned_restore else Outcome.ROLLED_BACK
        back = f"endpoint {state.endpoint_name} goes back to {state.require_baseline().config_name}"
        state.reason = state.message = f"{label}: {reason}; {back} (decision {decision})"
        state.next = "restore"
    return state
