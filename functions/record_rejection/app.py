"""Record Rejection: the record and notification of a rollout refused before it began."""

from rollout.handler import payload_step
from rollout.steps.outcome import record_rejection

handler = payload_step(record_rejection)
