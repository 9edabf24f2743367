"""Application Auto Scaling for endpoint variants: read a variant's scaling, copy it to another, remove it.

SageMaker refuses an UpdateEndpoint that removes a variant still registered as a scalable target, so a
promotion deregisters the baseline variants first, and gives the new variant an equivalent target and
policies; a rollback gives the baseline its scaling back.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated
from rollout.models.endpoint import VariantScaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_KEYS = ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")


def _aas() -> Any:
    return client("application-autoscaling")


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def variant_scaling(endpoint: str, variants: list[str]) -> list[VariantScaling]:
    """The scalable targets and policies of those variants that have any."""
    if not variants:
        return []
    ids = [resource_id(endpoint, v) for v in variants]
    with translated("application-autoscaling:DescribeScalableTargets"):
        targets = _aas().describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=ids, ScalableDimension=DIMENSION
        )["ScalableTargets"]
    found = []
    for target in targets:
        variant = target["ResourceId"].rsplit("/", 1)[-1]
        with translated("application-autoscaling:DescribeScalingPolicies"):
            policies = _aas().describe_scaling_policies(
                ServiceNamespace=NAMESPACE, ResourceId=target["ResourceId"], ScalableDimension=DIMENSION
            )["ScalingPolicies"]
        found.append(
            VariantScaling(
                variant=variant,
                min_capacity=target["MinCapacity"],
                max_capacity=target["MaxCapacity"],
                policies=[{k: p[k] for k in ("PolicyName", "PolicyType", *POLICY_KEYS) if k in p} for p in policies],
            )
        )
    return found


def apply_scaling(endpoint: str, variant: str, scaling: VariantScaling) -> None:
    """Register ``variant`` with the target and policies of ``scaling`` (idempotent)."""
    rid = resource_id(endpoint, variant)
    with translated("application-autoscaling:RegisterScalableTarget"):
        _aas().register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=rid,
            ScalableDimension=DIMENSION,
            MinCapacity=scaling.min_capacity,
            MaxCapacity=scaling.max_capacity,
        )
    for policy in scaling.policies:
        with translated("application-autoscaling:PutScalingPolicy"):
            _aas().put_scaling_policy(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, **policy)


def remove_scaling(endpoint: str, variant: str) -> bool:
    """Delete the variant's policies and deregister it. False when it was not registered."""
    rid = resource_id(endpoint, variant)
    with translated("application-autoscaling:DescribeScalingPolicies"):
        policies = _aas().describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )["ScalingPolicies"]
    for policy in policies:
        with translated("application-autoscaling:DeleteScalingPolicy"):
            _aas().delete_scaling_policy(
                PolicyName=policy["PolicyName"], ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
            )
    with translated("application-autoscaling:DeregisterScalableTarget"):
        try:
            _aas().deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION)
        except ClientError as exc:
            if error_code(exc) in {"ObjectNotFoundException", "ValidationException"}:
                return False
            raise
    return True
