"""Wait For Endpoint: register the callback task's token for the endpoint's events; end it at once if settled."""

from rollout.handler import payload_step
from rollout.steps.endpoint_wait import wait_endpoint

handler = payload_step(wait_endpoint)
