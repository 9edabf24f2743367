"""Staying under Step Functions' history quota: a long rollout goes on in a fresh execution.

An execution's history holds at most 25,000 events; at the quota AWS fails the execution outright and no Catch
runs, which would leave an endpoint split between two models. Every loop of the workflow (polling an update,
a bake's periodic checks, a gate, a queue, a rollback's waits) passes through one Lambda step; each such step
adds an upper estimate of the events its turn of the loop costs. Past a threshold, the step asks to continue:
the loop's Choice state starts a new execution of the same state machine with the whole state as input
(``{"continue": state}``) and the old execution ends. The new one resumes at the same Choice.

Pure: no AWS, no clock. The state machine does the starting (a ``states:startExecution`` task).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from rollout.errors import HistoryQuotaError
from rollout.models.progress import RolloutState

HISTORY_QUOTA = 25_000
# The costliest turn of any loop: a bake's callback task (TaskStateEntered, TaskScheduled, TaskStarted,
# TaskSubmitted, TaskTimedOut/TaskFailed, TaskStateExited = 6), Evaluate Health (5) and Next Action? (2).
# An endpoint wait's turn (its callback task 6, Check Endpoint 5, Next Action? 2 = 13) costs as much; a queue turn
# (9) and a rollback turn (9) cost less. Every Lambda step
# adds this much, so the estimate stays above the real count, retries of a step aside (the margin covers them).
EVENTS_PER_STEP = 13
DEFAULT_CONTINUE_AFTER = 20_000  # leaves 5,000 events for retries, the continuation itself and the way out
RESERVE = 1_500  # what a rollback, clean-up and record need when the execution must stop instead

ResumePoint = Literal["next", "lock", "rollback"]


def count_step(state: RolloutState) -> None:
    """Add one step's share of the execution history (called for every step that returns the state)."""
    state.history_events += EVENTS_PER_STEP


def offer(state: RolloutState, resume_at: ResumePoint, continue_after: int) -> None:
    """At a loop point: ask the next Choice to continue in a fresh execution once the history is long.

    If starting the next execution keeps failing (the Choice's Catch records why) and the history nears the
    quota, a rollout that is judging or waiting stops with ``HistoryQuotaError`` - it rolls back, or is refused
    while queued - rather than being ended by Step Functions halfway with no Catch. A rollback goes on (it
    needs few events and must finish).
    """
    if state.history_events < continue_after:
        return
    if (
        state.continuation_error is not None
        and state.history_events >= HISTORY_QUOTA - RESERVE
        and resume_at != "rollback"
    ):
        raise HistoryQuotaError(
            f"execution {state.execution_arn} has about {state.history_events:,} of Step Functions' {HISTORY_QUOTA:,} "
            f"history events and could not continue in a fresh one ({state.continuation_error.Error}: "
            f"{state.continuation_error.Cause}); stopping the rollout before the quota ends the execution"
        )
    state.continue_as_new, state.resume_at = True, resume_at
    state.next_execution = execution_name(state)


def execution_name(state: RolloutState) -> str:
    """The next execution's name: deterministic (a retried StartExecution is idempotent), <= 80 characters,
    letters, digits, hyphens and underscores only."""
    digest = hashlib.sha256(state.rollout_id.encode()).hexdigest()[:8]
    head = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in state.rollout_id)[:60]
    return f"{head}-{digest}-c{state.generation + 1}"


def resumed(state: RolloutState, execution_arn: str) -> RolloutState:
    """The state a continued execution starts from: same rollout, new execution, an empty history."""
    previous = state.execution_arn
    state.execution_arn = execution_arn
    state.generation += 1
    state.history_events = EVENTS_PER_STEP
    state.continue_as_new = False
    state.continuation_error = None
    state.message = (
        f"rollout {state.rollout_id} continues in execution {state.generation} (the previous one, {previous}, "
        f"neared Step Functions' {HISTORY_QUOTA:,}-event history quota)"
    )
    return state
