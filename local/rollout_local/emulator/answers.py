"""What emulated models answer, request by request: payloads, answers, and SageMaker's data capture records.

A scenario's model behaviour says how a model answers (``Answers``): its content type (``text/csv`` or
``application/json``, the two SageMaker's built-in containers use), whether it gives a label with its score, how
often it disagrees with the reference answer (``disagreement_rate``) and how far its scores move
(``score_shift``). Everything is a pure function of the request body, so the same request gets the same answer
from the same model every time - a replay compares like with like, as it would on AWS with deterministic models.

Data capture records follow SageMaker's format (Developer Guide, "Data capture" / "View collected data": JSON
Lines, one object per request with ``captureData.endpointInput`` / ``endpointOutput`` - ``observedContentType``,
``mode`` INPUT/OUTPUT, ``data``, ``encoding`` CSV, JSON or BASE64 - ``eventMetadata`` with ``eventId`` and
``inferenceTime``, and ``eventVersion`` "0"), in S3 under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``. A body is captured as text (CSV or
JSON) only when its content type is listed in ``CaptureContentTypeHeader``; otherwise SageMaker base64-encodes it
(DataCaptureConfig API reference: "If no headers are specified SageMaker AI will by default base64 encode").
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LABELS = ("stay", "churn")  # the reference model's two classes (score >= 0.5: churn)


class Answers(BaseModel):
    """How a model answers each request (the reference answer, moved by ``disagreement_rate`` and ``score_shift``)."""

    model_config = ConfigDict(extra="forbid")

    content_type: Literal["text/csv", "application/json"] = "text/csv"
    labels: bool = Field(default=True, description="answer a label with the score (False: the score alone)")
    disagreement_rate: float = Field(
        default=0.0, ge=0, le=1, description="share of requests answered with the other label (and 1 - the score)"
    )
    score_shift: float = Field(default=0.0, ge=-1, le=1, description="added to every score (clipped to 0..1)")


def stable_uuid(*parts: str) -> str:
    """A UUID fixed by ``parts`` (the simulation stays deterministic)."""
    return str(uuid.UUID(bytes=hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest(), version=4))


def _unit(*parts: str) -> float:
    """A number in [0, 1) fixed by ``parts`` (a stable hash: the same request, the same number)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def request_body(endpoint: str, index: int, content_type: str) -> bytes:
    """The ``index``-th request callers send to ``endpoint``: four features, in CSV or JSON."""
    features = [round(_unit(endpoint, str(index), str(k)) * 100, 3) for k in range(4)]
    if content_type == "application/json":
        return json.dumps({"instances": [features]}).encode()
    return ",".join(f"{f:g}" for f in features).encode()


def answer(answers: Answers, body: bytes) -> tuple[bytes, str]:
    """What a model with ``answers`` says to ``body``: (response body, content type)."""
    key = hashlib.sha256(body).hexdigest()
    score = _unit("score", key)
    if _unit("disagree", key) < answers.disagreement_rate:
        score = 1.0 - score  # the other side of 0.5: the other label
    score = min(1.0, max(0.0, score + answers.score_shift))
    label = LABELS[score >= 0.5]
    if answers.content_type == "application/json":
        record: dict[str, Any] = {"score": round(score, 6)}
        if answers.labels:
            record["predicted_label"] = label
        return json.dumps({"predictions": [record]}).encode(), answers.content_type
    text = f"{label},{score:.6f}" if answers.labels else f"{score:.6f}"
    return text.encode(), answers.content_type


def _captured(body: bytes, content_type: str, mode: str, headers: dict[str, Any]) -> dict[str, str]:
    kind = content_type.split(";", 1)[0].strip()
    if kind in headers.get("CsvContentTypes", []):
        encoding, data = "CSV", body.decode("utf-8", "replace")
    elif kind in headers.get("JsonContentTypes", []):
        encoding, data = "JSON", body.decode("utf-8", "replace")
    else:
        encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_record(
    config: dict[str, Any],
    request: bytes,
    request_type: str,
    response: bytes | None,
    response_type: str | None,
    at: datetime,
    event_id: str,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """One line of a capture file for ``config`` (the endpoint config's DataCaptureConfig)."""
    modes = {o.get("CaptureMode") for o in config.get("CaptureOptions", [])}
    headers = config.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if modes & {"Input", "InputAndOutput"}:
        data["endpointInput"] = _captured(request, request_type, "INPUT", headers)
    if response is not None and response_type is not None and modes & {"Output", "InputAndOutput"}:
        data["endpointOutput"] = _captured(response, response_type, "OUTPUT", headers)
    metadata = {"eventId": event_id, "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def capture_key(config: dict[str, Any], endpoint: str, variant: str, at: datetime, file_id: str) -> tuple[str, str]:
    """(bucket, key) of the capture file of ``variant`` written at ``at``."""
    uri = str(config["DestinationS3Uri"])
    rest = uri.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    name = f"{at:%M-%S-%f}"[:-3] + f"-{file_id}.jsonl"
    path = f"{endpoint}/{variant}/{at:%Y/%m/%d/%H}/{name}"
    return bucket, f"{prefix}/{path}" if prefix else path
