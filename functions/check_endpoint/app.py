"""Check Endpoint: follow the update to InService and verify the endpoint serves the target."""

from rollout.handler import configured_step
from rollout.steps.deploy import check_endpoint

handler = configured_step(check_endpoint)
