"""The emulated account before the start: the live endpoints (with their models, configs, live weights and
autoscaling) and the alarms, made through the real APIs as their owners would have made them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rollout_local.emulator.sagemaker import SageMakerEmulator
from rollout_local.emulator.world import World
from rollout_local.scenario import AutoscalingSpec, EndpointSpec, Scenario, VariantSpec, endpoint_name_of


def create_endpoints(
    specs: list[EndpointSpec],
    session: Any,
    sagemaker: SageMakerEmulator,
    role_arn: str,
    settle: Callable[[], None],
) -> None:
    """The live endpoints, made together: one settling wait for all of them, however many there are."""
    sm = session.client("sagemaker")
    for spec in specs:
        group = f"{spec.name}-baseline"  # the live models' package; scenarios key behaviours by it
        if group not in sagemaker.groups:
            sm.create_model_package_group(ModelPackageGroupName=group)
        package = sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Approved")[
            "ModelPackageArn"
        ]
        variants = []
        for variant in spec.variants:
            model = variant.model or f"{spec.name}-{variant.name}-model"
            if model not in sagemaker.models:
                sm.create_model(ModelName=model, ExecutionRoleArn=role_arn, Containers=[{"ModelPackageName": package}])
            variants.append(production_variant(variant, model))
        sm.create_endpoint_config(EndpointConfigName=spec.config, ProductionVariants=variants, **spec.config_extras)
        sm.create_endpoint(EndpointName=spec.name, EndpointConfigName=spec.config)
    if not specs:
        return
    settle()
    reweighted = [spec for spec in specs if spec.live_weights]
    for spec in reweighted:
        sm.update_endpoint_weights_and_capacities(
            EndpointName=spec.name,
            DesiredWeightsAndCapacities=[{"VariantName": v, "DesiredWeight": w} for v, w in spec.live_weights.items()],
        )
    if reweighted:
        settle()
    for spec in specs:
        if spec.status != "InService":
            sagemaker.endpoints[spec.name].status = spec.status
        for variant in spec.variants:
            if variant.autoscaling is not None:
                autoscale(session, spec.name, variant.name, variant.autoscaling)
        if spec.config_missing:
            sm.delete_endpoint_config(EndpointConfigName=spec.config)


def production_variant(variant: VariantSpec, model: str) -> dict[str, Any]:
    """A ProductionVariants entry for CreateEndpointConfig."""
    entry: dict[str, Any] = {"VariantName": variant.name, "ModelName": model, "InitialVariantWeight": variant.weight}
    if variant.serverless:
        entry["ServerlessConfig"] = {
            "MemorySizeInMB": variant.serverless.memory_size_mb,
            "MaxConcurrency": variant.serverless.max_concurrency,
        }
    else:
        entry["InstanceType"] = variant.instance_type or "ml.m5.xlarge"
        entry["InitialInstanceCount"] = variant.instance_count or 1
    return entry


def autoscale(session: Any, endpoint: str, variant: str, spec: AutoscalingSpec) -> None:
    """Register the variant with Application Auto Scaling and give it a target tracking policy."""
    aas = session.client("application-autoscaling")
    resource = f"endpoint/{endpoint}/variant/{variant}"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=spec.min_capacity,
        MaxCapacity=spec.max_capacity,
    )
    aas.put_scaling_policy(
        PolicyName=f"{variant}-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": spec.target_invocations_per_instance,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )


def create_alarms(scenario: Scenario, world: World) -> None:
    """The scenario's alarms; a metric alarm watches a variant of its endpoint (by default the scenario's)."""
    default = endpoint_name_of(scenario)
    by_endpoint: dict[str, list[Any]] = {}
    for alarm in scenario.alarms:
        endpoint = alarm.endpoint or default
        if endpoint or not alarm.metric:  # a metric alarm needs an endpoint to watch; a scripted one does not
            by_endpoint.setdefault(endpoint or "", []).append(alarm)
    for endpoint, specs in by_endpoint.items():
        world.create_alarms(endpoint, specs)
