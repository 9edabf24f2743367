"""Snapshot Endpoint: with the lock held, record the endpoint as it was before the rollout (the rollback target)."""

from rollout.handler import state_step
from rollout.steps.baseline import snapshot_endpoint

handler = state_step(snapshot_endpoint)
