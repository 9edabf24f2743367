"""Evaluate Health: one check of the step being baked - alarms and the new variant's metrics - and what follows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

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
from rollout.aws import cloudwatch, sagemaker
from rollout.config import Settings
from rollout.errors import (
    AwsServiceError,
    HealthCheckFailedError,
    TransientError,
)
from rollout.guards import require_drift_free
from rollout.models.policy import AbTest, Shadow
from rollout.models.progress import (
    JudgeFigures,
    Phase,
    RolloutState,
    StepRecord,
    TaskError,
    Verdict,
)
from rollout.notifications.announcing import announce, announce_transition
from rollout.notifications.kinds import EventKind
from rollout.people import heed_requests
from rollout.reasons import check_failed, check_failed_at_gate, failure_reason, metrics_unavailable
from rollout.transition import (
    Checked,
    GateApproved,
    GateFailed,
    GateTimedOut,
    GateWaiting,
    Observation,
    StepDone,
    Transition,
    Unreadable,
    apply,
    failure,
    gate_check_seconds,
    transition,
)
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
    change = transition(state, Checked(decision.action))
    if decision.action is BakeAction.ROLL_BACK:
        return _roll_back(state, change, check_failed(label, decision.reason))
    pause = state.pause
    if pause is not None and change.row.key == "checked.paused":  # hold the weight: checks go on (a fail rolls back)
        bake.next_check_seconds = max(check_interval(analysis, analysis.check_interval_seconds), 1)
        apply(state, change, now)
        state.message = (
            f"{label}: paused by {pause.by}"
            + (f": {pause.reason}" if pause.reason else "")
            + f" (rollout resume {state.endpoint_name}); latest check {verdict.verdict.value} - {decision.reason}"
        )
        return state
    if decision.action is BakeAction.EXTEND:
        bake.inconclusive += 1
        bake.ends_at = now + timedelta(seconds=analysis.check_interval_seconds)
    if decision.action in (BakeAction.CONTINUE, BakeAction.EXTEND):
        early = stops_early(strategy) and state.phase is Phase.BAKING  # not the promoted model's bake
        bake.next_check_seconds = max(next_check_seconds(analysis, bake, now, early_looks=early), 1)
        return apply(state, change, now)
    return step_done(state, settings, now, decision.reason)


def _unreadable(state: RolloutState, now: datetime, exc: Exception) -> RolloutState:
    """The alarms, metrics or endpoint could not be read: the check is inconclusive. ``consecutive_error_limit`` such
    checks in a row are allowed (the bake waits, even past its end, without using up max_inconclusive); one more
    stops the rollout with MetricsUnavailableError - it rolls back, but never rejects the package."""
    analysis, bake = state.judging, state.bake
    bake.read_errors += 1
    said = f"could not read the alarms, metrics or endpoint ({type(exc).__name__}: {exc})"
    limit = analysis.consecutive_error_limit
    change = transition(state, Unreadable())
    if change.fails is not None:
        raise failure(change, metrics_unavailable(step_label(state), said, bake.read_errors, limit))
    if bake.ends_at is not None and now >= bake.ends_at:  # a step never passes unread
        bake.ends_at = now + timedelta(seconds=analysis.check_interval_seconds)
    bake.next_check_seconds = max(1, min(next_check_seconds(analysis, bake, now), analysis.check_interval_seconds))
    if state.gate is not None:
        bake.next_check_seconds = gate_check_seconds(state, now)
    apply(state, change, now)
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


def _roll_back(state: RolloutState, change: Transition, reason: str) -> RolloutState:
    """A failed check: go to Roll Back with the verdict kept. The handler returns (rather than raising
    HealthCheckFailedError into the state machine's Catch, which would drop this invocation's state and with it
    the failing verdict); the error is set as the Catch would set it."""
    error = HealthCheckFailedError(reason)
    state.error = TaskError(
        Error=type(error).__name__, Cause=json.dumps({"errorMessage": reason, "errorType": type(error).__name__})
    )
    state.reason = failure_reason(state.error)
    return apply(state, change, clock.now())


def _stopped_early(
    state: RolloutState, settings: Settings, now: datetime, label: str, verdict: HealthVerdict
) -> RolloutState | None:
    """An A/B test with ``stop_early`` ends at the first check where its sequential test found a winner."""
    strategy = state.policy.strategy
    if not isinstance(strategy, AbTest) or not strategy.stop_early or state.bake.started_at is None:
        return None
    # imported here, as in step_done: a test's conclusion (its sequential statistics, S3, the answers) is no part of
    # a canary's or a linear rollout's checks, which are most of this handler's invocations
    from rollout.conclusion import conclude, early_winner

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
    return _follow(state, settings, now, conclude(state, settings, reason, early=True))


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


def step_done(state: RolloutState, settings: Settings, now: datetime, reason: str) -> RolloutState:
    """The step passed: next step, the end of a test, promotion, or done - through a gate where the policy asks for
    one (the transition decides; the end of a test is measured and concluded first)."""
    change = transition(state, StepDone())
    if change.conclude:  # the end of an A/B or shadow test (imported here: see _stopped_early)
        from rollout.conclusion import conclude

        return _follow(state, settings, now, conclude(state, settings, reason))
    apply(state, change, now)
    announce_transition(state, change, settings)
    return state


def _follow(state: RolloutState, settings: Settings, now: datetime, seen: Observation) -> RolloutState:
    change = transition(state, seen)
    apply(state, change, now)
    announce_transition(state, change, settings)
    return state


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
        change = transition(state, GateApproved(signal.Cause))
        apply(state, change, now)
        state.message = f"gate '{gate.name}' {signal.Cause or 'approved'}"
        announce_transition(state, change, settings, gate=gate.name, by=signal.Cause)
        return state
    if verdict.verdict is Verdict.FAIL:  # a gate never blocks a rollback
        served = state.step_index if gate.then == "shift" else state.step_index + 1  # the step whose traffic is on
        weight = state.steps[served - 1].weight_percent if gate.then != "start" and served else 0.0
        _record(state, served or 1, weight, now, verdict, verdict.reason, observed)
        reason = check_failed_at_gate(label, gate.name, verdict.reason)
        return _roll_back(state, transition(state, GateFailed()), reason)
    if now >= gate.deadline:
        timeout = state.policy.gates.timeout_seconds
        change = transition(state, GateTimedOut())
        if change.fails is not None:
            raise failure(change, f"nobody approved gate '{gate.name}' within {timeout} s (on_timeout=roll_back)")
        apply(state, change, now)
        state.message = f"gate '{gate.name}' timed out after {timeout} s; proceeding (on_timeout=proceed)"
        return state
    state.bake.next_check_seconds = gate_check_seconds(state, now)
    apply(state, transition(state, GateWaiting()), now)
    state.message = f"still waiting for approval at gate '{gate.name}' ({verdict.verdict.value}: {verdict.reason})"
    return state
