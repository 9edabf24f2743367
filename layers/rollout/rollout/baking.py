"""A bake's clock and what a person reads while it runs: the window of the step being judged (or of the promoted
model's post-promotion bake), when it is first checked, and the message. Pure: time comes in as ``now``; the phase
and the next action come from ``rollout.transition``."""

from __future__ import annotations

from datetime import datetime, timedelta

from rollout.analysis import next_check_seconds, stops_early
from rollout.models.policy import BlueGreen, Shadow
from rollout.models.progress import BakeState, Phase, RolloutState


def begin_bake(state: RolloutState, now: datetime, seconds: int | None = None) -> None:
    """Begin judging the current step (or ``seconds`` of the promoted model): at least one check, then every check
    interval until the bake ends."""
    step = state.current_step
    bake_seconds = step.bake_seconds if seconds is None else seconds
    state.bake = BakeState(started_at=now, ends_at=now + timedelta(seconds=bake_seconds))
    # a test's own bake (not the promoted model's) that may stop early is looked at sooner while it is young
    early = seconds is None and stops_early(state.policy.strategy)
    state.bake.next_check_seconds = max(1, next_check_seconds(state.judging, state.bake, now, early_looks=early))
    if isinstance(state.policy.strategy, Shadow):  # a copy of the requests: callers never see the shadow
        state.message = (
            f"shadow test: {step.weight_percent:g}% of requests copied to the new model (callers are answered by "
            f"the live model), for {step.bake_seconds} s"
        )
        return
    if isinstance(state.policy.strategy, BlueGreen) and bake_seconds == 0:  # SageMaker shifted and baked already
        state.message = (
            "SageMaker's blue/green update is done (its guardrails shifted all the traffic and baked it with their "
            "alarms): one check of the new model"
        )
        return
    state.message = (
        f"step {state.step_index + 1}/{len(state.steps)}: {step.weight_percent:g}% of traffic on the new model, "
        f"baking {bake_seconds} s"
    )


def begin_post_promotion_bake(state: RolloutState, now: datetime) -> None:
    """The new model serves alone: judge it once more, for ``post_promotion_bake_seconds`` (at least one check),
    with the same alarms and checks; a failure rolls back to the pre-rollout config."""
    seconds = state.policy.post_promotion_bake_seconds
    begin_bake(state, now, seconds)
    state.message = (
        f"promoted: endpoint {state.endpoint_name} serves the new model alone; judging it for {seconds} s more "
        "(post_promotion_bake_seconds)"
    )


def begin_empty_bake(state: RolloutState, now: datetime) -> None:
    """A step with no bake (0 s): an empty window, which is never judged - the step is done once it is served."""
    state.bake = BakeState(started_at=now, ends_at=now)


def time_left(state: RolloutState, now: datetime) -> tuple[int | None, int | None, str | None]:
    """What a person reads of the wait the rollout is in: the gate's or the bake's length and the seconds left
    (None outside a gate or bake), and who paused it (the bake's clock stands still while paused). `rollout status`
    and the dashboard widget both show it."""
    total = left = None
    if state.gate is not None:
        total = int((state.gate.deadline - state.gate.opened_at).total_seconds())
        left = max(0, int((state.gate.deadline - now).total_seconds()))
    elif state.phase in (Phase.BAKING, Phase.VERIFYING) and state.bake.ends_at and state.bake.started_at:
        total = int((state.bake.ends_at - state.bake.started_at).total_seconds())
        left = max(0, int((state.bake.ends_at - now).total_seconds()))
    paused = None
    if state.pause is not None:
        paused = state.pause.by + (f": {state.pause.reason}" if state.pause.reason else "")
        left = state.pause.bake_seconds_left
    return total, left, paused
