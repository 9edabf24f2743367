"""Shift Traffic: UpdateEndpointWeightsAndCapacities to the current step's weights."""

from rollout.handler import state_step
from rollout.steps.traffic import shift_traffic

handler = state_step(shift_traffic)
