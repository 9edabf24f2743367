"""Pure planning: from the policy and the live endpoint to the EndpointConfig this rollout deploys.

The new config keeps everything the live config had (variants, instance types, data capture, KMS, async
settings, shadow variants) except the model, and takes the live instance counts and weights so an
autoscaled endpoint does not shrink. The policy's ``capacity`` overrides what it names.
"""

from __future__ import annotations

import copy
from typing import Any

from rollout.errors import PolicyError
from rollout.models import AllAtOnce, Canary, EndpointSnapshot, Linear, Policy, Step, Strategy, VariantSnapshot

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
    return endpoint_exists and not isinstance(strategy, AllAtOnce)


def plan_steps(strategy: Strategy, endpoint_exists: bool) -> tuple[Step, ...]:
    """The steps this rollout walks. A first deployment has nothing to shift from: one step, the last bake."""
    steps = expand(strategy)
    if shifts_traffic(strategy, endpoint_exists):
        return steps
    return (Step(weight_percent=100, bake_seconds=steps[-1].bake_seconds),)


def new_variant_spec(
    policy: Policy, baseline_config: ConfigRequest, model_name: str, variant_name: str
) -> dict[str, Any]:
    """The new model's variant, shaped like the largest baseline variant unless the policy says otherwise."""
    largest = max(
        baseline_config["ProductionVariants"],
        key=lambda v: (v.get("InitialInstanceCount", 0), v.get("InitialVariantWeight", 1.0)),
    )
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
    request["ProductionVariants"] = [*kept, new_variant_spec(policy, baseline_config, model_name, variant_name)]
    return request


def promote_config(
    policy: Policy, baseline_config: ConfigRequest, model_name: str, variant_name: str, config_name: str
) -> ConfigRequest:
    """The end state of a traffic shift: the endpoint's settings with the new variant alone."""
    request = copy.deepcopy(baseline_config)
    request["EndpointConfigName"] = config_name
    variant = new_variant_spec(policy, baseline_config, model_name, variant_name)
    variant["InitialVariantWeight"] = 1.0
    request["ProductionVariants"] = [variant]
    return request


def step_weights(baseline: EndpointSnapshot, new_variant: str, weight_percent: float) -> list[dict[str, Any]]:
    """DesiredWeightsAndCapacities for one step: the new variant gets ``weight_percent`` of traffic and the
    baseline variants share the rest in their original proportions."""
    total = sum(v.weight for v in baseline.variants) or 1.0
    rest = 100.0 - weight_percent
    weights = [{"VariantName": v.name, "DesiredWeight": round(v.weight / total * rest, 6)} for v in baseline.variants]
    return [*weights, {"VariantName": new_variant, "DesiredWeight": float(weight_percent)}]


def baseline_weights(baseline: EndpointSnapshot, new_variant: str) -> list[dict[str, Any]]:
    """DesiredWeightsAndCapacities that cut the new variant off and give the baseline its exact weights back."""
    return [
        *({"VariantName": v.name, "DesiredWeight": v.weight} for v in baseline.variants),
        {"VariantName": new_variant, "DesiredWeight": 0.0},
    ]
