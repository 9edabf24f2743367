"""Pure decisions about the endpoint: is a change done, what does a rollback do next, what was the outcome.

How a step is judged (alarms, metrics, verdicts) lives in ``analysis``; what happens next in ``transition``; the
sentences a failure or a stopped rollback is told with in ``reasons``.

No AWS, no clock: every function takes the observation and ``now`` and returns a decision with its reason.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from rollout.errors import is_rejection
from rollout.frozen import frozen
from rollout.models.endpoint import EndpointSnapshot, Expectation
from rollout.models.policy import BlueGreen
from rollout.models.progress import Outcome, Phase, RolloutState
from rollout.reasons import stuck_reason

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


class Progress(StrEnum):
    WAIT = "wait"
    DEPLOYED = "deployed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    NOT_SERVING_TARGET = "not_serving_target"
    REVERTED = "reverted"  # InService again on the baseline config: the update was undone (by SageMaker)


# The endpoint waits' timeout: a lost endpoint event costs at most this long (plus one look), never the rollout.
FALLBACK_SECONDS = 300
GUARDRAIL_ROLLBACK_GRACE_SECONDS = 900  # after MaximumExecutionTimeout, time for SageMaker's own rollback


def fallback_seconds(state: RolloutState) -> int:
    """How long Wait For Endpoint (or Wait For Rollback) waits for SageMaker's event before looking anyway."""
    return max(state.policy.poll_interval_seconds, FALLBACK_SECONDS)


def update_timeout_seconds(state: RolloutState) -> int:
    """How long the update in flight may take: SageMaker's guardrails have their own limit, and after it they
    roll back, which takes a while too."""
    strategy = state.policy.strategy
    if state.target is not None and state.target.guardrails and isinstance(strategy, BlueGreen):
        return strategy.max_execution_timeout_seconds + GUARDRAIL_ROLLBACK_GRACE_SECONDS
    return state.policy.update_timeout_seconds


@frozen
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
        limit = update_timeout_seconds(state)
        if elapsed > limit:
            why = (
                f"max_execution_timeout_seconds={limit - GUARDRAIL_ROLLBACK_GRACE_SECONDS} passed and SageMaker's "
                f"own rollback did not finish within {GUARDRAIL_ROLLBACK_GRACE_SECONDS} s more"
                if target.guardrails and state.phase is Phase.UPDATING
                else f"update_timeout_seconds={limit}"
            )
            return ProgressDecision(
                Progress.TIMED_OUT, f"endpoint {name} still {status} after {int(elapsed)} s ({why})"
            )
        stage = f": {observed.deployment_stage}" if observed.deployment_stage else ""
        return ProgressDecision(Progress.WAIT, f"endpoint {name} is {status} ({int(elapsed)} s){stage}")
    if status == "InService":
        if observed.config_name == expected:
            models = {v.name: v.model_name for v in observed.variants}
            serving_new = [v for v, m in models.items() if m == target.model_name]
            if target.shadow and expected == target.shift_config_name:
                shadows = {v.name: v.model_name for v in observed.shadow_variants}
                if shadows.get(target.variant_name or "") != target.model_name:
                    return ProgressDecision(
                        Progress.NOT_SERVING_TARGET,
                        f"shadow variant {target.variant_name} of {name} does not run {target.model_name}",
                    )
            elif target.shifts_traffic and expected == target.shift_config_name:
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
                Progress.REVERTED, f"update of {name} failed and SageMaker kept {observed.config_name}: {why}"
            )
        return ProgressDecision(
            Progress.NOT_SERVING_TARGET,
            f"endpoint {name} is InService on {observed.config_name}, not {expected}: {why}",
        )
    if status == "UpdateRollbackFailed":  # Roll Back tells the whole story; it never deletes a serving endpoint
        return ProgressDecision(
            Progress.FAILED, f"the update of {name} to {expected} failed, and so did SageMaker's automatic rollback"
        )
    why = observed.failure_reason or "SageMaker gave no FailureReason"
    return ProgressDecision(Progress.FAILED, f"endpoint {name} is {status}: {why}")


class RollbackAction(StrEnum):
    DONE = "done"
    WAIT = "wait"
    CUT_TRAFFIC = "cut_traffic"
    UPDATE_TO_BASELINE = "update_to_baseline"
    RESTORE_LIVE = "restore_live"  # the pre-rollout live weights and instance counts (the weights-and-capacities call)
    DELETE = "delete"
    RECREATE_BASELINE = "recreate_baseline"
    GIVE_UP = "give_up"  # past the policy's rollback deadline: leave the endpoint as it is, tell a person
    STOP = "stop"  # the endpoint may serve but accepts no update, or changed under the rollout: leave it, tell a person


@frozen
class RollbackDecision:
    action: RollbackAction
    reason: str


def rollback_action(state: RolloutState, observed: EndpointSnapshot, now: datetime) -> RollbackDecision:
    """The next move that brings the endpoint back to exactly its pre-rollout configuration, live weights and live
    instance counts.

    Judged from the endpoint as observed, never from what the state believes was done: a step that died
    after its SageMaker call but before returning leaves the state behind the endpoint. Someone else's change is
    never overwritten: a config that is neither the pre-rollout one nor this rollout's stops the rollback.
    """
    name = observed.name
    if state.baseline is None:
        return RollbackDecision(RollbackAction.DONE, f"endpoint {name} was never looked at, let alone changed")
    baseline = state.baseline
    if state.error is not None and state.error.Error == "DriftError":
        return RollbackDecision(
            RollbackAction.STOP,
            "the rollout did not roll it back and left it exactly as it is (rolling back would overwrite that "
            f"change); once a person has checked it: rollout release {name} --reason ...",
        )
    foreign = foreign_config(state, observed)
    if foreign is not None:
        return RollbackDecision(RollbackAction.STOP, f"{foreign}; the rollout left it exactly as it is")
    started = state.rollback_started_at or now
    elapsed = (now - started).total_seconds()
    status = observed.status or "unknown"
    if elapsed > state.policy.rollback_deadline_seconds:
        seen = f"{status} on {observed.config_name}" if observed.exists else "deleted"
        return RollbackDecision(
            RollbackAction.GIVE_UP,
            f"the rollback of {name} did not finish within rollback_deadline_seconds="
            f"{state.policy.rollback_deadline_seconds} (the endpoint is {seen}; it was left as it is)",
        )
    if observed.exists and status in TRANSITIONAL:
        return RollbackDecision(RollbackAction.WAIT, f"endpoint {name} is {status}; waiting to roll back")
    if observed.exists and status not in ("InService", "Failed"):
        # UpdateRollbackFailed serves a mix of both configs; nothing but a Failed endpoint may be deleted
        return RollbackDecision(RollbackAction.STOP, stuck_reason(state, observed))
    if not baseline.exists:
        if not observed.exists:
            return RollbackDecision(RollbackAction.DONE, f"endpoint {name} does not exist, as before the rollout")
        return RollbackDecision(RollbackAction.DELETE, f"deleting endpoint {name}, which this rollout created")
    if not observed.exists:
        return RollbackDecision(
            RollbackAction.RECREATE_BASELINE, f"recreating {name} on its previous config {baseline.config_name}"
        )
    if status == "Failed":  # serves nothing and accepts no update but DeleteEndpoint
        return RollbackDecision(
            RollbackAction.DELETE,
            f"endpoint {name} is Failed and cannot be updated; deleting it to recreate it on {baseline.config_name}",
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
    differences = live_differences(baseline, observed)
    if differences:
        return RollbackDecision(
            RollbackAction.RESTORE_LIVE,
            f"restoring {name}'s pre-rollout live {', '.join(differences)}",
        )
    return RollbackDecision(
        RollbackAction.DONE, f"endpoint {name} is on {baseline.config_name} with its old live weights and instances"
    )


def ours(state: RolloutState) -> set[str]:
    """The configs the endpoint may run during this rollout: its pre-rollout config and the rollout's own."""
    found = {state.baseline.config_name} if state.baseline is not None and state.baseline.config_name else set()
    if state.target is not None:
        found |= {c for c in (state.target.config_name, state.target.shift_config_name) if c}
    return found


def foreign_config(state: RolloutState, observed: EndpointSnapshot) -> str | None:
    """Why the endpoint runs (or is being moved to) a config that is neither its pre-rollout one nor this
    rollout's - someone else's change - or None."""
    if not observed.exists or state.baseline is None:
        return None
    known = ours(state)
    for config, how in ((observed.config_name, "runs"), (observed.pending_config_name, "is being updated to")):
        if config and config not in known:
            before = state.baseline.config_name or "(none: the rollout creates it)"
            return (
                f"endpoint {observed.name} {how} config {config}, which is neither its pre-rollout config {before} "
                "nor this rollout's: someone else changed it"
            )
    return None


STEADY = frozenset({Phase.BASELINED, Phase.PREPARED, Phase.BAKING, Phase.VERIFYING})


def drift(state: RolloutState, observed: EndpointSnapshot) -> str | None:
    """How the endpoint differs from what this rollout left (someone else's change), or None.

    A config that is not the rollout's (or the baseline's) is drift at any time. In a steady phase - nothing of the
    rollout's in flight: before the first change, while a step bakes or a gate waits, after the promotion - the
    endpoint must also be InService on exactly the expected config, weights and instance counts; an update the
    rollout did not start is drift too. Autoscaled variants' counts move by design and are not compared.
    """
    foreign = foreign_config(state, observed)
    if foreign is not None:
        return foreign
    expected = state.expected
    if expected is None or state.phase not in STEADY:
        return None
    name = observed.name
    if not observed.exists:
        return f"endpoint {name} was deleted by someone else" if expected.config_name else None
    status = observed.status or "unknown"
    if status == "Updating":
        return f"endpoint {name} is Updating although the rollout is not changing it: someone else's update"
    if status != "InService":
        return None  # SageMaker's own maintenance, or a failure: the step that follows judges it
    found = []
    if observed.config_name != expected.config_name:
        found.append(f"it runs config {observed.config_name}, not {expected.config_name}")
    live = {v.name: v for v in observed.variants}
    if set(live) != set(expected.weights):
        found.append(f"its variants are {', '.join(sorted(live))}, not {', '.join(sorted(expected.weights))}")
    for variant, weight in sorted(expected.weights.items()):
        now = live.get(variant)
        if now is not None and abs(now.weight - weight) > 1e-6:
            found.append(f"variant {variant} has weight {now.weight:g}, not {weight:g}")
    for variant, count in sorted(expected.counts.items()):
        now = live.get(variant)
        if now is not None and now.instance_count is not None and now.instance_count != count:
            found.append(f"variant {variant} runs {now.instance_count} instance(s), not {count}")
    return f"endpoint {name} changed under the rollout: {'; '.join(found)}" if found else None


def expectation(state: RolloutState, observed: EndpointSnapshot) -> Expectation:
    """What the rollout expects to keep finding, from the endpoint as it just left (or found) it."""
    autoscaled = {s.variant for s in state.baseline.scaling} if state.baseline is not None else set()
    if autoscaled and state.target is not None and state.target.promoted_variant:
        autoscaled.add(state.target.promoted_variant)
    return Expectation(
        config_name=observed.config_name if observed.exists else None,
        weights={v.name: v.weight for v in observed.variants},
        counts={
            v.name: v.instance_count
            for v in observed.variants
            if v.instance_count is not None and v.name not in autoscaled
        },
    )


def live_differences(baseline: EndpointSnapshot, observed: EndpointSnapshot) -> list[str]:
    """What differs between the pre-rollout live weights and instance counts and the observed ones, per variant."""
    live = {v.name: v for v in observed.variants}
    found = []
    for before in baseline.variants:
        now = live.get(before.name)
        if now is None:
            continue
        if abs(now.weight - before.weight) > 1e-6:
            found.append(f"weight of {before.name} ({now.weight:g} -> {before.weight:g})")
        if before.instance_count is not None and now.instance_count != before.instance_count:
            found.append(f"instance count of {before.name} ({now.instance_count} -> {before.instance_count})")
    return found


PEOPLE_STOPS = frozenset({"AbortedError", "GateRejectedError", "GateTimedOutError"})


NEEDS_ATTENTION_ERRORS = frozenset({"RollbackFailedError", "DriftError"})


def final_outcome(state: RolloutState) -> Outcome:
    """The outcome a finished rollout reports.

    ``needs_attention`` whenever the endpoint may be anywhere but where the promise puts it (the rollback stopped,
    gave up or broke, or the endpoint changed under the rollout); ``failed`` only for a rollout that broke before
    it changed the endpoint.
    """
    if state.outcome is not None and state.error is None:  # decided by the rollout (a duplicate, a test's end)
        return state.outcome
    if state.phase is Phase.STOPPED or (state.error is not None and state.error.Error in NEEDS_ATTENTION_ERRORS):
        return Outcome.NEEDS_ATTENTION
    if state.error is not None and is_rejection(state.error.Error) and not state.touched:
        return Outcome.REJECTED
    if state.phase is Phase.DEPLOYED and state.next == "done":
        return Outcome.SUCCEEDED
    stopped_by_people = state.error is not None and state.error.Error in PEOPLE_STOPS
    if state.phase is Phase.ROLLED_BACK and (state.touched or stopped_by_people):
        return Outcome.ROLLED_BACK
    if state.touched and state.phase is not Phase.ROLLED_BACK:  # Roll Back broke: nobody knows where it is
        return Outcome.NEEDS_ATTENTION
    return Outcome.FAILED
