"""Steer Rollout: a person's approve, reject, abort or promote, as the steering API authenticated them."""

from rollout.handler import payload_step
from rollout.steps.steer import steer

handler = payload_step(steer)
