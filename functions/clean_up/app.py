"""Clean Up: delete what a rolled-back rollout created."""

from rollout.handler import state_step
from rollout.steps.rollback import clean_up

handler = state_step(clean_up)
