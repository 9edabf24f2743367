"""What SageMaker has: an endpoint as described (before the rollout touched it, or at any later check) and what
the rollout expects to find on it.

A room because these are observations, not intent: the adapters fill them from DescribeEndpoint and Application
Auto Scaling, the plan and the refusals read them, and a rollback restores exactly what they recorded.
"""

from typing import Any

from pydantic import Field

from rollout.models.base import Frozen
from rollout.models.policy import ServerlessCapacity


class VariantSnapshot(Frozen):
    """One production variant as it is live: its model, weight and capacity."""

    name: str
    model_name: str
    weight: float
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: ServerlessCapacity | None = None


class VariantScaling(Frozen):
    """A variant's Application Auto Scaling target and policies (as their Put* requests take them)."""

    variant: str
    min_capacity: int
    max_capacity: int
    policies: list[dict[str, Any]] = Field(default_factory=list)


class EndpointSnapshot(Frozen):
    """An endpoint as described before the rollout touched it (the rollback target) or at any later check."""

    name: str
    exists: bool
    status: str | None = None
    config_name: str | None = None
    variants: tuple[VariantSnapshot, ...] = ()
    failure_reason: str | None = None
    pending_config_name: str | None = None
    shadow_variants: tuple[VariantSnapshot, ...] = Field(default=(), description="ShadowProductionVariants")
    deployment_stage: str | None = Field(default=None, description="a guardrail deployment's VariantStatus")
    scaling: tuple[VariantScaling, ...] = Field(default=(), description="autoscaled variants before the rollout")


class Expectation(Frozen):
    """The endpoint as this rollout last left it (or found it): any other config, weight or instance count is
    someone else's change."""

    config_name: str | None
    weights: dict[str, float] = Field(default_factory=dict)
    counts: dict[str, int] = Field(
        default_factory=dict, description="instance counts only the rollout sets (autoscaled variants are left out)"
    )
