"""Evaluate Health: one check of the step being baked - alarms and the new variant's metrics - and what follows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Literal

from rollout import clock, continuation
from rollout.analysis import (
    BakeAction,
    HealthObservation,
    HealthVerdict,
    VariantFigures,
    after_check,
    check_interval,
    judge,
    next_check_seconds,
    stops_early,
)
from rollout.aws import cloudwatch, sagemaker, table
from rollout.config import Settings
from rollout.decide import failure_reason
from rollout.errors import (
    AbortedError,
    ApprovalRevokedError,
    AwsServiceError,
    GateRejectedError,
    GateTimedOutError,
    HealthCheckFailedError,
    MetricsUnavailableError,
    SupersededError,
    TransientError,
)
from rollout.models.policy import AbTest, Shadow
from rollout.models.progress import (
    GateState,
    JudgeFigures,
    PauseState,
    Phase,
    RolloutState,
    StepRecord,
    TaskError,
    Verdict,
)
from rollout.notifications import EventKind
from rollout.steps.announce import announce
from rollout.steps.drift import require_drift_free
from rollout.steps.experiment import conclude, early_winner
from rollout.verification import judged_from


def observe(state: RolloutState, now: datetime) -> HealthObservation:
    """Read what the analysis needs: the watched alarms - their state now, and any that went to ALARM since the last
    look, however briefly (from their history: a transition is never lost to a callback token that timed out in the
    same second) - and the new and baseline variants' figures."""
    analysis = state.judging
    watched = state.watched_alarms
    details = cloudwatch.alarm_details(watched) if watched else {}
    alarms = {name: value for name, (value, _) in details.items()}
    reasons = {name: reason for name, (_, reason) in details.items()}
    since = state.alarms_seen_until or state.bake.started_at or now
    for name, at, reason in cloudwatch.alarms_fired(watched, since, now) if watched else []:
        if alarms.get(name) != "ALARM":
            alarms[name], reasons[name] = "ALARM", f"went to ALARM at {at.isoformat()}: {reason}"
    if not analysis.has_metric_checks or state.bake.started_at is None:  # no traffic judged yet (a start gate)
        return HealthObservation(alarms=alarms, alarm_reasons=reasons)
    target, baseline = state.target, state.require_baseline()
    assert target is not None
    start = judged_from(state.bake.started_at, state.verification)  # never the replay's minute
    stat = analysis.latency_statistic
    baseline_names = [v.name for v in baseline.variants]
    if start >= now:
        # the bake began in the replay's minute and no whole minute after it has passed: nothing observed yet
        # (a window read now would reach back into the replay's minute)
        nothing = VariantFigures(invocations=0, errors=0, latency_ms=None)
        minutes = () if analysis.statistical else None
        return HealthObservation(
            alarms=alarms,
            new=nothing,
            baseline=nothing,
            alarm_reasons=reasons,
            new_minutes=minutes,
            baseline_minutes=minutes,
        )
    if target.variant_name and state.phase is not Phase.VERIFYING:  # side by side: the same window for both
        new_names = [target.variant_name]
        new = cloudwatch.variant_figures(state.endpoint_name, new_names, start, now, stat)
        old = cloudwatch.variant_figures(state.endpoint_name, baseline_names, start, now, stat)
        if not analysis.statistical:
            return HealthObservation(alarms=alarms, new=new, baseline=old, alarm_reasons=reasons)
        return HealthObservation(  # the statistical judge compares both sides minute by minute
            alarms=alarms,
            new=new,
            baseline=old,
            alarm_reasons=reasons,
            new_minutes=cloudwatch.variant_minutes(state.endpoint_name, new_names, start, now, stat),
            baseline_minutes=cloudwatch.variant_minutes(state.endpoint_name, baseline_names, start, now, stat),
        )
    if state.phase is Phase.VERIFYING and target.promoted_variant:
        names = [target.promoted_variant]
    else:
        names = baseline_names if baseline.exists else [state.policy.variant_name]
    new = cloudwatch.variant_figures(state.endpoint_name, names, start, now, stat)
    reference = None
    relative = analysis.max_error_rate_increase is not None or analysis.max_latency_ratio is not None
    if baseline.exists and relative and state.touched_at is not None:
        # nothing of the old model serves beside the new one: compare with it over as long a window just before the
        # rollout first changed the endpoint
        length = timedelta(seconds=max(60.0, (now - start).total_seconds()))
        before = state.touched_at
        reference = cloudwatch.variant_figures(state.endpoint_name, baseline_names, before - length, before, stat)
    return HealthObservation(alarms=alarms, new=new, baseline=reference, alarm_reasons=reasons)


def evaluate_health(state: RolloutState, settings: Settings) -> RolloutState:
    """One check while a bake or a gate waits: people's requests first, then the health verdict, then what follows."""
    _evaluate(state, settings)
    continuation.offer(state, "next", settings.continue_after_events)
    return state


def _evaluate(state: RolloutState, settings: Settings) -> RolloutState:
    now = clock.now()
    heed_requests(state, settings)
    analysis, step = state.judging, state.current_step
    try:
        endpoint = sagemaker.snapshot(state.endpoint_name, variants_while_busy=False)
        observed = observe(state, now)
    except (TransientError, AwsServiceError) as exc:  # not a verdict on the model: inconclusive, within a budget
        return _unreadable(state, now, exc)
    require_drift_free(state, endpoint)
    state.alarms_seen_until = now
    state.bake.read_errors = 0
    verdict = judge(analysis, observed)
    signal, state.signal = state.signal, None
    if signal is not None and signal.Error == "AlarmFiredError" and verdict.verdict is not Verdict.FAIL:
        # the alarm fired and recovered before this check: it still failed the bake
        verdict = HealthVerdict(Verdict.FAIL, failure_reason(signal), alarm="(signalled)")
    label = step_label(state)
    if state.gate is not None:
        return _at_gate(state, settings, verdict, observed, signal, now, label)
    strategy = state.policy.strategy
    ab_statistical = isinstance(strategy, AbTest) and analysis.statistical
    if ab_statistical and verdict.verdict is not Verdict.FAIL and not state.promote_now:
        stopped = _stopped_early(state, settings, now, label, verdict)
        if stopped is not None:
            return stopped
    counted = verdict
    if ab_statistical and verdict.verdict is Verdict.INCONCLUSIVE:
        # an A/B test's guard rails stop it only on a FAIL: whether the test found anything is its own decision
        counted = HealthVerdict(Verdict.PASS, verdict.reason, figures=verdict.figures)
    decision = after_check(analysis, state.bake, counted, now)
    bake = state.bake
    bake.checks += 1
    if verdict.verdict is Verdict.FAIL:
        bake.failures += 1
    record = _record(state, step_number(state), step.weight_percent, now, verdict, decision.reason, observed)
    state.message = f"{label}: {verdict.verdict.value} - {decision.reason}"
    if decision.action is not BakeAction.CONTINUE:  # a step's verdict is told once it means something
        announce(
            state,
            EventKind.STEP_VERDICT,
            settings,
            verdict=verdict.verdict.value,
            detail=decision.reason,
            figures=_figures(record, verdict),
        )
    if decision.action is BakeAction.ROLL_BACK:
        return _roll_back(state, f"{label} failed: {decision.reason}")
    if state.pause is not None:  # hold the current weight: checks go on (a failure above still rolls back)
        bake.next_check_seconds = max(check_interval(analysis, analysis.check_interval_seconds), 1)
        state.next = "bake"
        state.message = (
            f"{label}: paused by {state.pause.by}"
            + (f": {state.pause.reason}" if state.pause.reason else "")
            + f" (rollout resume {state.endpoint_name}); latest check {verdict.verdict.value} - {decision.reason}"
        )
        return state
    if decision.action is BakeAction.EXTEND:
        bake.inconclusive += 1
        bake.ends_at = now + timedelta(seconds=analysis.check_interval_seconds)
    if decision.action in (BakeAction.CONTINUE, BakeAction.EXTEND):
        early = stops_early(strategy) and state.phase is Phase.BAKING  # not the promoted model's bake
        bake.next_check_seconds = max(next_check_seconds(analysis, bake, now, early_looks=early), 1)
        state.next = "bake"
        return state
    return _advance(state, settings, now, decision.reason)


def _unreadable(state: RolloutState, now: datetime, exc: Exception) -> RolloutState:
    """The alarms, metrics or endpoint could not be read: the check is inconclusive. ``consecutive_error_limit`` such
    checks in a row are allowed (the bake waits, even past its end, without using up max_inconclusive); one more
    stops the rollout with MetricsUnavailableError - it rolls back, but never rejects the package."""
    analysis, bake = state.judging, state.bake
    bake.read_errors += 1
    said = f"could not read the alarms, metrics or endpoint ({type(exc).__name__}: {exc})"
    limit = analysis.consecutive_error_limit
    if bake.read_errors > limit:
        raise MetricsUnavailableError(
            f"{step_label(state)}: {said}, {bake.read_errors} checks in a row (consecutive_error_limit={limit}); "
            "the rollout cannot judge the new model"
        )
    if bake.ends_at is not None and now >= bake.ends_at:  # a step never passes unread
        bake.ends_at = now + timedelta(seconds=analysis.check_interval_seconds)
    bake.next_check_seconds = max(1, min(next_check_seconds(analysis, bake, now), analysis.check_interval_seconds))
    if state.gate is not None:
        bake.next_check_seconds = _gate_check_seconds(state, now)
    state.next = "gate" if state.gate is not None else "bake"
    state.message = (
        f"{step_label(state)}: inconclusive - {said} (error {bake.read_errors} of consecutive_error_limit={limit})"
    )
    return state


def step_number(state: RolloutState) -> int:
    """The step a verdict belongs to; the judging after the promotion counts as one step more."""
    return len(state.steps) + 1 if state.phase is Phase.VERIFYING else state.step_index + 1


def _record(
    state: RolloutState,
    step: int,
    weight_percent: float,
    now: datetime,
    verdict: HealthVerdict,
    reason: str,
    observed: HealthObservation,
) -> StepRecord:
    """Keep the check's verdict and figures in the state: one entry per step, its latest check."""
    new, base = observed.new, observed.baseline
    previous = state.history[-1] if state.history and state.history[-1].step == step else None
    record = StepRecord(
        step=step,
        weight_percent=weight_percent,
        at=now,
        verdict=verdict.verdict,
        reason=reason,
        checks=previous.checks + 1 if previous else 1,
        invocations=int(new.invocations) if new else None,
        error_rate=_rounded(new.error_rate if new else None),
        latency_ms=_rounded(new.latency_ms if new else None),
        baseline_error_rate=_rounded(base.error_rate if base else None),
        baseline_latency_ms=_rounded(base.latency_ms if base else None),
        alarm=verdict.alarm,
        figures=verdict.figures,
    )
    if previous is not None:
        state.history[-1] = record  # the state stays small: a step's latest check stands for it
    else:
        state.history.append(record)
    return record


def _rounded(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None


def _figures(record: StepRecord, verdict: HealthVerdict) -> dict[str, object]:
    """A verdict's figures as its event carries them: those that were measured, and the statistical judge's."""
    fields = ("invocations", "error_rate", "latency_ms", "baseline_error_rate", "baseline_latency_ms", "alarm")
    figures: dict[str, object] = {name: getattr(record, name) for name in fields if getattr(record, name) is not None}
    if verdict.figures is not None:  # new_invocations, p_within, ...; a name measured above keeps its value
        judged = verdict.figures.model_dump(mode="json")
        figures.update({name: value for name, value in judged.items() if name not in figures})
    return figures


def _roll_back(state: RolloutState, reason: str) -> RolloutState:
    """A failed check: go to Roll Back with the verdict kept. The handler returns (rather than raising
    HealthCheckFailedError into the state machine's Catch, which would drop this invocation's state and with it
    the failing verdict); the error is set as the Catch would set it."""
    error = HealthCheckFailedError(reason)
    state.error = TaskError(
        Error=type(error).__name__, Cause=json.dumps({"errorMessage": reason, "errorType": type(error).__name__})
    )
    state.reason = failure_reason(state.error)
    state.next = "restore"
    return state


def _stopped_early(
    state: RolloutState, settings: Settings, now: datetime, label: str, verdict: HealthVerdict
) -> RolloutState | None:
    """An A/B test with ``stop_early`` ends at the first check where its sequential test found a winner."""
    strategy = state.policy.strategy
    if not isinstance(strategy, AbTest) or not strategy.stop_early or state.bake.started_at is None:
        return None
    found = early_winner(state, now)
    if found is None:
        return None
    winner, result = found
    figures = (verdict.figures or _no_figures()).model_copy(update={"sequential_p": result.p_value})
    reason = f"the sequential test decided: {winner.reason}"
    record = StepRecord(
        step=step_number(state),
        weight_percent=state.current_step.weight_percent,
        at=now,
        verdict=Verdict.PASS,
        reason=reason,
        figures=figures,
    )
    if state.history and state.history[-1].step == record.step:
        state.history[-1] = record
    else:
        state.history.append(record)
    state.bake.checks += 1
    announce(
        state,
        EventKind.STEP_VERDICT,
        settings,
        verdict=Verdict.PASS.value,
        detail=reason,
        figures=figures.model_dump(mode="json"),
    )
    state.message = f"{label}: stopped early - {reason}"
    conclude(state, settings, reason, early=True)
    if state.next == "promote" and state.policy.gates.confirm_before_promotion:
        return open_gate(state, settings, "before promotion", "promote", now)
    return state


def _no_figures() -> JudgeFigures:
    return JudgeFigures(new_invocations=0, new_errors=0, baseline_invocations=0, baseline_errors=0)


def step_label(state: RolloutState) -> str:
    """How a person reads the step being judged."""
    step = state.current_step
    if state.phase is Phase.VERIFYING:
        return "after promotion"
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
    if state.phase is Phase.VERIFYING:  # the promoted model passed its last judging
        state.phase, state.next = Phase.DEPLOYED, "done"
        return state
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
    interval = check_interval(state.judging, state.policy.gates.timeout_seconds)
    return max(1, min(interval, remaining))


def _at_gate(
    state: RolloutState,
    settings: Settings,
    verdict: HealthVerdict,
    observed: HealthObservation,
    signal: TaskError | None,
    now: datetime,
    label: str,
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
        served = state.step_index if gate.then == "shift" else state.step_index + 1  # the step whose traffic is on
        weight = state.steps[served - 1].weight_percent if gate.then != "start" and served else 0.0
        _record(state, served or 1, weight, now, verdict, verdict.reason, observed)
        return _roll_back(state, f"{label} failed while waiting at gate '{gate.name}': {verdict.reason}")
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
    timed = table.timed_requests(settings.table_name, state.endpoint_name, state.rollout_id)
    asked = {action: (by, reason) for action, (by, reason, _at) in timed.items()}
    _heed_pause(state, timed)
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


def _heed_pause(state: RolloutState, timed: dict[str, tuple[str, str, str]]) -> None:
    """Pause and resume: the later of the two requests stands. Pausing keeps what is left of the bake;
    resuming gives it back, counted from now."""
    pause, resume = timed.get("pause"), timed.get("resume")
    paused = pause is not None and (resume is None or pause[2] > resume[2])
    now = clock.now()
    if paused and state.pause is None and pause is not None:
        ends = state.bake.ends_at
        left = max(0, int((ends - now).total_seconds())) if ends is not None and state.phase is Phase.BAKING else None
        state.pause = PauseState(at=now, by=pause[0], reason=pause[1], bake_seconds_left=left)
    elif not paused and state.pause is not None:
        if state.pause.bake_seconds_left is not None and state.phase is Phase.BAKING:
            state.bake.ends_at = now + timedelta(seconds=state.pause.bake_seconds_left)
            state.bake.next_check_seconds = max(next_check_seconds(state.judging, state.bake, now), 1)
        state.pause = None
