"""Release Lock: give the endpoint back."""

from rollout.handler import configured_step
from rollout.steps.lock import release_lock

handler = configured_step(release_lock)
