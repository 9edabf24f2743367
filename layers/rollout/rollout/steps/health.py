"""Evaluate Health: one check of the step being baked - alarms and the new variant's metrics - and what follows."""

from __future__ import annotations

from datetime import timedelta

from rollout import clock
from rollout.analysis import BakeAction, HealthObservation, HealthVerdict, after_check, judge, next_check_seconds
from rollout.aws import cloudwatch
from rollout.config import Settings
from rollout.decide import failure_reason
from rollout.errors import HealthCheckFailedError
from rollout.models import Phase, RolloutState, StepRecord, Verdict
from rollout.notifications import EventKind
from rollout.steps.announce import announce


def observe(state: RolloutState) -> HealthObservation:
    """Read what the analysis needs: the policy's alarms, and the new and baseline variants' figures."""
    analysis = state.policy.analysis
    details = cloudwatch.alarm_details(state.watched_alarms) if state.watched_alarms else {}
    alarms = {name: value for name, (value, _) in details.items()}
    reasons = {name: reason for name, (_, reason) in details.items()}
    if not analysis.has_metric_checks:
        return HealthObservation(alarms=alarms, alarm_reasons=reasons)
    target, baseline = state.target, state.require_baseline()
    assert target is not None and state.bake.started_at is not None
    now, start = clock.now(), state.bake.started_at
    stat = analysis.latency_statistic
    if target.variant_name:
        new = cloudwatch.variant_figures(state.endpoint_name, [target.variant_name], start, now, stat)
        old = cloudwatch.variant_figures(state.endpoint_name, [v.name for v in baseline.variants], start, now, stat)
        return HealthObservation(alarms=alarms, new=new, baseline=old, alarm_reasons=reasons)
    variants = [v.name for v in baseline.variants] if baseline.exists else [state.policy.variant_name]
    return HealthObservation(
        alarms=alarms,
        new=cloudwatch.variant_figures(state.endpoint_name, variants, start, now, stat),
        alarm_reasons=reasons,
    )


def evaluate_health(state: RolloutState, settings: Settings) -> RolloutState:
    now = clock.now()
    analysis, bake, step = state.policy.analysis, state.bake, state.current_step
    verdict = judge(analysis, observe(state))
    if state.signal is not None and state.signal.Error == "AlarmFiredError" and verdict.verdict is not Verdict.FAIL:
        # the alarm fired and recovered before this check: it still failed the bake
        verdict = HealthVerdict(Verdict.FAIL, failure_reason(state.signal), alarm="(signalled)")
    state.signal = None
    decision = after_check(analysis, bake, verdict, now)
    bake.checks += 1
    if verdict.verdict is Verdict.FAIL:
        bake.failures += 1
    record = StepRecord(
        step=state.step_index + 1,
        weight_percent=step.weight_percent,
        at=now,
        verdict=verdict.verdict,
        reason=decision.reason,
    )
    if state.history and state.history[-1].step == record.step:
        state.history[-1] = record  # one entry per step: the latest verdict (the state stays small)
    else:
        state.history.append(record)
    label = f"step {state.step_index + 1}/{len(state.steps)} ({step.weight_percent:g}%)"
    state.message = f"{label}: {verdict.verdict.value} - {decision.reason}"
    if decision.action is not BakeAction.CONTINUE:  # a step's verdict is told once it means something
        announce(state, EventKind.STEP_VERDICT, settings, verdict=verdict.verdict.value, detail=decision.reason)
    if decision.action is BakeAction.ROLL_BACK:
        state.reason = f"{label} failed: {decision.reason}"
        raise HealthCheckFailedError(state.reason)
    if decision.action is BakeAction.EXTEND:
        bake.inconclusive += 1
        bake.ends_at = now + timedelta(seconds=analysis.check_interval_seconds)
    if decision.action in (BakeAction.CONTINUE, BakeAction.EXTEND):
        bake.next_check_seconds = max(next_check_seconds(analysis, bake, now), 1)
        state.next = "bake"
        return state
    if state.step_index + 1 < len(state.steps):
        state.step_index += 1
        state.next = "shift"
    elif state.target is not None and state.target.shifts_traffic:
        state.next = "promote"
    else:
        state.phase, state.next = Phase.DEPLOYED, "done"
    return state
