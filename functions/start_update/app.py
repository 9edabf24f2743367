"""Start Update: UpdateEndpoint (or CreateEndpoint) to the target config."""

from rollout.handler import state_step
from rollout.steps.deploy import start_update

handler = state_step(start_update)
