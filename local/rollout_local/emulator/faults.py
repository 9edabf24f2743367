"""Scenario faults: an AWS error instead of a call, or a SageMaker operation that ends badly.

A fault applies to the workflow's calls only - the calls a handler makes, which ``LocalAws`` knows - never to
the simulator's setup, the world ticker or the operator CLI. It is checked when the scenario loads, against
botocore's models: an API the service does not have, an unknown key, or an endpoint status SageMaker does not
have is refused with a one-line error instead of being ignored.

Errors are answered as the service would answer them, with the HTTP status botocore's retry logic reads:
server errors (``InternalFailure`` 500, ``ServiceUnavailable`` 503) and throttling are retried by botocore's
standard mode (5 attempts in all), so a fault of at most 4 calls never reaches the service's code; an
``AccessDenied``/``AccessDeniedException`` is worded and coded as IAM denies a call of that service's protocol.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ACCOUNT = "123456789012"

# The services local mode can be asked about, by the name boto3 takes; a fault may name a service by that name
# or by the name the report's api_calls use (botocore's service id: ``sfn``, ``eventbridge``, ...).
KNOWN_SERVICES = (
    "sagemaker",
    "sagemaker-runtime",
    "dynamodb",
    "cloudwatch",
    "sns",
    "ssm",
    "events",
    "stepfunctions",
    "lambda",
    "application-autoscaling",
    "iam",
    "sts",
    "logs",
    "kms",
    "s3",
    "cloudformation",
)

# HTTP statuses of the errors a fault may inject; any other code is a client error (400). botocore's standard
# retry mode retries 500/502/503/504 and the throttling codes; nothing else.
SERVER_ERRORS = {
    "InternalFailure": 500,
    "InternalServerError": 500,
    "InternalServerException": 500,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
}
THROTTLING_ERRORS = {
    "ThrottlingException": 400,
    "Throttling": 400,
    "ThrottledException": 400,
    "TooManyRequestsException": 429,
    "ProvisionedThroughputExceededException": 400,
    "RequestLimitExceeded": 400,
    "RequestThrottled": 400,
    "SlowDown": 503,
}
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})

# What each SageMaker operation can be made to end in (DescribeEndpoint's EndpointStatus after it):
# Failed - the operation fails; InService - SageMaker reverts it (FailureReason set); Creating/Updating - it
# never finishes; UpdateRollbackFailed - a guarded update fails and so does SageMaker's own rollback.
OUTCOMES = {
    "CreateEndpoint": frozenset({"Failed", "Creating"}),
    "UpdateEndpoint": frozenset({"Failed", "InService", "Updating", "UpdateRollbackFailed"}),
    "UpdateEndpointWeightsAndCapacities": frozenset({"Failed", "InService", "Updating"}),
}
DEFAULT_FAILURE_REASON = "The primary container for production variant failed the ping health check."
# IAM's action prefix where it differs from botocore's service id
IAM_PREFIXES = {"sfn": "states", "eventbridge": "events", "application-auto-scaling": "application-autoscaling"}


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def _service_model(name: str) -> Any:
    return _session().get_service_model(name)


@functools.cache
def _service_names() -> dict[str, str]:
    """Every accepted spelling of a known service (boto3 name and botocore service id) -> boto3 name."""
    names: dict[str, str] = {}
    for name in KNOWN_SERVICES:
        names[name] = name
        names[_service_model(name).service_id.hyphenize()] = name
    return names


def resolve_api(api: str) -> str:
    """``service:Operation`` checked against botocore's model, as the report's api_calls name it."""
    service, _, operation = api.partition(":")
    if not service or not operation:
        raise ValueError(f"fault api {api!r} must be service:Operation, e.g. sagemaker:UpdateEndpoint")
    name = _service_names().get(service)
    if name is None:
        if service not in _session().get_available_services():
            known = ", ".join(sorted({_service_model(n).service_id.hyphenize() for n in KNOWN_SERVICES}))
            raise ValueError(f"fault api {api!r}: botocore has no service {service!r} (local mode knows {known})")
        name = service
    model = _service_model(name)
    if operation not in model.operation_names:
        raise ValueError(f"fault api {api!r}: {name} has no operation {operation!r} in botocore's model")
    return f"{model.service_id.hyphenize()}:{operation}"


def endpoint_statuses() -> frozenset[str]:
    """SageMaker's EndpointStatus values, from botocore's model."""
    return frozenset(_service_model("sagemaker").shape_for("EndpointStatus").enum)


class Fault(BaseModel):
    """A scenario's fault: an API error instead of the call, or an endpoint operation that ends badly."""

    model_config = ConfigDict(extra="forbid")

    api: str = Field(description="service:Operation as botocore names it, e.g. sagemaker:UpdateEndpoint")
    error: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9.]*$",
        description="answer with this AWS error code instead of calling the API (InternalFailure, "
        "ServiceUnavailable, ThrottlingException, AccessDeniedException, ValidationException, ...)",
    )
    message: str | None = Field(default=None, description="the error's message (AWS-like by default)")
    endpoint_status_after: str | None = Field(
        default=None,
        description="Failed: the operation fails; InService: SageMaker reverts to the old config; "
        "Updating/Creating: it never finishes; UpdateRollbackFailed: a guarded update fails and so does its "
        "rollback",
    )
    failure_reason: str = Field(default=DEFAULT_FAILURE_REASON, description="DescribeEndpoint's FailureReason")
    duration_seconds: int | None = Field(default=None, ge=1, description="the operation takes this long instead")
    times: int = Field(default=1, ge=1, description="how many matching calls the fault affects")
    after_calls: int = Field(default=0, ge=0, description="let this many matching calls through first")

    @field_validator("api")
    @classmethod
    def _known_api(cls, api: str) -> str:
        return resolve_api(api)

    @model_validator(mode="after")
    def _does_one_thing(self) -> Fault:
        operation = self.api.partition(":")[2]
        changes_outcome = self.endpoint_status_after is not None or self.duration_seconds is not None
        if self.error is not None and changes_outcome:
            raise ValueError(
                f"fault on {self.api}: 'error' answers instead of calling the API, so 'endpoint_status_after' "
                "and 'duration_seconds' could never apply; give one or the other"
            )
        if self.error is None and not changes_outcome:
            raise ValueError(
                f"fault on {self.api} does nothing: give 'error', 'endpoint_status_after' or 'duration_seconds'"
            )
        if changes_outcome and (not self.api.startswith("sagemaker:") or operation not in OUTCOMES):
            raise ValueError(
                f"fault on {self.api}: 'endpoint_status_after' and 'duration_seconds' apply to "
                f"{', '.join(f'sagemaker:{o}' for o in OUTCOMES)} only"
            )
        status = self.endpoint_status_after
        if status is not None and status not in endpoint_statuses():
            raise ValueError(
                f"fault on {self.api}: SageMaker has no endpoint status {status!r} "
                f"(it has {', '.join(sorted(endpoint_statuses()))})"
            )
        if status is not None and status not in OUTCOMES[operation]:
            raise ValueError(
                f"fault on {self.api}: endpoint_status_after {status!r} cannot follow {operation} "
                f"(choose from {', '.join(sorted(OUTCOMES[operation]))})"
            )
        return self

    def applies_to(self, params: dict[str, Any]) -> bool:
        """Whether this call is one the fault is about: a failed rollback needs SageMaker's guardrails."""
        if self.endpoint_status_after == "UpdateRollbackFailed":
            return bool(params.get("DeploymentConfig"))
        return True


class Faults:
    """A scenario's faults, each counting the workflow's calls it matches (thread-safe)."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self._faults = [(fault, [0]) for fault in faults]
        self._lock = threading.Lock()

    def _take(self, api: str, params: dict[str, Any], errors: bool) -> Fault | None:
        hit: Fault | None = None
        with self._lock:
            for fault, seen in self._faults:
                if fault.api != api or (fault.error is not None) != errors or not fault.applies_to(params):
                    continue
                seen[0] += 1
                if hit is None and fault.after_calls < seen[0] <= fault.after_calls + fault.times:
                    hit = fault
        return hit

    def error_for(self, api: str) -> Fault | None:
        """The fault that answers this call with an error instead of making it, if any."""
        return self._take(api, {}, errors=True)

    def outcome_for(self, api: str, params: dict[str, Any]) -> Fault | None:
        """The fault that decides how this accepted SageMaker operation ends, if any."""
        return self._take(api, params, errors=False)


def _protocol(service: str) -> str:
    """How the service speaks: ``query`` (and query-compatible), ``json`` or ``rest-json``."""
    model = _service_model(_service_names().get(service, service))
    if model.protocol == "query" or model.metadata.get("awsQueryCompatible") is not None:
        return "query"
    return str(model.protocol)


def fault_response(request: Any, fault: Fault, principal: str) -> AWSResponse:
    """The error response AWS would send for ``fault`` on this request, made by ``principal`` (a function)."""
    assert fault.error is not None
    service, _, operation = fault.api.partition(":")
    code, status = fault.error, SERVER_ERRORS.get(fault.error) or THROTTLING_ERRORS.get(fault.error, 400)
    message = fault.message
    if code in ACCESS_DENIED:
        # IAM's denial as each protocol carries it: AccessDenied (403) for query services, AccessDeniedException
        # for JSON ones (400; 403 over rest-json)
        protocol = _protocol(service)
        code = "AccessDenied" if protocol == "query" else "AccessDeniedException"
        status = 400 if protocol == "json" else 403
        action = f"{IAM_PREFIXES.get(service, service)}:{operation}"
        message = message or (
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{principal}-role/{principal} is not authorized to perform: "
            f"{action} because no identity-based policy allows the {action} action"
        )
    return error_response(request, code, message or f"{code} (injected by the scenario)", status)


def error_response(
    request: Any, code: str, message: str, status: int, extra_headers: dict[str, str] | None = None
) -> AWSResponse:
    """An AWS error response in the request's protocol (XML for the query protocol, JSON otherwise)."""
    content_type = str(request.headers.get("Content-Type", ""))
    if "x-www-form-urlencoded" in content_type:  # query protocol (SNS, IAM, STS): an XML error
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        if request.headers.get("x-amzn-query-mode"):  # a query-compatible JSON service (CloudWatch)
            headers["x-amzn-query-error"] = f"{code};{'Receiver' if status >= 500 else 'Sender'}"
    headers["x-amzn-RequestId"] = str(uuid.uuid4())  # AWS answers every request with one (moto's interpreter reads it)
    return AWSResponse(request.url, status, {**headers, **(extra_headers or {})}, MockRawResponse(body))
