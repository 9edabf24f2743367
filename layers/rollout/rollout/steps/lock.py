"""Acquire Endpoint Lock and Release Lock: one rollout per endpoint, in approval order, and one per approval.

Approvals of one endpoint queue in the order they were approved (``QUEUE#`` items). A queued rollout of an older
version is skipped - superseded - when a newer version of the same model package group waits behind it, so the
newest approved version ends up live. A lock or a queue place whose execution has ended is stale and is taken
over: no rollout is ever refused by one that has finished.
"""

from __future__ import annotations

from datetime import datetime

from rollout import clock, continuation, reasons
from rollout.aws import registry, stepfunctions, table
from rollout.config import Settings
from rollout.decide import final_outcome
from rollout.errors import SupersededError
from rollout.leftovers import unconfirmed
from rollout.models.progress import LockStatus, Outcome, RolloutState
from rollout.models.request import StartSource
from rollout.notifications.announcing import announce, announce_transition
from rollout.notifications.kinds import EventKind
from rollout.records import record_fields
from rollout.transition import LockBusy, LockRefused, LockTaken, apply, transition


def approval_key(state: RolloutState) -> str:
    """Which approval of the package this rollout answers: the registry's change time (a later re-approval of
    the same package is a new approval; a second delivery of the same event is not)."""
    approved = state.request.approved_at
    return approved.isoformat() if approved else (state.request.event_id or state.rollout_id)


def approved_at(state: RolloutState) -> datetime:
    """The rollout's place in the endpoint's queue: when it was approved (a manual start: when it started)."""
    return state.request.approved_at or state.started_at


def acquire_lock(state: RolloutState, settings: Settings) -> RolloutState:
    """Take the endpoint when it is this rollout's turn; else report duplicate, superseded, busy (queue, retry
    later) or refused (on_busy reject, the queue timed out, the approval was revoked while queued)."""
    now = clock.now()
    endpoint = state.endpoint_name
    state.lock.attempts += 1
    first = state.lock.first_tried_at or now
    state.lock.first_tried_at = first
    if state.request.source is StartSource.EVENT and state.lock.attempts == 1:
        owner = table.claim_approval(
            settings.table_name,
            endpoint,
            state.package.arn,
            approval_key(state),
            state.rollout_id,
            now,
            settings.dedupe_window_seconds,
        )
        if owner != state.rollout_id:
            apply(state, transition(state, LockRefused("duplicate")), now)
            state.lock.holder = owner
            state.reason = (
                f"duplicate approval event: rollout {owner} already handles {state.package.arn} on {endpoint}"
            )
            state.message = state.reason
            return state
    if state.lock.attempts > 1:  # queued: the registry may have taken the approval back meanwhile
        package = registry.describe_model_package(state.package.arn)
        if package.approval_status != "Approved":
            return _refuse(
                state, settings, f"the approval of {state.package.arn} was revoked while it queued: {package.changed()}"
            )
    mine = table.QueueEntry(
        rollout_id=state.rollout_id,
        approved_at=approved_at(state).isoformat(),
        package_arn=state.package.arn,
        group=state.package.group_name,
        version=state.package.version,
        execution_arn=state.execution_arn,
    )
    if state.policy.on_busy != "reject":
        table.enqueue(settings.table_name, endpoint, mine, now, settings.lock_lease_seconds)
    waiting = _live_queue(settings, endpoint)
    newer = [e for e in waiting if _newer_of_same_group(e, mine)]
    if newer:
        return _superseded(state, settings, newer[-1])
    ahead = [e for e in waiting if e.order < mine.order and e.rollout_id != mine.rollout_id]
    holder = None
    held = table.hold(settings.table_name, endpoint) if not ahead else None
    if held is not None:  # a rollout left the endpoint for a person: wait for their go-ahead
        return _wait_for_release(state, settings, now, first, held)
    if not ahead:
        holder = table.acquire_lock(
            settings.table_name,
            endpoint,
            state.rollout_id,
            state.package.arn,
            state.execution_arn,
            now,
            settings.lock_lease_seconds,
        )
        if holder is None:
            return _acquired(state, settings, now, "")
        if _stale(holder) and table.take_over_lock(
            settings.table_name,
            endpoint,
            holder,
            state.rollout_id,
            state.package.arn,
            state.execution_arn,
            now,
            settings.lock_lease_seconds,
        ):
            return _acquired(state, settings, now, f" (taken over from rollout {holder.rollout_id}, which ended)")
    if holder is not None:
        state.lock.holder = holder.rollout_id
        busy = (
            f"endpoint {endpoint} is busy with rollout {holder.rollout_id} "
            f"({holder.package_arn}, since {holder.acquired_at})"
        )
    else:
        state.lock.holder = ahead[0].rollout_id
        shown = ", ".join(f"{e.group} v{e.version}" for e in ahead)
        busy = f"endpoint {endpoint} has {len(ahead)} rollout(s) approved earlier waiting ahead ({shown})"
    waited = int((now - first).total_seconds())
    if state.policy.on_busy == "reject":
        return _refuse(state, settings, f"{busy}; policy on_busy=reject")
    if state.policy.on_busy == "supersede" and holder is not None:
        _supersede_holder(state, settings, holder)
    if waited >= state.policy.queue_timeout_seconds:
        return _refuse(state, settings, f"{busy}; gave up after queueing {waited} s (queue_timeout_seconds)")
    apply(state, transition(state, LockBusy()), now)
    state.message = f"{busy}; queued for {waited} s, next try in {state.policy.lock_poll_seconds} s"
    continuation.offer(state, "lock", settings.continue_after_events)
    return state


def _wait_for_release(
    state: RolloutState, settings: Settings, now: datetime, first: datetime, held: table.Hold
) -> RolloutState:
    """The endpoint is held: a rollout ended needs_attention on it. Queue (or, on_busy reject, refuse) until a person
    releases it; the first time, say so in an event, so whoever waits for this rollout knows why."""
    endpoint = state.endpoint_name
    waited = int((now - first).total_seconds())
    busy = (
        f"endpoint {endpoint} is held for a person since {held.since}: rollout {held.rollout_id} stopped on it and "
        f"left it as it was ({held.reason}). It waits for a go-ahead: rollout release {endpoint} --reason ..."
    )
    state.lock.holder = held.rollout_id
    if state.policy.on_busy == "reject":
        return _refuse(state, settings, f"{busy}; policy on_busy=reject")
    if waited >= state.policy.queue_timeout_seconds:
        return _refuse(state, settings, f"{busy}; gave up after waiting {waited} s (queue_timeout_seconds)")
    apply(state, transition(state, LockBusy()), now)
    state.message = f"{busy}; waited {waited} s, next look in {state.policy.lock_poll_seconds} s"
    if not state.lock.told_held:
        announce(state, EventKind.WAITING_FOR_RELEASE, settings, held_by=held.rollout_id, reason=busy)
        state.lock.told_held = True
    continuation.offer(state, "lock", settings.continue_after_events)
    return state


def _stale(holder: table.LockHolder) -> bool:
    """A lock whose rollout's execution has ended: nobody will release it."""
    return bool(holder.execution_arn) and not stepfunctions.execution_running(holder.execution_arn)


def _live_queue(settings: Settings, endpoint: str) -> list[table.QueueEntry]:
    """The endpoint's queue without the places of executions that ended (they are removed)."""
    live = []
    for entry in table.queue(settings.table_name, endpoint):
        if stepfunctions.execution_running(entry.execution_arn):
            live.append(entry)
        else:
            table.dequeue(settings.table_name, endpoint, entry.rollout_id)
    return live


def _newer_of_same_group(entry: table.QueueEntry, mine: table.QueueEntry) -> bool:
    return (
        entry.rollout_id != mine.rollout_id
        and entry.group == mine.group
        and entry.version is not None
        and mine.version is not None
        and entry.version > mine.version
        and entry.order > mine.order
    )


def _acquired(state: RolloutState, settings: Settings, now: datetime, how: str) -> RolloutState:
    endpoint = state.endpoint_name
    change = transition(state, LockTaken())
    apply(state, change, now)
    state.lock.holder = state.rollout_id
    table.dequeue(settings.table_name, endpoint, state.rollout_id)
    table.index_package(
        settings.table_name, state.package.arn, state.rollout_id, endpoint, now, settings.lock_lease_seconds
    )
    table.put_record(settings.table_name, endpoint, state.started_at, state.rollout_id, record_fields(state, "running"))
    earlier = table.leftovers(settings.table_name, endpoint)  # this rollout's Clean Up tries them again
    state.inherited_from = sorted(earlier)
    state.inherited_leftovers = sorted({entry for entries in earlier.values() for entry in entries})
    state.message = f"locked endpoint {endpoint}{how}"
    announce_transition(state, change, settings)
    return state


def _superseded(state: RolloutState, settings: Settings, newer: table.QueueEntry) -> RolloutState:
    table.dequeue(settings.table_name, state.endpoint_name, state.rollout_id)
    reason = (
        f"superseded: {newer.group} v{newer.version} (rollout {newer.rollout_id}) was approved after "
        f"{state.package.group_name} v{state.package.version} for endpoint {state.endpoint_name}; the newest "
        "approved version is rolled out"
    )
    apply(state, transition(state, LockRefused("superseded")), clock.now())
    state.lock.holder = newer.rollout_id
    state.reason = state.message = reason
    return state


def _supersede_holder(state: RolloutState, settings: Settings, holder: table.LockHolder) -> None:
    """on_busy supersede: ask a running rollout of an older version of the same group to roll back now."""
    running = registry.package_identity(holder.package_arn)
    mine = (state.package.group_name, state.package.version)
    if running is None or running[0] != mine[0] or running[1] is None or mine[1] is None or running[1] >= mine[1]:
        return
    asked = table.requests(settings.table_name, state.endpoint_name, holder.rollout_id)
    if "supersede" in asked:
        return
    reason = f"superseded by {mine[0]} v{mine[1]} (rollout {state.rollout_id}, policy on_busy=supersede)"
    table.put_request(
        settings.table_name, state.endpoint_name, holder.rollout_id, "supersede", f"rollout {state.rollout_id}", reason
    )
    waiting = table.waiting(settings.table_name, state.endpoint_name)
    if waiting is not None and waiting.rollout_id == holder.rollout_id:
        stepfunctions.fail_task(waiting.token, SupersededError.__name__, reason)


def _refuse(state: RolloutState, settings: Settings, reason: str) -> RolloutState:
    table.dequeue(settings.table_name, state.endpoint_name, state.rollout_id)
    apply(state, transition(state, LockRefused("refused")), clock.now())
    state.reason = state.message = reason
    return state


def release_lock(state: RolloutState, settings: Settings) -> RolloutState:
    """Give the endpoint back - whatever the state believes: the lock is released by the rollout's id, so a
    failure between taking the lock and reporting it cannot leak it. A queue place goes too; a refused rollout
    also drops its approval claim (it did nothing, so a later delivery may try again)."""
    endpoint = state.endpoint_name
    table.clear_waiting(settings.table_name, endpoint, state.rollout_id)
    if final_outcome(state) is Outcome.NEEDS_ATTENTION:  # held before the lock goes, so no queued rollout slips in
        table.put_hold(
            settings.table_name,
            endpoint,
            state.rollout_id,
            state.package.arn,
            reasons.rollback_reason(state),
            clock.now(),
            state.started_at,
        )
    if state.teardown_error is not None and not state.leftovers and state.lock.status is LockStatus.ACQUIRED:
        state.leftovers = unconfirmed(state)  # Clean Up failed: name what it was to delete
    if state.lock.status is LockStatus.ACQUIRED or state.leftovers or state.inherited_from:
        # what is still left (its own and earlier rollouts') is kept under this rollout; earlier entries go
        table.put_leftovers(settings.table_name, endpoint, state.rollout_id, state.leftovers)
        for earlier in state.inherited_from:
            table.put_leftovers(settings.table_name, endpoint, earlier, [])
    released = table.release_lock(settings.table_name, endpoint, state.rollout_id)
    table.dequeue(settings.table_name, endpoint, state.rollout_id)
    table.unindex_package(settings.table_name, state.package.arn, state.rollout_id)
    if released or state.lock.status is LockStatus.ACQUIRED:
        state.lock.status = LockStatus.RELEASED
        state.message = f"released endpoint {endpoint}"
        if final_outcome(state) is Outcome.NEEDS_ATTENTION:
            state.message += f", held for a person until someone runs: rollout release {endpoint} --reason ..."
    if final_outcome(state) is Outcome.REJECTED and state.request.source is StartSource.EVENT:
        table.release_claim(settings.table_name, endpoint, state.package.arn, approval_key(state), state.rollout_id)
    return state
