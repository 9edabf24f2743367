"""Pure planning: from the policy and the live endpoint to the EndpointConfig this rollout deploys.

The new config keeps everything the live config had (variants, instance types, data capture, KMS, async
settings, shadow variants) except the model, and takes the live instance counts and weights so an
autoscaled endpoint does not shrink. The policy's ``capacity`` overrides what it names.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rollout.errors import PolicyError
from rollout.models import (
    AbTest,
    AllAtOnce,
    BlueGreen,
    Canary,
    Capacity,
    EndpointSnapshot,
    Linear,
    Policy,
    Shadow,
    Size,
    Step,
    Steps,
    Strategy,
    VariantScaling,
    VariantSnapshot,
)

ConfigRequest = dict[str, Any]  # the keyword arguments of sagemaker.create_endpoint_config


def target_config(
    policy: Policy, baseline: EndpointSnapshot, baseline_config: ConfigRequest | None, model_name: str, config_name: str
) -> ConfigRequest:
    """The CreateEndpointConfig request that puts ``model_name`` on the endpoint."""
    if not baseline.exists or baseline_config is None:
        return _first_config(policy, model_name, config_name)
    request = copy.deepcopy(baseline_config)
    request["EndpointConfigName"] = config_name
    live = {v.name: v for v in baseline.variants}
    request["ProductionVariants"] = [
        _retarget(variant, live.get(variant["VariantName"]), policy, model_name)
        for variant in request["ProductionVariants"]
    ]
    return request


def _retarget(variant: dict[str, Any], live: VariantSnapshot | None, policy: Policy, model_name: str) -> dict[str, Any]:
    new = dict(variant, ModelName=model_name)
    if live is not None:
        new["InitialVariantWeight"] = live.weight
        if live.instance_count is not None and "InstanceType" in new:
            new["InitialInstanceCount"] = live.instance_count
    return _apply_capacity(new, policy)


def _apply_capacity(variant: dict[str, Any], policy: Policy) -> dict[str, Any]:
    capacity = policy.capacity
    if capacity is None:
        return variant
    if capacity.serverless is not None:
        for key in ("InstanceType", "InitialInstanceCount", "ManagedInstanceScaling", "RoutingConfig"):
            variant.pop(key, None)
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": capacity.serverless.memory_size_mb,
            "MaxConcurrency": capacity.serverless.max_concurrency,
        }
        return variant
    if capacity.instance_type or capacity.instance_count:
        variant.pop("ServerlessConfig", None)
        if capacity.instance_type:
            variant["InstanceType"] = capacity.instance_type
        if capacity.instance_count:
            variant["InitialInstanceCount"] = capacity.instance_count
        if "InstanceType" not in variant or "InitialInstanceCount" not in variant:
            raise PolicyError(
                "policy field 'capacity' must give both instance_type and instance_count when the live "
                f"variant {variant['VariantName']!r} is serverless"
            )
    return variant


def _first_config(policy: Policy, model_name: str, config_name: str) -> ConfigRequest:
    capacity = policy.capacity
    variant: dict[str, Any] = {"VariantName": policy.variant_name, "ModelName": model_name, "InitialVariantWeight": 1.0}
    if capacity is not None and capacity.serverless is not None:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": capacity.serverless.memory_size_mb,
            "MaxConcurrency": capacity.serverless.max_concurrency,
        }
    elif capacity is not None and capacity.instance_type and capacity.instance_count:
        variant["InstanceType"] = capacity.instance_type
        variant["InitialInstanceCount"] = capacity.instance_count
    else:
        raise PolicyError(
            f"endpoint {policy.endpoint_name!r} does not exist yet (first deployment): policy field 'capacity' "
            "must give instance_type and instance_count, or serverless"
        )
    return {"EndpointConfigName": config_name, "ProductionVariants": [variant]}


# --- traffic steps --------------------------------------------------------------------------------------


def expand(strategy: Strategy) -> tuple[Step, ...]:
    """The strategy as its explicit steps: canary and linear are shorthands for ``steps``."""
    if isinstance(strategy, AllAtOnce):
        return (Step(weight_percent=100, bake_seconds=strategy.bake_seconds),)
    if isinstance(strategy, BlueGreen):  # SageMaker shifts and bakes; one check once it is done
        return (Step(weight_percent=100, bake_seconds=0),)
    if isinstance(strategy, AbTest):
        return (Step(weight_percent=strategy.new_percent, bake_seconds=strategy.duration_seconds),)
    if isinstance(strategy, Shadow):  # the weight shown is the sampled copy; callers never see the shadow
        return (Step(weight_percent=strategy.sampling_percent, bake_seconds=strategy.duration_seconds),)
    if isinstance(strategy, Canary):
        return (
            Step(weight_percent=strategy.canary_percent, bake_seconds=strategy.bake_seconds),
            Step(weight_percent=100, bake_seconds=strategy.final_bake_seconds),
        )
    if isinstance(strategy, Linear):
        weights: list[float] = []
        k = 1
        while round(k * strategy.step_percent, 6) < 100:
            weights.append(round(k * strategy.step_percent, 6))
            k += 1
        weights.append(100)
        return tuple(Step(weight_percent=w, bake_seconds=strategy.interval_seconds) for w in weights)
    return strategy.steps


def shifts_traffic(strategy: Strategy, endpoint_exists: bool) -> bool:
    """True when the new model joins the live endpoint as a variant and takes traffic in steps."""
    return endpoint_exists and isinstance(strategy, (Canary, Linear, Steps, AbTest))


def plan_steps(strategy: Strategy, endpoint_exists: bool) -> tuple[Step, ...]:
    """The steps this rollout walks. A first deployment has nothing to shift from: one step, the last bake."""
    steps = expand(strategy)
    if shifts_traffic(strategy, endpoint_exists) or (endpoint_exists and isinstance(strategy, Shadow)):
        return steps
    return (Step(weight_percent=100, bake_seconds=steps[-1].bake_seconds),)


def describe_plan(strategy: Strategy, steps: tuple[Step, ...]) -> str:
    """The plan as a person should read it. Blue/green is not "100% for 0 s": SageMaker's deployment guardrails
    shift all the traffic and bake each shift themselves (with their auto-rollback alarms), and this service
    judges the new model once when they are done. A shadow's share is a copy of the requests, not traffic."""
    if isinstance(strategy, BlueGreen):
        if strategy.rolling is not None:
            rolling = strategy.rolling
            shifted = (
                f"a rolling update by SageMaker's guardrails: the new fleet replaces the old in batches of "
                f"{rolling.max_batch_size.shown()}, each baked {rolling.wait_interval_seconds} s"
            )
        else:
            routing = strategy.routing
            if routing.type == "CANARY" and routing.canary_size is not None:
                moves = f"first {_capacity(routing.canary_size)}, then the rest"
            elif routing.type == "LINEAR" and routing.linear_step_size is not None:
                moves = f"in steps of {_capacity(routing.linear_step_size)}"
            else:
                moves = "all at once"
            shifted = (
                f"blue/green by SageMaker's guardrails: all the traffic shifted to the new fleet ({moves}), each "
                f"shift baked {routing.wait_interval_seconds} s"
            )
            if strategy.termination_wait_seconds:
                shifted += f", the old fleet kept {strategy.termination_wait_seconds} s more"
        return f"{shifted}, rolled back on its alarms; then one check of the new model"
    if isinstance(strategy, Shadow) and steps:
        return f"{steps[0].weight_percent:g}% of requests copied to the shadow for {steps[0].bake_seconds} s"
    return " -> ".join(f"{s.weight_percent:g}%/{s.bake_seconds}s" for s in steps)


def _capacity(size: Size) -> str:
    return f"{size.shown()} of the capacity" if size.type == "CAPACITY_PERCENT" else size.shown()


def largest_variant(baseline: EndpointSnapshot, baseline_config: ConfigRequest) -> dict[str, Any]:
    """The baseline variant that serves the most (live instances, then live weight; the first in the config on a
    tie), as its config entry with its live instance count."""
    live = {v.name: v for v in baseline.variants}

    def size(spec: dict[str, Any]) -> tuple[int, float]:
        current = live.get(spec["VariantName"])
        count = current.instance_count if current and current.instance_count is not None else None
        weight = current.weight if current else spec.get("InitialVariantWeight", 1.0)
        return (count if count is not None else spec.get("InitialInstanceCount", 0), weight)

    variants: list[dict[str, Any]] = baseline_config["ProductionVariants"]
    chosen = max(variants, key=size)
    largest = dict(chosen)
    current = live.get(largest["VariantName"])
    if current is not None and current.instance_count is not None and "InstanceType" in largest:
        largest["InitialInstanceCount"] = current.instance_count
    return largest


def new_variant_spec(
    policy: Policy, baseline: EndpointSnapshot, baseline_config: ConfigRequest, model_name: str, variant_name: str
) -> dict[str, Any]:
    """The new model's variant, shaped like the largest baseline variant (its live count) unless the policy says
    otherwise."""
    largest = largest_variant(baseline, baseline_config)
    spec = {k: v for k, v in largest.items() if k not in ("VariantName", "ModelName", "InitialVariantWeight")}
    spec = {"VariantName": variant_name, "ModelName": model_name, "InitialVariantWeight": 0.0, **spec}
    return _apply_capacity(spec, policy)


def shift_config(
    policy: Policy,
    baseline: EndpointSnapshot,
    baseline_config: ConfigRequest,
    model_name: str,
    variant_name: str,
    config_name: str,
) -> ConfigRequest:
    """The live variants exactly as they are (live weights and counts) plus the new variant at weight 0."""
    request = copy.deepcopy(baseline_config)
    request["EndpointConfigName"] = config_name
    live = {v.name: v for v in baseline.variants}
    kept = []
    for variant in request["ProductionVariants"]:
        current = live.get(variant["VariantName"])
        if current is not None:
            variant["InitialVariantWeight"] = current.weight
            if current.instance_count is not None and "InstanceType" in variant:
                variant["InitialInstanceCount"] = current.instance_count
        kept.append(variant)
    new = new_variant_spec(policy, baseline, baseline_config, model_name, variant_name)
    request["ProductionVariants"] = [*kept, new]
    return request


def promote_config(
    policy: Policy, baseline: EndpointSnapshot, baseline_config: ConfigRequest, model_name: str, config_name: str
) -> ConfigRequest:
    """The end state of a traffic shift or a test: the endpoint's settings with the new model alone, in a variant
    that keeps the name of the largest baseline variant - the name users' alarms, dashboards and clients
    (``TargetVariant``) already use - sized like it (live count) unless the policy's capacity says otherwise."""
    request = copy.deepcopy(baseline_config)
    request["EndpointConfigName"] = config_name
    name = largest_variant(baseline, baseline_config)["VariantName"]
    variant = new_variant_spec(policy, baseline, baseline_config, model_name, name)
    variant["InitialVariantWeight"] = 1.0
    request["ProductionVariants"] = [variant]
    return request


def promotion_scaling(
    baseline: EndpointSnapshot, promoted: str, instance_type_changes: bool
) -> tuple[list[str], VariantScaling | None]:
    """What a promotion does to Application Auto Scaling: the autoscaled baseline variants to deregister before the
    update (SageMaker refuses an update that removes a registered variant or changes its instance type; changing
    its model is allowed), and the scaling the promoted variant gets once the update has settled (None when it
    keeps its own registration, or no baseline variant was autoscaled)."""
    if not baseline.scaling:
        return [], None
    own = next((s for s in baseline.scaling if s.variant == promoted), None)
    release = [s.variant for s in baseline.scaling if s.variant != promoted or instance_type_changes]
    if own is not None and not instance_type_changes:
        return release, None
    counts = {v.name: v.instance_count or 0 for v in baseline.variants}
    model = own or max(baseline.scaling, key=lambda s: counts.get(s.variant, 0))
    return release, model.model_copy(update={"variant": promoted})


def step_weights(baseline: EndpointSnapshot, new_variant: str, weight_percent: float) -> list[dict[str, Any]]:
    """DesiredWeightsAndCapacities for one step: the new variant gets ``weight_percent`` of traffic and the
    baseline variants share the rest in their original proportions."""
    total = sum(v.weight for v in baseline.variants) or 1.0
    rest = 100.0 - weight_percent
    weights = [{"VariantName": v.name, "DesiredWeight": round(v.weight / total * rest, 6)} for v in baseline.variants]
    return [*weights, {"VariantName": new_variant, "DesiredWeight": float(weight_percent)}]


def live_capacities(baseline: EndpointSnapshot) -> list[dict[str, Any]]:
    """DesiredWeightsAndCapacities that give every baseline variant its exact pre-rollout live weight and, for
    instance-based variants, live instance count (an UpdateEndpoint to the old config brings back the config's
    InitialInstanceCount, not what autoscaling or a person had set live)."""
    return [
        {"VariantName": v.name, "DesiredWeight": v.weight}
        | ({"DesiredInstanceCount": v.instance_count} if v.instance_count is not None else {})
        for v in baseline.variants
    ]


def baseline_weights(baseline: EndpointSnapshot, new_variant: str) -> list[dict[str, Any]]:
    """DesiredWeightsAndCapacities that cut the new variant off and give the baseline its exact weights back."""
    return [
        *({"VariantName": v.name, "DesiredWeight": v.weight} for v in baseline.variants),
        {"VariantName": new_variant, "DesiredWeight": 0.0},
    ]


# --- shadow tests ---------------------------------------------------------------------------------------


def shadow_config(
    policy: Policy,
    strategy: Shadow,
    baseline: EndpointSnapshot,
    baseline_config: ConfigRequest,
    model_name: str,
    variant_name: str,
    config_name: str,
) -> ConfigRequest:
    """The live production variant exactly as it is, plus the new model as its shadow. The shadow's weight
    relative to the production variant's is the share of requests SageMaker copies to it."""
    request = shift_config(policy, baseline, baseline_config, model_name, variant_name, config_name)
    *production, shadow = request["ProductionVariants"]
    shadow["InitialVariantWeight"] = round(production[0]["InitialVariantWeight"] * strategy.sampling_percent / 100, 6)
    if strategy.instance_count is not None and "InstanceType" in shadow:
        shadow["InitialInstanceCount"] = strategy.instance_count
    request["ProductionVariants"] = production
    request["ShadowProductionVariants"] = [shadow]
    return request


def without_shadows(config: ConfigRequest) -> ConfigRequest:
    request = copy.deepcopy(config)
    request.pop("ShadowProductionVariants", None)
    return request


# --- SageMaker deployment guardrails --------------------------------------------------------------------


def _capacity_size(size: Size) -> dict[str, Any]:
    return {"Type": size.type, "Value": size.value}


def deployment_config(strategy: BlueGreen, alarms: tuple[str, ...]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig for the policy's blue/green or rolling update."""
    config: dict[str, Any] = {}
    if strategy.rolling is not None:
        rolling = strategy.rolling
        policy: dict[str, Any] = {
            "MaximumBatchSize": _capacity_size(rolling.max_batch_size),
            "WaitIntervalInSeconds": rolling.wait_interval_seconds,
            "MaximumExecutionTimeoutInSeconds": strategy.max_execution_timeout_seconds,
        }
        if rolling.rollback_max_batch_size is not None:
            policy["RollbackMaximumBatchSize"] = _capacity_size(rolling.rollback_max_batch_size)
        config["RollingUpdatePolicy"] = policy
    else:
        routing = strategy.routing
        traffic: dict[str, Any] = {"Type": routing.type, "WaitIntervalInSeconds": routing.wait_interval_seconds}
        if routing.canary_size is not None:
            traffic["CanarySize"] = _capacity_size(routing.canary_size)
        if routing.linear_step_size is not None:
            traffic["LinearStepSize"] = _capacity_size(routing.linear_step_size)
        blue_green: dict[str, Any] = {
            "TrafficRoutingConfiguration": traffic,
            "MaximumExecutionTimeoutInSeconds": strategy.max_execution_timeout_seconds,
        }
        if strategy.termination_wait_seconds is not None:
            blue_green["TerminationWaitInSeconds"] = strategy.termination_wait_seconds
        config["BlueGreenUpdatePolicy"] = blue_green
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config


# --- what each strategy needs of the endpoint -----------------------------------------------------------


@dataclass(frozen=True)
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
