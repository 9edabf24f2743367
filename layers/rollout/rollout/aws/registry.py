"""The SageMaker Model Registry: reading a model package's approval and metadata."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, error_message, translated
from rollout.errors import PackageNotFoundError
from rollout.models.request import ModelPackage


def describe_model_package(arn: str, sm: Any = None) -> ModelPackage:
    """The package, or PackageNotFoundError when the registry has no such version (``sm``: a client of the
    caller's, else the shared one)."""
    with translated("sagemaker:DescribeModelPackage"):
        try:
            described = (sm or client("sagemaker")).describe_model_package(ModelPackageName=arn)
        except ClientError as exc:
            if error_code(exc) in {"ValidationException", "ResourceNotFound"} and (
                "does not exist" in error_message(exc) or "Could not find" in error_message(exc)
            ):
                raise PackageNotFoundError(f"model package {arn} does not exist in the registry") from None
            raise
    return ModelPackage(
        arn=described["ModelPackageArn"],
        group_name=described.get("ModelPackageGroupName") or _group_from_arn(arn),
        version=described.get("ModelPackageVersion"),
        approval_status=described.get("ModelApprovalStatus", "PendingManualApproval"),
        metadata=described.get("CustomerMetadataProperties") or {},
        modified_by=_who(described.get("LastModifiedBy") or {}),
        modified_at=described.get("LastModifiedTime"),
        approval_description=described.get("ApprovalDescription") or None,
    )


def _who(user: dict[str, Any]) -> str | None:
    """A person's name from SageMaker's UserContext: the IAM identity, else the Studio user profile."""
    identity = user.get("IamIdentity") or {}
    return identity.get("Arn") or user.get("UserProfileName") or user.get("UserProfileArn") or None


def package_identity(arn: str) -> tuple[str, int | None] | None:
    """(group, version) of a package, None when the registry has no such package any more."""
    try:
        package = describe_model_package(arn)
    except PackageNotFoundError:
        return None
    return package.group_name, package.version


def _group_from_arn(arn: str) -> str:
    resource = arn.split(":", 5)[-1]  # model-package/<group>/<version>
    parts = resource.split("/")
    return parts[1] if len(parts) > 2 else parts[-1]


def reject_package(arn: str, reason: str) -> None:
    """Mark a package Rejected, with the rollback's reason as ApprovalDescription."""
    with translated("sagemaker:UpdateModelPackage"):
        client("sagemaker").update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription=approval_description(reason)
        )


def approval_description(reason: str) -> str:
    """``reason`` as SageMaker accepts an ApprovalDescription: at most 1024 characters matching the pattern
    ``.*``, which matches no line break (a person's multi-line abort reason would be refused)."""
    return " ".join(reason.split())[:1024]
