"""Promote: UpdateEndpoint to the config with the new variant alone."""

from rollout.handler import state_step
from rollout.steps.traffic import promote

handler = state_step(promote)
