"""SSM Parameter Store: the per-model-package-group policy documents (the Lambdas read them; the operator's
`rollout policy put` writes them). ``ssm``: a client of the caller's (an operator's session), else the shared one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated

if TYPE_CHECKING:  # request and response shapes checked by mypy (mypy-boto3-ssm: a dev dependency, not shipped)
    from mypy_boto3_ssm import SSMClient


def _ssm(ssm: SSMClient | None) -> SSMClient:
    found: SSMClient = ssm or client("ssm")
    return found


def get_parameter(name: str, ssm: SSMClient | None = None) -> str | None:
    """The parameter's value, or None when it does not exist."""
    with translated("ssm:GetParameter"):
        try:
            response = _ssm(ssm).get_parameter(Name=name, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
    return str(response["Parameter"]["Value"])


def put_parameter(name: str, value: str, ssm: SSMClient | None = None) -> None:
    """Write (or overwrite) a String parameter."""
    with translated("ssm:PutParameter"):
        _ssm(ssm).put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
