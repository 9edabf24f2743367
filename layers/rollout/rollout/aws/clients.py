"""boto3 clients with standard retries, created lazily, one per service, and the ClientError translation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from rollout.errors import AwsServiceError, AwsUnavailableError, ThrottledError

if TYPE_CHECKING:  # each service's request and response shapes, checked by mypy (mypy-boto3-*: dev only, not shipped)
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient

# Standard mode, not adaptive: adaptive is experimental in botocore and keeps per-process client-side rate
# state that a Lambda making a handful of calls gains nothing from. Throttling that outlasts these attempts
# surfaces as ThrottledError and the state machine retries it with jittered backoff, at no Lambda cost.
# ``total_max_attempts`` counts the first attempt; botocore reads a retries ``max_attempts`` as retries (5 -> 6 calls).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, user_agent_extra="sagemaker-rollout")
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)
# Server-side errors botocore's standard mode retries (besides any HTTP 5xx): they say "not now", not "no".
SERVER_ERROR_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

_clients: dict[str, Any] = {}
_creating = threading.Lock()  # a client is made once, even when several threads ask at once (local mode)


@overload
def client(service: Literal["application-autoscaling"]) -> ApplicationAutoScalingClient: ...
@overload
def client(service: Literal["cloudwatch"]) -> CloudWatchClient: ...
@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sagemaker"]) -> SageMakerClient: ...
@overload
def client(service: Literal["sagemaker-runtime"]) -> SageMakerRuntimeClient: ...
@overload
def client(service: Literal["sns"]) -> SNSClient: ...
@overload
def client(service: Literal["ssm"]) -> SSMClient: ...
@overload
def client(service: Literal["stepfunctions"]) -> SFNClient: ...
def client(service: str) -> Any:
    """The shared client for ``service``, made on first use (never at import: a cold start pays only for the
    clients its handler calls)."""
    found = _clients.get(service)
    if found is None:
        with _creating:
            found = _clients.get(service)
            if found is None:
                found = _clients[service] = boto3.client(service, config=RETRY_CONFIG)
    return found


def reset() -> None:
    """Forget every client (the simulator calls this when it starts a new emulated world)."""
    _clients.clear()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def http_status(exc: ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else 0


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn an uninterpreted AWS failure into one of the service's errors, naming the action: throttling
    (ThrottledError) and server errors or no answer (AwsUnavailableError) are transient and retried by the state
    machine; anything else is AwsServiceError."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in THROTTLING_CODES:
            raise ThrottledError(f"{action} was throttled: {error_message(exc)}") from exc
        if code in SERVER_ERROR_CODES or http_status(exc) >= 500:
            raise AwsUnavailableError(f"{action} failed: {code}: {error_message(exc)}") from exc
        raise AwsServiceError(f"{action} failed: {code}: {error_message(exc)}") from exc
    except (BotoConnectionError, HTTPClientError) as exc:  # timeouts, refused or dropped connections
        raise AwsUnavailableError(f"{action} got no answer: {exc}") from exc
