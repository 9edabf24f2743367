"""SageMaker Runtime: one request to a named variant (InvokeEndpoint with TargetVariant), timed."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rollout import clock
from rollout.aws.clients import client, error_code, error_message, translated
from rollout.verification import Reply

# A model's own failure (its container answered an error) is the model's verdict, not the service's: it becomes
# the reply's error. Anything else (no permission, no such endpoint or variant, throttling) stops the replay.
MODEL_ERRORS = frozenset({"ModelError", "ModelNotReadyException"})


def invoke_variant(endpoint: str, variant: str, body: bytes, content_type: str) -> Reply:
    """Send ``body`` to ``variant`` of ``endpoint`` (whatever its weight) and return its reply, timed in ms
    (the round trip, measured on the service's clock)."""
    started = clock.now()
    with translated("sagemaker:InvokeEndpoint"):
        try:
            response = client("sagemaker-runtime").invoke_endpoint(
                EndpointName=endpoint, TargetVariant=variant, Body=body, ContentType=content_type
            )
        except ClientError as exc:
            if error_code(exc) not in MODEL_ERRORS:
                raise
            elapsed = (clock.now() - started).total_seconds() * 1000.0
            return Reply(b"", "", elapsed, f"{error_code(exc)}: {error_message(exc)}")
        answer = response["Body"].read()
    elapsed = (clock.now() - started).total_seconds() * 1000.0
    return Reply(answer, str(response.get("ContentType") or content_type), elapsed)
