"""Clean Up: delete what the rollout made and no longer needs, and earlier rollouts' leftovers."""

from rollout.handler import state_step
from rollout.steps.cleanup import clean_up

handler = state_step(clean_up)
