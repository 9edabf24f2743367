"""How we talk to SageMaker endpoints: snapshots, models, configs, updates. Everything idempotent by name."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, error_message, translated
from rollout.decide import TRANSITIONAL
from rollout.errors import EndpointConfigNotFoundError
from rollout.models.endpoint import EndpointSnapshot, VariantSnapshot
from rollout.models.policy import ServerlessCapacity
from rollout.plan.configs import ConfigRequest

_NOT_FOUND = "Could not find"  # SageMaker answers a missing resource with ValidationException "Could not find ..."


def _sm() -> Any:
    return client("sagemaker")


def _is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in {"ValidationException", "ResourceNotFound"} and _NOT_FOUND in error_message(exc)


def _describe(operation: str, sm: Any = None, **kwargs: str) -> dict[str, Any] | None:
    """Call a Describe* operation (on ``sm``, a client of the caller's, else the shared one); ``None`` when the
    resource does not exist."""
    with translated(f"sagemaker:{operation}"):
        try:
            response: dict[str, Any] = getattr(sm or _sm(), operation)(**kwargs)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
    return response


def describe_endpoint(name: str, sm: Any = None) -> dict[str, Any] | None:
    """DescribeEndpoint; None when there is no such endpoint (``sm``: a client of the caller's)."""
    return _describe("describe_endpoint", sm, EndpointName=name)


def endpoint_status(name: str) -> str | None:
    """The endpoint's EndpointStatus now (None when it does not exist)."""
    described = describe_endpoint(name)
    return None if described is None else str(described.get("EndpointStatus", ""))


def describe_endpoint_config(name: str) -> dict[str, Any] | None:
    return _describe("describe_endpoint_config", EndpointConfigName=name)


def describe_model(name: str) -> dict[str, Any] | None:
    return _describe("describe_model", ModelName=name)


def snapshot(name: str, variants_while_busy: bool = True) -> EndpointSnapshot:
    """The endpoint as it is live: status, config, and per variant its model, weight and capacity.

    With ``variants_while_busy=False`` an endpoint in a transitional status is described without its
    variants (one call instead of two), which is all a poll during an update needs.
    """
    endpoint = describe_endpoint(name)
    if endpoint is None:
        return EndpointSnapshot(name=name, exists=False)
    config_name = endpoint.get("EndpointConfigName")
    status = endpoint.get("EndpointStatus")
    summary = endpoint.get("PendingDeploymentSummary") or {}
    pending = summary.get("EndpointConfigName")
    stages = [
        f"{v['VariantName']} {s['Status']}" + (f" ({s['StatusMessage']})" if s.get("StatusMessage") else "")
        for v in summary.get("ProductionVariants", [])
        for s in v.get("VariantStatus", [])[-1:]
    ]
    variants: tuple[VariantSnapshot, ...] = ()
    shadows: tuple[VariantSnapshot, ...] = ()
    if variants_while_busy or status not in TRANSITIONAL:
        config = describe_endpoint_config(config_name) if config_name else None
        if config is None:
            raise EndpointConfigNotFoundError(
                f"endpoint {name} runs on EndpointConfig {config_name}, which no longer exists: there would be "
                "nothing to roll back to. Recreate it (or update the endpoint to an existing config) first."
            )
        live = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
        variants = tuple(_variant(spec, live.get(spec["VariantName"], {})) for spec in config["ProductionVariants"])
        live_shadows = {v["VariantName"]: v for v in endpoint.get("ShadowProductionVariants", [])}
        shadows = tuple(
            _variant(spec, live_shadows.get(spec["VariantName"], {}))
            for spec in config.get("ShadowProductionVariants", [])
        )
    return EndpointSnapshot(
        name=name,
        exists=True,
        status=status,
        config_name=config_name,
        variants=variants,
        failure_reason=endpoint.get("FailureReason") or None,
        pending_config_name=pending,
        shadow_variants=shadows,
        deployment_stage="; ".join(stages) or None,
    )


def _variant(spec: dict[str, Any], live: dict[str, Any]) -> VariantSnapshot:
    serverless = live.get("CurrentServerlessConfig") or spec.get("ServerlessConfig")
    return VariantSnapshot(
        name=spec["VariantName"],
        model_name=spec["ModelName"],
        weight=float(live.get("CurrentWeight", spec.get("InitialVariantWeight", 1.0))),
        instance_type=spec.get("InstanceType"),
        instance_count=live.get("CurrentInstanceCount", spec.get("InitialInstanceCount")),
        serverless=(
            ServerlessCapacity(
                memory_size_mb=serverless["MemorySizeInMB"], max_concurrency=serverless["MaxConcurrency"]
            )
            if serverless
            else None
        ),
    )


def config_request(config_name: str) -> ConfigRequest | None:
    """An existing EndpointConfig as a CreateEndpointConfig request (only the members that operation takes)."""
    described = describe_endpoint_config(config_name)
    if described is None:
        return None
    accepted = _sm().meta.service_model.operation_model("CreateEndpointConfig").input_shape.members
    return {key: value for key, value in described.items() if key in accepted}


def capture_destination(config_name: str) -> str | None:
    """The DestinationS3Uri of a config's data capture, when it captures requests."""
    described = describe_endpoint_config(config_name)
    capture = (described or {}).get("DataCaptureConfig") or {}
    modes = {option.get("CaptureMode") for option in capture.get("CaptureOptions", [])}
    if not capture or capture.get("EnableCapture") is False or not modes & {"Input", "InputAndOutput"}:
        return None
    return str(capture["DestinationS3Uri"])


def model_package_of(model_name: str) -> str | None:
    """The registry package a model was created from (its first container's ModelPackageName), if any."""
    model = _describe("describe_model", ModelName=model_name)
    if model is None:
        return None
    containers = model.get("Containers") or ([model["PrimaryContainer"]] if model.get("PrimaryContainer") else [])
    for container in containers:
        if container.get("ModelPackageName"):
            return str(container["ModelPackageName"])
    return None


def ensure_model(name: str, package_arn: str, role_arn: str, tags: list[dict[str, str]]) -> bool:
    """Create the Model from a registry package unless it exists. True when this call created it."""
    if describe_model(name) is not None:
        return False
    with translated("sagemaker:CreateModel"):
        _sm().create_model(
            ModelName=name, ExecutionRoleArn=role_arn, Containers=[{"ModelPackageName": package_arn}], Tags=tags
        )
    return True


def ensure_endpoint_config(request: ConfigRequest, tags: list[dict[str, str]]) -> bool:
    """Create the EndpointConfig unless one of that name exists. True when this call created it."""
    if describe_endpoint_config(request["EndpointConfigName"]) is not None:
        return False
    with translated("sagemaker:CreateEndpointConfig"):
        _sm().create_endpoint_config(**{**request, "Tags": tags})
    return True


def update_endpoint(name: str, config_name: str, deployment_config: dict[str, Any] | None = None) -> None:
    """UpdateEndpoint; with a DeploymentConfig, SageMaker's guardrails (blue/green or rolling) carry it."""
    extra = {"DeploymentConfig": deployment_config} if deployment_config else {}
    with translated("sagemaker:UpdateEndpoint"):
        _sm().update_endpoint(EndpointName=name, EndpointConfigName=config_name, **extra)


def update_weights(name: str, weights: list[dict[str, Any]]) -> None:
    """UpdateEndpointWeightsAndCapacities: the fast path for traffic shifts and for cutting traffic."""
    with translated("sagemaker:UpdateEndpointWeightsAndCapacities"):
        _sm().update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=weights)


def create_endpoint(name: str, config_name: str, tags: list[dict[str, str]]) -> None:
    with translated("sagemaker:CreateEndpoint"):
        _sm().create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tags)


def delete_endpoint(name: str) -> None:
    with translated("sagemaker:DeleteEndpoint"):
        _sm().delete_endpoint(EndpointName=name)


def delete_endpoint_config(name: str) -> bool:
    """Delete a config; False when it was already gone."""
    with translated("sagemaker:DeleteEndpointConfig"):
        try:
            _sm().delete_endpoint_config(EndpointConfigName=name)
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
    return True


def delete_model(name: str) -> bool:
    """Delete a model; False when it was already gone."""
    with translated("sagemaker:DeleteModel"):
        try:
            _sm().delete_model(ModelName=name)
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
    return True
