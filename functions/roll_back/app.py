"""Roll Back: one step toward the endpoint's exact pre-rollout configuration."""

from rollout.handler import state_step
from rollout.steps.rollback import roll_back

handler = state_step(roll_back)
