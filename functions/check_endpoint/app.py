"""Check Endpoint: follow the update to InService and verify the endpoint serves the target."""

from rollout.handler import state_step
from rollout.steps.deploy import check_endpoint

handler = state_step(check_endpoint)
