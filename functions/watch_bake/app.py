"""Bake: register the callback task's token under the watched alarms; fail at once if one is in ALARM."""

from rollout.handler import payload_step
from rollout.steps.watch import watch_bake

handler = payload_step(watch_bake)
