"""Prepare Target: the Model from the package and the EndpointConfig that serves it."""

from rollout.handler import configured_step
from rollout.steps.target import prepare_target

handler = configured_step(prepare_target)
