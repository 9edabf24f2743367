"""Pure planning: from the policy and the live endpoint to the EndpointConfig this rollout deploys.

The new config keeps everything the live config had (variants, instance types, data capture, KMS, async
settings, shadow variants) except the model, and takes the live instance counts and weights so an
autoscaled endpoint does not shrink. The policy's ``capacity`` overrides what it names.
"""

from __future__ import annotations

import copy
from typing import Any

from rollout.errors import PolicyError
from rollout.models import EndpointSnapshot, Policy, VariantSnapshot

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
