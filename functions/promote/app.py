"""Promote: UpdateEndpoint to the config with the new variant alone."""

from rollout.handler import configured_step
from rollout.steps.traffic import promote

handler = configured_step(promote)
