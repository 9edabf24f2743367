"""Acquire Endpoint Lock and Release Lock: one rollout per endpoint, and one rollout per approval."""

from __future__ import annotations

import json

from rollout import clock, continuation
from rollout.aws import table
from rollout.config import Settings
from rollout.decide import final_outcome
from rollout.models import LockStatus, Outcome, Phase, RolloutState, StartSource
from rollout.notifications import EventKind
from rollout.steps.announce import announce


def acquire_lock(state: RolloutState, settings: Settings) -> RolloutState:
    """Take the endpoint; report duplicate, busy (queue and retry) or refused (reject or queue timed out)."""
    now = clock.now()
    endpoint, package = state.endpoint_name, state.package.arn
    state.lock.attempts += 1
    if state.request.source is StartSource.EVENT:
        owner = table.claim_package(
            settings.table_name, endpoint, package, state.rollout_id, now, settings.dedupe_window_seconds
        )
        if owner != state.rollout_id:
            state.lock.status, state.lock.holder = LockStatus.DUPLICATE, owner
            state.outcome = Outcome.DUPLICATE
            state.reason = f"duplicate approval event: rollout {owner} already handles {package} on {endpoint}"
            state.message = state.reason
            return state
    holder = table.acquire_lock(
        settings.table_name, endpoint, state.rollout_id, package, now, settings.lock_lease_seconds
    )
    if holder is None:
        state.lock.status, state.lock.holder, state.phase = LockStatus.ACQUIRED, state.rollout_id, Phase.LOCKED
        table.put_record(
            settings.table_name, endpoint, state.started_at, state.rollout_id, record_fields(state, "running")
        )
        state.message = f"locked endpoint {endpoint}"
        announce(state, EventKind.STARTED, settings)
        return state
    state.lock.holder = holder.rollout_id
    busy = (
        f"endpoint {endpoint} is busy with rollout {holder.rollout_id} "
        f"({holder.package_arn}, since {holder.acquired_at})"
    )
    first = state.lock.first_tried_at or now
    state.lock.first_tried_at = first
    waited = int((now - first).total_seconds())
    if state.policy.on_busy == "reject":
        return _refuse(state, f"{busy}; policy on_busy=reject")
    if waited >= state.policy.queue_timeout_seconds:
        return _refuse(state, f"{busy}; gave up after queueing {waited} s (queue_timeout_seconds)")
    state.lock.status, state.phase = LockStatus.BUSY, Phase.WAITING_FOR_LOCK
    state.message = f"{busy}; queued for {waited} s, next try in {state.policy.lock_poll_seconds} s"
    continuation.offer(state, "lock", settings.continue_after_events)
    return state


def _refuse(state: RolloutState, reason: str) -> RolloutState:
    state.lock.status, state.outcome, state.reason, state.message = LockStatus.REFUSED, Outcome.REJECTED, reason, reason
    return state


def release_lock(state: RolloutState, settings: Settings) -> RolloutState:
    """Give the endpoint back. A refused rollout also drops its approval claim: it did nothing."""
    endpoint = state.endpoint_name
    if state.lock.status is LockStatus.ACQUIRED:
        table.clear_waiting(settings.table_name, endpoint, state.rollout_id)
        table.release_lock(settings.table_name, endpoint, state.rollout_id)
        state.lock.status = LockStatus.RELEASED
        state.message = f"released endpoint {endpoint}"
    if final_outcome(state) is Outcome.REJECTED and state.request.source is StartSource.EVENT:
        table.release_claim(settings.table_name, endpoint, state.package.arn, state.rollout_id)
    return state


def record_fields(state: RolloutState, outcome: str) -> dict[str, str | None]:
    """The rollout record's attributes (the table module adds the keys)."""
    return {
        "outcome": outcome,
        "reason": state.reason,
        "package_arn": state.package.arn,
        "package_group": state.package.group_name,
        "package_version": str(state.package.version) if state.package.version is not None else None,
        "strategy": state.policy.strategy.type,
        "source": state.request.source.value,
        "execution_arn": state.execution_arn,
        "started_at": state.started_at.isoformat(),
        "baseline_config": state.baseline.config_name if state.baseline else None,
        "target_config": state.target.config_name if state.target else None,
        "steps": json.dumps([r.model_dump(mode="json") for r in state.history]) if state.history else None,
        "experiment": state.experiment.model_dump_json() if state.experiment else None,
    }
