"""Roll Back: one step toward the endpoint's exact pre-rollout configuration."""

from rollout.handler import configured_step
from rollout.steps.rollback import roll_back_step

handler = configured_step(roll_back_step)
