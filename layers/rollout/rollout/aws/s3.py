"""S3: the captured requests a pre-traffic verification replays (SageMaker's data capture format)."""

from __future__ import annotations

import base64
import binascii
import json

from rollout.aws.clients import client, translated
from rollout.errors import VerificationSampleError
from rollout.frozen import frozen
from rollout.verification import Replayed, Reply


@frozen
class CapturedRequest:
    """One request as SageMaker captured it: the body and the content type the caller sent."""

    body: bytes
    content_type: str


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without a leading slash)."""
    if not uri.startswith("s3://"):
        raise VerificationSampleError(f"{uri!r} is not an s3:// URI")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.lstrip("/")


def _request_of(line: str, where: str) -> CapturedRequest | None:
    """The request of one capture line (None when the line captured no input)."""
    try:
        record = json.loads(line)
        captured = record["captureData"].get("endpointInput")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise VerificationSampleError(f"{where} is not in SageMaker's data capture format") from None
    if not isinstance(captured, dict):
        return None
    data, encoding = str(captured.get("data", "")), str(captured.get("encoding", ""))
    if encoding == "BASE64":
        try:
            body = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise VerificationSampleError(f"{where}: endpointInput.data is not valid base64") from None
    elif encoding in ("CSV", "JSON"):
        body = data.encode()
    else:
        raise VerificationSampleError(f"{where}: unknown endpointInput.encoding {encoding!r}")
    return CapturedRequest(body, str(captured.get("observedContentType") or "application/octet-stream"))


def captured_requests(uri: str, limit: int) -> list[CapturedRequest]:
    """Up to ``limit`` requests from the capture files (``.jsonl``) under ``uri``, newest files first."""
    bucket, prefix = split_uri(uri)
    s3 = client("s3")
    files: list[tuple[str, str]] = []
    with translated("s3:ListBucket"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            files += [
                (o["Key"], str(o["LastModified"])) for o in page.get("Contents", []) if o["Key"].endswith(".jsonl")
            ]
    found: list[CapturedRequest] = []
    for key, _ in sorted(files, key=lambda f: (f[0], f[1]), reverse=True):  # the key holds yyyy/mm/dd/hh/mm-ss
        with translated("s3:GetObject"):
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                request = _request_of(line, f"s3://{bucket}/{key} line {number}")
                if request is not None:
                    found.append(request)
                if len(found) >= limit:
                    return found
    return found


def _answered(line: str, where: str) -> tuple[bytes, Reply] | None:
    """(request body, the captured reply) of one capture line that holds both, else None."""
    request = _request_of(line, where)
    if request is None:
        return None
    output = json.loads(line)["captureData"].get("endpointOutput")
    if not isinstance(output, dict):
        return None
    data, encoding = str(output.get("data", "")), str(output.get("encoding", ""))
    body = base64.b64decode(data) if encoding == "BASE64" else data.encode()
    return request.body, Reply(body, str(output.get("observedContentType") or ""), 0.0)


def _variant_answers(bucket: str, prefix: str, limit: int) -> dict[bytes, Reply]:
    s3 = client("s3")
    found: dict[bytes, Reply] = {}
    keys: list[str] = []
    with translated("s3:ListBucket"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".jsonl")]
    for key in sorted(keys, reverse=True):
        with translated("s3:GetObject"):
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            pair = _answered(line, f"s3://{bucket}/{key} line {number}") if line.strip() else None
            if pair is not None:
                found.setdefault(pair[0], pair[1])
        if len(found) >= limit:
            break
    return found


def captured_pairs(destination: str, endpoint: str, production: str, shadow: str, limit: int) -> list[Replayed]:
    """Requests both ``production`` and ``shadow`` answered, paired by their body, from the endpoint's data capture
    (``<destination>/<endpoint>/<variant>/``), newest first, at most ``limit``."""
    bucket, prefix = split_uri(destination)
    base = f"{prefix.rstrip('/')}/{endpoint}" if prefix else endpoint
    produced = _variant_answers(bucket, f"{base}/{production}/", limit * 4)
    shadowed = _variant_answers(bucket, f"{base}/{shadow}/", limit)
    pairs = [Replayed(body, produced[body], reply) for body, reply in shadowed.items() if body in produced]
    return pairs[:limit]
