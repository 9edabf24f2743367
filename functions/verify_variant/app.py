"""Verify New Variant: replay captured requests to the new variant and the baseline before it gets traffic."""

from rollout.handler import configured_step
from rollout.steps.verify import verify_new_variant

handler = configured_step(verify_new_variant)
