"""Endpoint listener: SageMaker says an endpoint changed - wake the rollout waiting for it (Check Endpoint looks)."""

from rollout.handler import payload_step
from rollout.steps.endpoint_wait import on_endpoint_event

handler = payload_step(on_endpoint_event)
