"""Acquire Endpoint Lock: one rollout per endpoint, one per approval."""

from rollout.handler import configured_step
from rollout.steps.lock import acquire_lock

handler = configured_step(acquire_lock)
