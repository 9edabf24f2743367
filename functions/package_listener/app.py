"""Package listener: a model package lost its approval - its running rollouts roll back."""

from rollout.handler import payload_step
from rollout.steps.revocation import on_package_change

handler = payload_step(on_package_change)
