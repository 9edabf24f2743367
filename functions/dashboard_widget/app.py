"""Dashboard Widget: the CloudWatch custom widget listing running and recent rollouts (it reads; it never steers)."""

from rollout.handler import text_step
from rollout.steps.console import widget

handler = text_step(widget)
