"""Resolve Rollout: the execution input -> a checked RolloutState (or a rejection)."""

from rollout.handler import payload_step
from rollout.steps.resolve import resolve_rollout

handler = payload_step(resolve_rollout)
