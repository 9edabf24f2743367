"""Pure decisions: given what the endpoint looks like now, what happens next.

No AWS, no clock: every function takes the observation and ``now`` and returns a decision with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rollout.errors import is_rejection
from rollout.models import Analysis, BakeState, EndpointSnapshot, Outcome, Phase, RolloutState, TaskError, Verdict

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


class Progress(StrEnum):
    WAIT = "wait"
    DEPLOYED = "deployed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    NOT_SERVING_TARGET = "not_serving_target"


@dataclass(frozen=True)
class ProgressDecision:
    progress: Progress
    reason: str


def expected_config(state: RolloutState) -> str:
    """The config the endpoint should settle on in the current phase."""
    target = state.target
    assert target is not None, "the target is prepared before the endpoint is touched"
    if state.phase in (Phase.UPDATING, Phase.SHIFTING) and target.shift_config_name:
        return target.shift_config_name
    return target.config_name


def deployment_progress(
    state: RolloutState, observed: EndpointSnapshot, now: datetime, desired_weights: dict[str, float] | None = None
) -> ProgressDecision:
    """Judge an update, creation or weight shift in flight: keep waiting, settled as intended, or why not."""
    target = state.target
    assert target is not None, "deployment_progress needs a prepared target"
    expected = expected_config(state)
    name = observed.name
    started = state.update_started_at or state.started_at
    elapsed = (now - started).total_seconds()
    if not observed.exists:
        return ProgressDecision(Progress.FAILED, f"endpoint {name} disappeared during the update")
    status = observed.status or "unknown"
    if status in TRANSITIONAL:
        if elapsed > state.policy.update_timeout_seconds:
            return ProgressDecision(
                Progress.TIMED_OUT,
                f"endpoint {name} still {status} after {int(elapsed)} s "
                f"(update_timeout_seconds={state.policy.update_timeout_seconds})",
            )
        return ProgressDecision(Progress.WAIT, f"endpoint {name} is {status} ({int(elapsed)} s)")
    if status == "InService":
        if observed.config_name == expected:
            models = {v.name: v.model_name for v in observed.variants}
            serving_new = [v for v, m in models.items() if m == target.model_name]
            if target.shifts_traffic and expected == target.shift_config_name:
                if target.variant_name not in serving_new:
                    return ProgressDecision(
                        Progress.NOT_SERVING_TARGET,
                        f"variant {target.variant_name} of {name} does not serve {target.model_name}",
                    )
            elif len(serving_new) != len(models):
                wrong = sorted(set(models) - set(serving_new))
                return ProgressDecision(
                    Progress.NOT_SERVING_TARGET,
                    f"endpoint {name} is on {expected} but variant(s) {', '.join(wrong)} "
                    f"do not serve model {target.model_name}",
                )
            if desired_weights:
                live = {v.name: v.weight for v in observed.variants}
                off = {v: w for v, w in desired_weights.items() if abs(live.get(v, -1.0) - w) > 1e-6}
                if off:
                    shown = ", ".join(f"{v}={live.get(v)} (wanted {w:g})" for v, w in sorted(off.items()))
                    return ProgressDecision(
                        Progress.NOT_SERVING_TARGET, f"endpoint {name} weights did not take: {shown}"
                    )
            return ProgressDecision(Progress.DEPLOYED, f"endpoint {name} is InService on {expected}")
        why = observed.failure_reason or "SageMaker gave no FailureReason"
        if observed.config_name == state.require_baseline().config_name and state.phase is Phase.UPDATING:
            return ProgressDecision(
                Progress.FAILED, f"update of {name} failed and SageMaker kept {observed.config_name}: {why}"
            )
        return ProgressDecision(
            Progress.NOT_SERVING_TARGET,
            f"endpoint {name} is InService on {observed.config_name}, not {expected}: {why}",
        )
    why = observed.failure_reason or "SageMaker gave no FailureReason"
    return ProgressDecision(Progress.FAILED, f"endpoint {name} is {status}: {why}")


class RollbackAction(StrEnum):
    DONE = "done"
    WAIT = "wait"
    CUT_TRAFFIC = "cut_traffic"
    UPDATE_TO_BASELINE = "update_to_baseline"
    RESTORE_WEIGHTS = "restore_weights"
    DELETE = "delete"
    RECREATE_BASELINE = "recreate_baseline"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RollbackDecision:
    action: RollbackAction
    reason: str


def rollback_action(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> RollbackDecision:
    """The next move that brings the endpoint back to exactly its pre-rollout configuration and weights.

    Judged from the endpoint as observed, never from what the state believes was done: a step that died
    after its SageMaker call but before returning leaves the state behind the endpoint.
    """
    name = observed.name
    if state.baseline is None:
        return RollbackDecision(RollbackAction.DONE, f"endpoint {name} was never looked at, let alone changed")
    baseline = state.baseline
    started = state.rollback_started_at or now
    elapsed = (now - started).total_seconds()
    status = observed.status or "unknown"
    if observed.exists and status in TRANSITIONAL:
        if elapsed > state.policy.update_timeout_seconds:
            return RollbackDecision(
                RollbackAction.GIVE_UP, f"endpoint {name} still {status} {int(elapsed)} s into the rollback"
            )
        return RollbackDecision(RollbackAction.WAIT, f"endpoint {name} is {status}; waiting to roll back")
    if not baseline.exists:
        if not observed.exists:
            return RollbackDecision(RollbackAction.DONE, f"endpoint {name} does not exist, as before the rollout")
        return RollbackDecision(RollbackAction.DELETE, f"deleting endpoint {name}, which this rollout created")
    if not observed.exists:
        return RollbackDecision(
            RollbackAction.RECREATE_BASELINE, f"recreating {name} on its previous config {baseline.config_name}"
        )
    if status != "InService":
        return RollbackDecision(
            RollbackAction.DELETE,
            f"endpoint {name} is {status} and cannot be updated; deleting it to recreate it on {baseline.config_name}",
        )
    target = state.target
    live = {v.name: v.weight for v in observed.variants}
    if target is not None and target.variant_name and live.get(target.variant_name, 0.0) > 0:
        return RollbackDecision(
            RollbackAction.CUT_TRAFFIC,
            f"cutting variant {target.variant_name} of {name} from weight {live[target.variant_name]:g} to 0",
        )
    if observed.config_name != baseline.config_name or observed.pending_config_name not in (None, baseline.config_name):
        return RollbackDecision(RollbackAction.UPDATE_TO_BASELINE, f"updating {name} back to {baseline.config_name}")
    drifted = [v.name for v in baseline.variants if abs(live.get(v.name, -1.0) - v.weight) > 1e-6]
    if drifted:
        return RollbackDecision(
            RollbackAction.RESTORE_WEIGHTS,
            f"restoring the weights of {', '.join(drifted)} on {name} to their pre-rollout values",
        )
    return RollbackDecision(RollbackAction.DONE, f"endpoint {name} is on {baseline.config_name} with its old weights")


def failure_reason(error: TaskError | None) -> str:
    """A person's sentence from a caught Step Functions error (Lambda errors carry JSON in Cause)."""
    if error is None:
        return "unknown failure"
    try:
        cause = json.loads(error.Cause or "")
    except json.JSONDecodeError:
        cause = None
    if isinstance(cause, dict) and cause.get("errorMessage"):
        return f"{error.Error}: {cause['errorMessage']}"
    return f"{error.Error}: {error.Cause}" if error.Cause else error.Error


def final_outcome(state: RolloutState) -> Outcome:
    """The outcome a finished rollout reports."""
    if state.outcome is not None:
        return state.outcome
    if state.error is not None and is_rejection(state.error.Error) and not state.touched:
        return Outcome.REJECTED
    if state.phase is Phase.DEPLOYED and state.next == "done":
        return Outcome.SUCCEEDED
    if state.phase is Phase.ROLLED_BACK and state.touched:
        return Outcome.ROLLED_BACK
    return Outcome.FAILED


# --- health ---------------------------------------------------------------------------------------------


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


def next_check_seconds(analysis: Analysis, bake: BakeState, now: datetime) -> int:
    """Seconds until the next check: the check interval, or less to land on the end of the bake."""
    if bake.ends_at is None:
        return 0
    remaining = max(0, int((bake.ends_at - now).total_seconds()))
    return min(analysis.check_interval_seconds, remaining)
