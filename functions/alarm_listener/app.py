"""Alarm listener: a watched alarm went to ALARM - fail the waiting bake so the rollout rolls back within seconds."""

from rollout.handler import payload_step
from rollout.steps.watch import on_alarm

handler = payload_step(on_alarm)
