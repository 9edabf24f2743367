"""Evaluate Health: one check of the step being baked - alarms and the new variant's metrics - and what follows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from rollout import clock, continuation
from rollout.analysis import (
    BakeAction,
    HealthObservation,
    HealthVerdict,
    after_check,
    check_interval,
    judge,
    next_check_seconds,
)
from rollout.aws import cloudwatch, table
from rollout.config import Settings
from rollout.decide import failure_reason
from rollout.errors import (
    AbortedError,
    ApprovalRevokedError,
    GateRejectedError,
    GateTimedOutError,
    HealthCheckFailedError,
    SupersededError,
)
from rollout.models import AbTest, GateState, Phase, RolloutState, Shadow, StepRecord, TaskError, Verdict
from rollout.notifications import EventKind
from rollout.steps.announce import announce
from rollout.steps.experiment import conclude


def observe(state: RolloutState) -> HealthObservation:
    """Read what the analysis needs: the policy's alarms, and the new and baseline variants' figures."""
    analysis = state.policy.judging
    details = cloudwatch.alarm_details(state.watched_alarms) if state.watched_alarms else {}
    alarms = {name: value for name, (value, _) in details.items()}
    reasons = {name: reason for name, (_, reason) in details.items()}
    if not analysis.has_metric_checks or state.bake.started_at is None:  # no traffic judged yet (a start gate)
        return HealthObservation(alarms=alarms, alarm_reasons=reasons)
    target, baseline = state.target, state.require_baseline()
    assert target is not None
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
    """One check while a bake or a gate waits: people's requests first, then the health verdict, then what follows."""
    _evaluate(state, settings)
    continuation.offer(state, "next", settings.continue_after_events)
    return state


def _evaluate(state: RolloutState, settings: Settings) -> RolloutState:
    now = clock.now()
    heed_requests(state, settings)
    analysis, step = state.policy.judging, state.current_step
    verdict = judge(analysis, observe(state))
    signal, state.signal = state.signal, None
    if signal is not None and signal.Error == "AlarmFiredError" and verdict.verdict is not Verdict.FAIL:
        # the alarm fired and recovered before this check: it still failed the bake
        verdict = HealthVerdict(Verdict.FAIL, failure_reason(signal), alarm="(signalled)")
    label = step_label(state)
    if state.gate is not None:
        return _at_gate(state, settings, verdict, signal, now, label)
    decision = after_check(analysis, state.bake, verdict, now)
    bake = state.bake
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
    return _advance(state, settings, now, decision.reason)


def step_label(state: RolloutState) -> str:
    """How a person reads the step being judged."""
    step = state.current_step
    if isinstance(state.policy.strategy, Shadow):
        return f"shadow test ({step.weight_percent:g}% of requests copied)"
    if isinstance(state.policy.strategy, AbTest):
        return f"A/B test ({step.weight_percent:g}% on the new model)"
    return f"step {state.step_index + 1}/{len(state.steps)} ({step.weight_percent:g}%)"


def advance(state: RolloutState, settings: Settings, now: datetime, reason: str) -> RolloutState:
    """The current step is done (it passed, or had no bake to judge): what follows."""
    return _advance(state, settings, now, reason)


def _advance(state: RolloutState, settings: Settings, now: datetime, reason: str) -> RolloutState:
    """The step passed: next step, the end of a test, promotion, or done - through a gate where the policy
    asks for one."""
    shifting = state.target is not None and state.target.shifts_traffic
    last = state.step_index + 1 >= len(state.steps) or (state.promote_now and shifting)
    testing = isinstance(state.policy.strategy, (AbTest, Shadow)) and state.target is not None
    if not last:
        confirm = state.current_step.confirm
        state.step_index += 1
        if confirm:
            return open_gate(state, settings, f"after step {state.step_index}", "shift", now)
        state.next = "shift"
    elif testing and not state.promote_now:
        conclude(state, settings, reason)
        if state.next == "promote" and state.policy.gates.confirm_before_promotion:
            return open_gate(state, settings, "before promotion", "promote", now)
    elif shifting or testing:
        if state.policy.gates.confirm_before_promotion and not state.promote_now:
            return open_gate(state, settings, "before promotion", "promote", now)
        state.next = "promote"
    else:
        state.phase, state.next = Phase.DEPLOYED, "done"
    return state


def open_gate(
    state: RolloutState, settings: Settings, name: str, then: Literal["start", "shift", "promote"], now: datetime
) -> RolloutState:
    """Wait for a person. Health checks go on at every check interval, and alarms are watched throughout."""
    gates = state.policy.gates
    state.gate = GateState(
        name=name,
        opened_at=now,
        deadline=now + timedelta(seconds=gates.timeout_seconds),
        then=then,
    )
    state.bake.next_check_seconds = _gate_check_seconds(state, now)
    state.next = "gate"
    state.message = f"waiting for approval at gate '{name}' (rollout approve {state.endpoint_name})"
    announce(state, EventKind.WAITING_FOR_APPROVAL, settings, gate=name)
    return state


def _gate_check_seconds(state: RolloutState, now: datetime) -> int:
    assert state.gate is not None
    remaining = int((state.gate.deadline - now).total_seconds())
    interval = check_interval(state.policy.judging, state.policy.gates.timeout_seconds)
    return max(1, min(interval, remaining))


def _at_gate(
    state: RolloutState, settings: Settings, verdict: HealthVerdict, signal: TaskError | None, now: datetime, label: str
) -> RolloutState:
    gate = state.gate
    assert gate is not None
    if signal is not None and signal.Error == "Approved":
        state.gate = None
        state.next = "promote" if state.promote_now and state.target and state.target.shifts_traffic else gate.then
        state.message = f"gate '{gate.name}' {signal.Cause or 'approved'}"
        announce(state, EventKind.APPROVED, settings, gate=gate.name, by=signal.Cause)
        return state
    if verdict.verdict is Verdict.FAIL:  # a gate never blocks a rollback
        raise HealthCheckFailedError(f"{label} failed while waiting at gate '{gate.name}': {verdict.reason}")
    if now >= gate.deadline:
        timeout = state.policy.gates.timeout_seconds
        if state.policy.gates.on_timeout == "roll_back":
            raise GateTimedOutError(f"nobody approved gate '{gate.name}' within {timeout} s (on_timeout=roll_back)")
        state.gate = None
        state.next = gate.then
        state.message = f"gate '{gate.name}' timed out after {timeout} s; proceeding (on_timeout=proceed)"
        return state
    state.bake.next_check_seconds = _gate_check_seconds(state, now)
    state.next = "gate"
    state.message = f"still waiting for approval at gate '{gate.name}' ({verdict.verdict.value}: {verdict.reason})"
    return state


def heed_requests(state: RolloutState, settings: Settings) -> None:
    """What people and the registry asked of this rollout: a revoked approval and an abort (roll back now), a
    newer version superseding it (on_busy supersede), promote (skip the remaining steps), and the approval or
    rejection of the gate it waits at. Requests are durable: a person's word is never lost to a
    task token that timed out in the same second."""
    asked = table.requests(settings.table_name, state.endpoint_name, state.rollout_id)
    if "revoke" in asked:
        _by, reason = asked["revoke"]
        raise ApprovalRevokedError(reason)
    if "abort" in asked:
        by, reason = asked["abort"]
        raise AbortedError(f"aborted by {by}: {reason}")
    if "supersede" in asked:
        _by, reason = asked["supersede"]
        raise SupersededError(reason)
    if "promote" in asked:
        state.promote_now = True
    gate = state.gate
    if gate is not None and f"reject:{gate.name}" in asked:
        by, reason = asked[f"reject:{gate.name}"]
        raise GateRejectedError(f"rejected by {by}" + (f": {reason}" if reason else ""))
    alarmed = state.signal is not None and state.signal.Error == "AlarmFiredError"
    if gate is not None and f"approve:{gate.name}" in asked and not alarmed:  # an approval never masks an alarm
        by, reason = asked[f"approve:{gate.name}"]
        state.signal = TaskError(Error="Approved", Cause=f"approved by {by}" + (f": {reason}" if reason else ""))
