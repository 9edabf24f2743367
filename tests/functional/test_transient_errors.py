"""What the adapters make of an AWS failure: transient ones (retried by the state machine, never a verdict) and the
rest. Network timeouts cannot be injected as scenario faults, so they are raised here directly."""

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from rollout.aws.clients import translated
from rollout.errors import AwsServiceError, AwsUnavailableError, ThrottledError


def client_error(code, status):
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (client_error("InternalFailure", 500), AwsUnavailableError),
        (client_error("SomethingNew", 502), AwsUnavailableError),
        (client_error("ServiceUnavailable", 503), AwsUnavailableError),
        (client_error("ThrottlingException", 400), ThrottledError),
        (client_error("AccessDeniedException", 400), AwsServiceError),
        (client_error("ValidationException", 400), AwsServiceError),
        (ReadTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com"), AwsUnavailableError),
        (ConnectTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com"), AwsUnavailableError),
        (EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com"), AwsUnavailableError),
    ],
    ids=["500", "502-unknown-code", "503", "throttling", "access-denied", "validation", "read", "connect", "refused"],
)
def test_aws_failures_become_the_services_errors(raised, expected):
    with pytest.raises(expected) as caught, translated("sagemaker:DescribeEndpoint"):
        raise raised
    assert type(caught.value) is expected
    assert str(caught.value).startswith("sagemaker:DescribeEndpoint")
