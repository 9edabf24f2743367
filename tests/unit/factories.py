"""Small builders for the pure types, so unit tests read like the situation they describe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rollout.models.endpoint import EndpointSnapshot, VariantSnapshot
from rollout.models.policy import Policy
from rollout.models.progress import Phase, RolloutState, Target
from rollout.models.request import ModelPackage, RolloutRequest, StartSource

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"


def snapshot(
    status: str = "InService",
    config: str | None = "churn-prod-config-v0",
    exists: bool = True,
    model: str = "old-model",
    pending: str | None = None,
    failure: str | None = None,
) -> EndpointSnapshot:
    if not exists:
        return EndpointSnapshot(name="churn-prod", exists=False)
    return EndpointSnapshot(
        name="churn-prod",
        exists=True,
        status=status,
        config_name=config,
        pending_config_name=pending,
        failure_reason=failure,
        variants=(
            VariantSnapshot(name="blue", model_name=model, weight=1.0, instance_type="ml.m5.xlarge", instance_count=2),
        ),
    )


def state(baseline: EndpointSnapshot | None = None, target: bool = True, **overrides: Any) -> RolloutState:
    baseline = baseline if baseline is not None else snapshot()
    fields: dict[str, Any] = {
        "rollout_id": "r-1",
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:r-1",
        "started_at": T0,
        "request": RolloutRequest(model_package_arn=PACKAGE_ARN, source=StartSource.EVENT),
        "package": ModelPackage(arn=PACKAGE_ARN, group_name="churn", version=3, approval_status="Approved"),
        "policy": Policy(endpoint_name="churn-prod"),
        "baseline": baseline,
        "update_started_at": T0,
        "phase": Phase.UPDATING,
    }
    if target:
        fields["target"] = Target(
            model_name="new-model", config_name="new-config", creates_endpoint=not baseline.exists
        )
    fields.update(overrides)
    return RolloutState(**fields)
