"""What a service checks on its side before it acts on a request, as local mode answers it.

botocore validates required members, types and minimums client-side; the service checks the rest: every
``max`` length or value, ``pattern`` and ``enum`` of its model (``model_refusal``), and documented limits the
models do not carry (``service_refusal``): SNS subjects (fewer than 100 characters, no line breaks or control
characters) and messages (256 KB), DynamoDB items (400 KB), EventBridge ``PutEvents`` entries (256 KB in all),
Step Functions payload bytes (256 KiB), Lambda's 6 MB synchronous request. A refusal carries the service's
own error code and message shape.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex  # type: ignore[import-untyped]  # no stubs; used only to compile Java-style patterns

from rollout_local.emulator.limits import LAMBDA_PAYLOAD_BYTES, PAYLOAD_BYTES, utf8_size, within_payload_quota

SNS_SUBJECT_CHARACTERS = 99  # "less than 100 characters long"
SNS_MESSAGE_BYTES = 256 * 1024
DYNAMODB_ITEM_BYTES = 400 * 1024
EVENTBRIDGE_ENTRIES_BYTES = 256 * 1024


@dataclass(frozen=True)
class Refusal:
    """A request the service refuses: the error code, message and HTTP status it answers with."""

    code: str
    message: str
    status: int = 400


def _validation_code(service: str, protocol: str, query_compatible: bool) -> str:
    """The error code a service answers a constraint violation with (query services, and JSON/CBOR services that
    keep their query error codes such as CloudWatch, say ValidationError; SNS says InvalidParameter)."""
    if service == "sns":
        return "InvalidParameter"
    return "ValidationError" if protocol in ("query", "ec2") or query_compatible else "ValidationException"


# Java writes a supplementary-plane range as a surrogate pair range; Python as the code points themselves.
_JAVA_SUPPLEMENTARY = ("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF")


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    """The model's (Java) pattern as a Python pattern; ``regex`` understands Java's ``\\p{...}`` classes."""
    translated = pattern.replace(*_JAVA_SUPPLEMENTARY)
    try:
        return re.compile(translated)
    except re.error:
        pass
    try:
        return regex.compile(translated)
    except regex.error:  # a construct neither understands: not checked (see README)
        return None


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _constraint(path: str, rule: str, value: Any = None) -> str:
    shown = "" if value is None else f" '{_shown(value)}'"
    return f"Value{shown} at '{path}' failed to satisfy constraint: Member must {rule}"


def _violations(shape: Any, value: Any, path: str, found: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    longest = meta.get("max")
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _violations(member, value[name], f"{path}.{_camel(name)}" if path else _camel(name), found)
    elif kind == "list" and isinstance(value, list | tuple):
        if longest is not None and len(value) > longest:
            found.append(_constraint(path, f"have length less than or equal to {longest}"))
        for index, item in enumerate(value, start=1):
            _violations(shape.member, item, f"{path}.{index}.member", found)
    elif kind == "map" and isinstance(value, dict):
        if longest is not None and len(value) > longest:
            found.append(_constraint(path, f"have length less than or equal to {longest}"))
        for key, item in value.items():
            _violations(shape.key, key, f"{path}.{key}.key", found)
            _violations(shape.value, item, f"{path}.{key}.value", found)
    elif kind == "string" and isinstance(value, str):
        if longest is not None and len(value) > longest:
            found.append(_constraint(path, f"have length less than or equal to {longest}", value))
        if shape.enum and value not in shape.enum:
            found.append(_constraint(path, f"satisfy enum value set: [{', '.join(shape.enum)}]", value))
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            found.append(_constraint(path, f"satisfy regular expression pattern: {pattern}", value))
    elif kind == "blob" and isinstance(value, bytes | bytearray | str) and longest is not None:
        size = len(value.encode("utf-8") if isinstance(value, str) else value)
        if size > longest:
            found.append(_constraint(path, f"have length less than or equal to {longest}"))
    elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        too_big = longest is not None and value > longest
        if too_big:
            found.append(_constraint(path, f"have value less than or equal to {longest}", value))


def model_refusal(operation_model: Any, params: dict[str, Any]) -> Refusal | None:
    """The botocore model's server-side constraints (``max``, ``pattern``, ``enum``) that ``params`` break."""
    shape = operation_model.input_shape
    if shape is None:
        return None
    found: list[str] = []
    _violations(shape, params, "", found)
    if not found:
        return None
    model = operation_model.service_model
    code = _validation_code(model.endpoint_prefix, model.protocol, "awsQueryCompatible" in model.metadata)
    count = f"{len(found)} validation error{'s' if len(found) > 1 else ''} detected: "
    return Refusal(code, count + "; ".join(found[:3]))


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)


def _dynamodb_value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value as DynamoDB counts them (close enough for the 400 KB item limit)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_dynamodb_value_size({kind[0]: item}) for item in inner)
    if kind == "L":
        return 3 + sum(1 + _dynamodb_value_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + 1 + _dynamodb_value_size(v) for k, v in inner.items())
    return 0


def dynamodb_item_size(item: dict[str, Any]) -> int:
    """An item's size: attribute names plus values, in UTF-8 bytes."""
    return sum(len(name.encode("utf-8")) + _dynamodb_value_size(value) for name, value in item.items())


def _eventbridge_entry_size(entry: dict[str, Any]) -> int:
    """PutEvents entry size as EventBridge documents it: Time 14 bytes, Source, DetailType, Detail, Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode("utf-8"))
    size += sum(len(str(resource).encode("utf-8")) for resource in entry.get("Resources") or [])
    return size


def _dynamodb_items(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    if operation == "PutItem":
        return [params.get("Item") or {}]
    if operation == "BatchWriteItem":
        return [
            request["PutRequest"]["Item"]
            for requests in (params.get("RequestItems") or {}).values()
            for request in requests
            if "PutRequest" in request
        ]
    if operation == "TransactWriteItems":
        return [entry["Put"]["Item"] for entry in params.get("TransactItems") or [] if "Put" in entry]
    return []


def service_refusal(service: str, operation: str, params: dict[str, Any]) -> Refusal | None:
    """Documented limits the botocore models do not carry."""
    if service == "sns" and operation == "Publish":
        subject = params.get("Subject")
        if subject is not None and (
            not subject or len(subject) > SNS_SUBJECT_CHARACTERS or _has_control_characters(subject)
        ):
            return Refusal("InvalidParameter", "Invalid parameter: Subject")
        message = params.get("Message")
        if message is not None and len(str(message).encode("utf-8")) > SNS_MESSAGE_BYTES:
            return Refusal("InvalidParameter", "Invalid parameter: Message too long")
        if message == "":
            return Refusal("InvalidParameter", "Invalid parameter: Empty message")
    if service == "dynamodb":
        for item in _dynamodb_items(operation, params):
            if dynamodb_item_size(item) > DYNAMODB_ITEM_BYTES:
                return Refusal("ValidationException", "Item size has exceeded the maximum allowed size")
    entries = params.get("Entries") or [] if service == "eventbridge" and operation == "PutEvents" else []
    if sum(_eventbridge_entry_size(entry) for entry in entries) > EVENTBRIDGE_ENTRIES_BYTES:
        return Refusal("ValidationException", "Total size of the entries in the request is over the limit.")
    if service == "sfn":
        member = {"StartExecution": "input", "SendTaskSuccess": "output"}.get(operation)
        if member and params.get(member) is not None and not within_payload_quota(params[member]):
            size = utf8_size(params[member])
            return Refusal(
                "ValidationException",
                f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {PAYLOAD_BYTES} bytes (it has {size})",
            )
    return None


def lambda_request_refusal(body: bytes | None) -> Refusal | None:
    size = len(body or b"")
    if size > LAMBDA_PAYLOAD_BYTES:
        return Refusal(
            "RequestEntityTooLargeException",
            f"Request must be smaller than {LAMBDA_PAYLOAD_BYTES} bytes for the InvokeFunction operation",
            413,
        )
    return None
