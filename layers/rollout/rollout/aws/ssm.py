"""SSM Parameter Store: the per-model-package-group policy documents (the Lambdas read them; the operator's
`rollout policy put` writes them). ``ssm``: a client of the caller's (an operator's session), else the shared one."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated


def get_parameter(name: str, ssm: Any = None) -> str | None:
    """The parameter's value, or None when it does not exist."""
    with translated("ssm:GetParameter"):
        try:
            response = (ssm or client("ssm")).get_parameter(Name=name, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
    return str(response["Parameter"]["Value"])


def put_parameter(name: str, value: str, ssm: Any = None) -> None:
    """Write (or overwrite) a String parameter."""
    with translated("ssm:PutParameter"):
        (ssm or client("ssm")).put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
