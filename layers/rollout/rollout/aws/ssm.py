"""SSM Parameter Store: the per-model-package-group policy documents."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated


def get_parameter(name: str) -> str | None:
    """The parameter's value, or None when it does not exist."""
    with translated("ssm:GetParameter"):
        try:
            response = client("ssm").get_parameter(Name=name, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
    return str(response["Parameter"]["Value"])
