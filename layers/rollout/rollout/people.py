"""What people and the registry asked of a rollout: a revoked approval, an abort, a newer version superseding it,
promote now, pause and resume, and the answer at the gate it waits at. Requests are durable items in the table
(written by the steering API and the package listener): a person's word is never lost to a task token that timed
out in the same second. Every step that waits reads them first (``heed_requests``)."""

from __future__ import annotations

from datetime import timedelta

from rollout import clock
from rollout.analysis import next_check_seconds
from rollout.aws import table
from rollout.config import Settings
from rollout.errors import AbortedError, ApprovalRevokedError, GateRejectedError, SupersededError
from rollout.models.progress import PauseState, Phase, RolloutState, TaskError


def heed_requests(state: RolloutState, settings: Settings) -> None:
    """What people and the registry asked of this rollout: a revoked approval and an abort (roll back now), a
    newer version superseding it (on_busy supersede), promote (skip the remaining steps), and the approval or
    rejection of the gate it waits at."""
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
