"""The model registry as people use it: register versions, approve or reject them, change their metadata.

Changes made through ``announce=True`` (the scenario's timeline) are announced the way SageMaker announces them:
a ``SageMaker Model Package State Change`` event on EventBridge for every change, registration included, with
the package's state at that moment (SageMaker may send one change more than once: ``duplicates``). Setup before
the start is silent. The registry also knows which models are "new" (made from a package the scenario approved)
and how each model behaves.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rollout_local.emulator.sagemaker import ACCOUNT, REGION, SageMakerEmulator
from rollout_local.emulator.world import Behaviour

EVENT_IDS = uuid.UUID("6f1d2c7e-3b1a-4c55-9d7e-1a2b3c4d5e6f")  # namespace of the simulated events' ids
CONTAINER = {
    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest",
    "ModelDataUrl": "s3://models/{group}/model.tar.gz",
}


class Registry:
    """Model package groups and versions, through the SageMaker API (``setup`` and ``outside`` are clients)."""

    def __init__(
        self,
        sagemaker: SageMakerEmulator,
        setup: Any,
        outside: Any,
        now: Callable[[], datetime],
        publish: Callable[[dict[str, Any]], None],
    ) -> None:
        self.sagemaker = sagemaker
        self.setup, self.outside = setup, outside
        self.now = now
        self.publish = publish
        self.approved: set[str] = set()  # packages the scenario approved: their models are the "new" ones
        self.behaviours: dict[str, list[Behaviour]] = {}
        self._events = 0
        self._lock = threading.Lock()

    def create_package(
        self, group: str, status: str = "Approved", metadata: dict[str, str] | None = None, announce: bool = False
    ) -> str:
        """Register a version (PendingManualApproval) and set ``status``, as a data scientist would."""
        sm = self.outside if announce else self.setup
        if group not in self.sagemaker.groups:
            sm.create_model_package_group(ModelPackageGroupName=group)
        container = {k: v.format(group=group) for k, v in CONTAINER.items()}
        arn: str = sm.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties=metadata or {"owner": "ml-platform"},
        )["ModelPackageArn"]
        self.approved.add(arn)
        if announce:
            self.announce(arn)
            if status != "PendingManualApproval":
                self.set_status(arn, status)
        elif status != "PendingManualApproval":
            self.setup.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        return arn

    def set_status(self, arn: str, status: str, description: str = "", duplicates: int = 0) -> None:
        """UpdateModelPackage(ModelApprovalStatus), announced."""
        update: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
        if description:
            update["ApprovalDescription"] = description
        self.outside.update_model_package(**update)
        if status == "Approved":
            self.approved.add(arn)
        self.announce(arn, duplicates)

    def update_metadata(self, arn: str, metadata: dict[str, str]) -> None:
        """UpdateModelPackage(CustomerMetadataProperties), not announced by itself (see ``announce``)."""
        self.outside.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=metadata)

    def announce(self, arn: str, duplicates: int = 0) -> str:
        """SageMaker's state change event for the package as it is now; returns its approval status."""
        described = self.outside.describe_model_package(ModelPackageName=arn)
        with self._lock:
            self._events += 1
            event_id = str(uuid.uuid5(EVENT_IDS, f"{arn}#{self._events}"))  # the same scenario, the same ids
        event = package_state_change(described, self.now(), event_id)
        for _ in range(1 + duplicates):
            self.publish(event)
        return str(described.get("ModelApprovalStatus"))

    def arn(self, ref: str) -> str:
        """The ARN of ``group/version``."""
        group, _, version = ref.rpartition("/")
        for arn, package in list(self.sagemaker.packages.items()):
            if package["ModelPackageGroupName"] == group and str(package["ModelPackageVersion"]) == version:
                return arn
        raise LookupError(f"package {ref} is not registered")

    def ref(self, arn: str | None) -> str | None:
        """``group/version`` of a package ARN (None if unknown)."""
        found = self.sagemaker.packages.get(arn or "")
        return f"{found['ModelPackageGroupName']}/{found['ModelPackageVersion']}" if found else None

    def behaviour_of(self, model_name: str) -> tuple[list[Behaviour], bool]:
        """How a model answers: by its name, its package's group/version, its group, then 'new' or 'baseline'.
        Also whether it is a model the scenario approved (whose failed answers count as served by the new model)."""
        model = self.sagemaker.models.get(model_name, {})
        arns = [str(c.get("ModelPackageName", "")) for c in model.get("Containers", [])]
        is_new = any(arn in self.approved for arn in arns)
        keys = [model_name]
        for arn in arns:
            ref = self.ref(arn)
            if ref is not None:
                keys += [ref, ref.rpartition("/")[0]]
        keys.append("new" if is_new else "baseline")
        return next((self.behaviours[k] for k in keys if k in self.behaviours), []), is_new


def package_state_change(described: dict[str, Any], now: datetime, event_id: str) -> dict[str, Any]:
    """``SageMaker Model Package State Change`` as SageMaker emits it, from DescribeModelPackage's answer."""
    detail: dict[str, Any] = {}
    for key in (
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageName",
        "CreationTime",
        "LastModifiedTime",
        "InferenceSpecification",
        "ModelPackageStatus",
        "ModelApprovalStatus",
        "ApprovalDescription",
        "CustomerMetadataProperties",
    ):
        value = described.get(key)
        if isinstance(value, datetime):  # epoch milliseconds, as in the documented example
            value = int(value.timestamp() * 1000)
        if value not in (None, {}, ""):
            detail[key] = value
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [described["ModelPackageArn"]],
        "detail": detail,
    }
