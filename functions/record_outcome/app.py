"""Record Outcome: the rollout record and the notification."""

from rollout.handler import configured_step
from rollout.steps.outcome import record_outcome

handler = configured_step(record_outcome)
