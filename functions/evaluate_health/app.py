"""Evaluate Health: one check of the step being baked, and what follows (bake on, next step, roll back)."""

from rollout.handler import configured_step
from rollout.steps.health import evaluate_health

handler = configured_step(evaluate_health)
