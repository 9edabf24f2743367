"""The requests a rollout sends SageMaker: from the policy and the live endpoint to the configs and weights.

The new config keeps everything the live config had (variants, instance types, data capture, KMS, async
settings, shadow variants) except the model, and takes the live instance counts and weights so an
autoscaled endpoint does not shrink. The policy's ``capacity`` overrides what it names. A room because every
request shape lives here, apart from the decision of which steps to walk or whether to run at all.
"""

from __future__ import annotations

import copy
from typing import Any

from rollout.errors import PolicyError
from rollout.models.endpoint import EndpointSnapshot, VariantScaling, VariantSnapshot
from rollout.models.policy import Policy, Shadow

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
