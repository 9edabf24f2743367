"""Why a strategy cannot run on an endpoint: checked before anything is created, so a refusal changes nothing.

A room because these are SageMaker's rules for each kind of endpoint (serverless, shadow variants, autoscaling,
Inf1, guardrail batch sizes) - including the way back: a rollout whose rollback SageMaker would refuse is refused.
"""

from __future__ import annotations

from rollout.frozen import frozen
from rollout.models.endpoint import EndpointSnapshot, VariantSnapshot
from rollout.models.policy import AbTest, AllAtOnce, BlueGreen, Capacity, Policy, Shadow, Size, Strategy
from rollout.plan.steps import shifts_traffic


@frozen
class LiveFeatures:
    """What the live config and models use that a shadow test excludes (read only when a shadow test runs)."""

    asynchronous: bool = False  # the config has AsyncInferenceConfig
    multi_container_models: tuple[str, ...] = ()  # models with several containers (pipelines, multi-container)
    multi_model_models: tuple[str, ...] = ()  # models with a MultiModel container


ALL_AT_ONCE_INSTEAD = "use strategy all_at_once (with bake_seconds to judge the new model before the rollout ends)"


def endpoint_refusal(
    strategy: Strategy,
    baseline: EndpointSnapshot,
    capacity: Capacity | None = None,
    features: LiveFeatures | None = None,
) -> str | None:
    """Why this strategy cannot run on this endpoint (checked before anything is created), or None.

    Every path must be one SageMaker accepts for the endpoint's kind, including the way back: a rollout whose
    rollback SageMaker would refuse is refused too.
    """
    if isinstance(strategy, (AbTest, Shadow)) and not baseline.exists:
        kind = "an A/B test" if isinstance(strategy, AbTest) else "a shadow test"
        return (
            f"endpoint {baseline.name} does not exist: {kind} compares the new model with a live one. "
            "Deploy the first model with strategy all_at_once."
        )
    if not baseline.exists:
        return None
    refusal = (
        _kind_refusal(strategy, baseline, capacity)
        or _scaling_refusal(strategy, baseline, capacity)
        or _shadow_variant_refusal(strategy, baseline)
    )
    if refusal:
        return refusal
    if isinstance(strategy, Shadow):
        return _shadow_refusal(baseline, features or LiveFeatures())
    if isinstance(strategy, BlueGreen):
        return _guardrail_refusal(strategy, baseline)
    return None


def _kind_refusal(strategy: Strategy, baseline: EndpointSnapshot, capacity: Capacity | None) -> str | None:
    """Serverless endpoints: one production variant, no shadow, no guardrails, no way to or back from instances."""
    serverless = [v.name for v in baseline.variants if v.serverless is not None]
    name = baseline.name
    if not serverless:
        if capacity is not None and capacity.serverless is not None:
            return (
                f"endpoint {name} is instance-based and SageMaker cannot update an instance-based endpoint to a "
                "serverless config (policy field 'capacity.serverless'): drop capacity.serverless, or deploy the "
                "serverless model to a new endpoint"
            )
        return None
    variant = serverless[0]
    if capacity is not None and (capacity.instance_type or capacity.instance_count):
        return (
            f"endpoint {name} is serverless (variant {variant}) and policy field 'capacity' asks for instances: "
            "SageMaker would update it to instances but never back to serverless, so a rollback could not restore "
            "it. Drop capacity.instance_type/instance_count (capacity.serverless may change the memory and "
            "concurrency), or deploy the instance-based model to a new endpoint"
        )
    if shifts_traffic(strategy, True):
        return (
            f"endpoint {name} is serverless (variant {variant}) and SageMaker's serverless endpoints hold a single "
            f"production variant, so strategy {strategy.type} cannot run the new model beside the live one: "
            f"{ALL_AT_ONCE_INSTEAD}"
        )
    if isinstance(strategy, Shadow):
        return (
            f"endpoint {name} is serverless (variant {variant}): SageMaker's shadow tests exclude serverless "
            f"endpoints (and a serverless config holds one variant): {ALL_AT_ONCE_INSTEAD}"
        )
    if isinstance(strategy, BlueGreen):
        how = (
            "rolling updates exclude serverless endpoints"
            if strategy.rolling is not None
            else ("SageMaker's deployment guardrails apply to real-time and asynchronous endpoints only")
        )
        return f"endpoint {name} is serverless (variant {variant}) and {how}: {ALL_AT_ONCE_INSTEAD}"
    return None


def first_deployment_refusal(policy: Policy) -> str | None:
    """A first deployment creates the endpoint, so the policy must say how large (checked before anything exists)."""
    capacity = policy.capacity
    if capacity is not None and (
        capacity.serverless is not None or (capacity.instance_type and capacity.instance_count)
    ):
        return None
    return (
        f"endpoint {policy.endpoint_name!r} does not exist yet (first deployment): policy field 'capacity' must give "
        "instance_type and instance_count, or serverless"
    )


def _shadow_variant_refusal(strategy: Strategy, baseline: EndpointSnapshot) -> str | None:
    """A config with a shadow variant holds exactly one production variant: the new model cannot join beside it."""
    if not baseline.shadow_variants or not shifts_traffic(strategy, True):
        return None
    shadows = ", ".join(v.name for v in baseline.shadow_variants)
    return (
        f"endpoint {baseline.name} runs shadow variant {shadows}, and SageMaker allows a shadow variant only beside "
        f"exactly one production variant, so strategy {strategy.type} cannot add the new model as a second one. End "
        "the shadow test first, or use all_at_once or blue_green (they keep the shadow variant as it is)"
    )


def _scaling_refusal(strategy: Strategy, baseline: EndpointSnapshot, capacity: Capacity | None) -> str | None:
    """An update in place may change an autoscaled variant's model, never its instance type."""
    in_place = isinstance(strategy, (AllAtOnce, BlueGreen))
    if not in_place or capacity is None or not capacity.instance_type:
        return None
    scaled = {s.variant for s in baseline.scaling}
    for variant in baseline.variants:
        if variant.name in scaled and variant.instance_type != capacity.instance_type:
            return (
                f"variant {variant.name} of {baseline.name} is registered with Application Auto Scaling and SageMaker "
                f"refuses an update that changes its instance type ({variant.instance_type} to "
                f"{capacity.instance_type}): deregister its scalable target first, drop capacity.instance_type, or "
                "use canary/linear (the new model gets a variant of its own)"
            )
    return None


def _shadow_refusal(baseline: EndpointSnapshot, features: LiveFeatures) -> str | None:
    """A shadow test needs exactly one production variant, no shadow yet, and none of the excluded features."""
    name = baseline.name
    instead = "use ab_test or canary instead"
    if baseline.shadow_variants:
        names = ", ".join(v.name for v in baseline.shadow_variants)
        return (
            f"endpoint {name} already runs shadow variant {names}: SageMaker allows one shadow. "
            "Finish that test first (roll out again with another strategy to replace it)."
        )
    if len(baseline.variants) != 1:
        return (
            f"endpoint {name} has {len(baseline.variants)} production variants; a shadow test "
            f"needs exactly one (SageMaker's ShadowProductionVariants rule). {instead.capitalize()}."
        )
    variant = baseline.variants[0]
    excluded = ""
    if features.asynchronous:
        excluded = "asynchronous endpoints (its config has AsyncInferenceConfig)"
    elif (variant.instance_type or "").startswith("ml.inf1."):
        excluded = f"Inf1 instances (variant {variant.name} runs on {variant.instance_type})"
    elif features.multi_container_models:
        excluded = f"multi-container endpoints (model {features.multi_container_models[0]} has several containers)"
    elif features.multi_model_models:
        excluded = f"multi-model endpoints (model {features.multi_model_models[0]} is MultiModel)"
    if excluded:
        return f"SageMaker's shadow tests exclude {excluded}: {instead}"
    return None


def _guardrail_refusal(strategy: BlueGreen, baseline: EndpointSnapshot) -> str | None:
    instead = "use strategy canary or linear, which shift weights between variants inside the endpoint"
    for variant in baseline.variants:
        if (variant.instance_type or "").startswith("ml.inf1."):  # SageMaker would silently drop the guardrails
            return (
                f"SageMaker's deployment guardrails do not support Inf1 instances (variant {variant.name} runs on "
                f"{variant.instance_type}) and would fall back to an all-at-once switch with no baking: {instead}"
            )
    if strategy.rolling is not None:
        if len(baseline.variants) != 1:
            return (
                f"rolling updates support single-variant endpoints only; {baseline.name} has "
                f"{len(baseline.variants)} variants: use blue_green with traffic_routing, or {instead.split('use ')[1]}"
            )
        return _size_refusal("max_batch_size", strategy.rolling.max_batch_size, baseline.variants[0], 5, 50)
    routing = strategy.routing
    for variant in baseline.variants:
        if routing.canary_size is not None:
            refusal = _size_refusal("canary_size", routing.canary_size, variant, 1, 50)
            if refusal:
                return refusal
        if routing.linear_step_size is not None:
            refusal = _size_refusal("linear_step_size", routing.linear_step_size, variant, 10, 50)
            if refusal:
                return refusal
    return None


def _size_refusal(name: str, size: Size, variant: VariantSnapshot, low: int, high: int) -> str | None:
    if size.type != "INSTANCE_COUNT" or variant.serverless is not None:
        return None
    count = variant.instance_count or 1
    share = 100 * size.value / count
    if low <= share <= high:
        return None
    return (
        f"{name}={size.value} instance(s) is {share:.0f}% of variant {variant.name}'s {count} instance(s); "
        f"SageMaker requires {low}% to {high}%"
        + (": scale the variant out first or use CAPACITY_PERCENT" if share > high else "")
    )
