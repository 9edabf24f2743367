"""Shift Traffic: UpdateEndpointWeightsAndCapacities to the current step's weights."""

from rollout.handler import configured_step
from rollout.steps.traffic import shift_traffic

handler = configured_step(shift_traffic)
