"""Which endpoint features SageMaker does not combine, and the call at which it refuses them.

From SageMaker's documentation:
- Serverless Inference excludes multiple production variants, data capture, multi-model endpoints, inference
  pipelines (several containers), VPC configuration and network isolation (older versions of the page also list
  KMS keys; the emulator is strict and refuses them too). An instance-based endpoint cannot be updated to a
  serverless config (ValidationError); a serverless endpoint can be updated to instances, not back.
- Shadow tests exclude serverless, asynchronous, multi-container, multi-model, Inf1 and Elastic Inference
  endpoints ("your request to setup shadow tests will lead to validation errors").
- Elastic Inference (``AcceleratorType``) is no longer available (botocore: "This parameter is no longer
  supported").
- Application Auto Scaling: an UpdateEndpoint that changes the instance type of a variant registered as a
  scalable target fails (changing only its model is allowed); so does one that removes such a variant.

Where AWS does not say which call refuses a combination that a config alone shows, the emulator refuses at
CreateEndpointConfig (the earlier call); what needs the live endpoint is refused at UpdateEndpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Model = dict[str, Any]


def _serverless(variant: dict[str, Any]) -> bool:
    return "ServerlessConfig" in variant


def _model_features(model: Model, containers_of: Callable[[dict[str, Any]], int]) -> list[str]:
    """What a model brings that some endpoint kinds exclude."""
    containers = model.get("Containers", [])
    features = []
    if sum(containers_of(c) for c in containers) > 1:
        features.append("multiple containers (an inference pipeline or multi-container model)")
    if any(c.get("Mode") == "MultiModel" for c in containers):
        features.append("a multi-model container (Mode MultiModel)")
    if model.get("VpcConfig"):
        features.append("a VPC configuration")
    if model.get("EnableNetworkIsolation"):
        features.append("network isolation")
    return features


def config_refusal(
    config: dict[str, Any], models: dict[str, Model], containers_of: Callable[[dict[str, Any]], int]
) -> str | None:
    """Why SageMaker refuses this CreateEndpointConfig request for its combination of features, or None."""
    variants = config.get("ProductionVariants", [])
    shadows = config.get("ShadowProductionVariants", [])
    everything = [*variants, *shadows]
    for variant in everything:
        if variant.get("AcceleratorType"):
            return (
                f"Variant {variant['VariantName']} specifies AcceleratorType: Elastic Inference is no longer "
                "available and AcceleratorType is no longer supported."
            )
    serverless = [v["VariantName"] for v in everything if _serverless(v)]
    if serverless:
        if len(everything) > 1:
            return (
                "Serverless endpoints support a single production variant: an endpoint configuration with a "
                f"ServerlessConfig (variant {serverless[0]}) cannot have {len(everything)} variants."
            )
        if config.get("DataCaptureConfig"):
            return "DataCaptureConfig is not supported for serverless endpoints."
        if config.get("KmsKeyId"):
            return "KmsKeyId is not supported for serverless endpoints."
        model = models.get(everything[0]["ModelName"], {})
        features = _model_features(model, containers_of)
        if features:
            return f"Serverless endpoints do not support models with {features[0]} (model {model['ModelName']})."
    if shadows:
        if config.get("AsyncInferenceConfig"):
            return "Shadow variants are not supported for asynchronous inference endpoints (AsyncInferenceConfig)."
        for variant in everything:
            if str(variant.get("InstanceType", "")).startswith("ml.inf1."):
                return (
                    f"Shadow variants are not supported on Inf1 instances (variant {variant['VariantName']} uses "
                    f"{variant['InstanceType']})."
                )
            model = models.get(variant["ModelName"], {})
            features = [f for f in _model_features(model, containers_of) if f.startswith(("multiple", "a multi-model"))]
            if features:
                return (
                    f"Shadow variants are not supported for endpoints with {features[0]} "
                    f"(variant {variant['VariantName']}, model {model['ModelName']})."
                )
    return None


def update_refusal(
    endpoint: str,
    live: dict[str, Any],
    new: dict[str, Any],
    scalable: Callable[[str], bool],
) -> str | None:
    """Why SageMaker refuses UpdateEndpoint from the ``live`` config to the ``new`` one, or None."""
    live_variants = {v["VariantName"]: v for v in live.get("ProductionVariants", [])}
    new_variants = {v["VariantName"]: v for v in new.get("ProductionVariants", [])}
    if not any(_serverless(v) for v in live_variants.values()) and any(_serverless(v) for v in new_variants.values()):
        return (
            f"Endpoint {endpoint} is instance-based and cannot be updated to a serverless endpoint configuration "
            f"({new['EndpointConfigName']})."
        )
    removed = sorted(v for v in live_variants if v not in new_variants and scalable(v))
    if removed:
        return (
            f"The variant(s) {removed} of endpoint {endpoint} are registered with Application Auto Scaling; "
            "deregister them before an update removes them."
        )
    for name, variant in sorted(live_variants.items()):
        kept = new_variants.get(name)
        if kept is None or not scalable(name):
            continue
        before = variant.get("InstanceType", "serverless")
        after = kept.get("InstanceType", "serverless")
        if before != after:
            return (
                f"Variant {name} of endpoint {endpoint} is registered with Application Auto Scaling: an update "
                f"cannot change its instance type ({before} to {after}); deregister it as a scalable target first."
            )
    return None
