"""AWS's quotas and limits, and the time AWS takes, as local mode enforces them.

The rules live here; ``patches.py`` only hooks them into moto. Every number has its source in the README
("Where local mode differs from AWS") and in ``/work/shared/reference/aws-facts.md``:

- Step Functions: an execution's history holds at most 25,000 events. Event 25,000 may only be
  ``ExecutionSucceeded``; any other event there is replaced by ``ExecutionFailed`` and the execution stops,
  no Catch runs ("Avoid reaching the history quota", Step Functions developer guide).
- Step Functions payloads (state input and output, a task's input after Parameters, a task's result, the
  execution input, SendTaskSuccess output): 256 KiB as UTF-8; beyond it ``States.DataLimitExceeded``, a
  terminal error that ``States.ALL`` does not catch ("Handling errors in Step Functions workflows").
- Lambda: a synchronous invocation's request and response are at most 6 MB; a function runs at most its
  ``Timeout`` and then fails with ``Sandbox.Timedout``; each invocation costs time (a cold start when no
  execution environment is warm, a run time, each AWS call's round trip).
- Request constraints a service checks on its side (botocore validates only required members, types and
  minimums client-side): every ``max`` length or value, ``pattern`` and ``enum`` of the botocore model, plus
  the documented limits the models do not carry (SNS subject and message, DynamoDB item size, EventBridge
  entry size, Step Functions payload bytes).
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, Literal

import regex  # type: ignore[import-untyped]  # no stubs; used only to compile Java-style patterns
from pydantic import BaseModel, ConfigDict, Field

HISTORY_EVENTS_QUOTA = 25_000
PAYLOAD_BYTES = 256 * 1024  # Step Functions: state and task input/output, execution input, SendTaskSuccess output
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # synchronous Invoke, request and response (AWS accepts 100 bytes more)
SNS_SUBJECT_CHARACTERS = 99  # "less than 100 characters long"
SNS_MESSAGE_BYTES = 256 * 1024
DYNAMODB_ITEM_BYTES = 400 * 1024
EVENTBRIDGE_ENTRIES_BYTES = 256 * 1024
HISTORY_QUOTA_ERROR = "States.Runtime"  # AWS documents no error name for it; see README
UNCATCHABLE_ERRORS = frozenset({"States.DataLimitExceeded", "States.Runtime"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Strict):
    """Quotas a scenario may LOWER (negative controls), never raise above AWS's."""

    history_events: int = Field(
        default=HISTORY_EVENTS_QUOTA,
        ge=2,
        le=HISTORY_EVENTS_QUOTA,
        description="events in one execution's history (AWS: 25,000, a hard quota)",
    )


class AwsTimings(_Strict):
    """How long AWS's own machinery takes, in simulated seconds (SageMaker's operations are in ``timings``)."""

    lambda_cold_start_seconds: float = Field(
        default=1.0, ge=0, description="init of a new execution environment (Python 3.13, boto3, pydantic, Powertools)"
    )
    lambda_warm_seconds: float = Field(
        default=300, ge=0, description="an idle execution environment stays warm this long, then the next is cold"
    )
    lambda_run_seconds: float = Field(default=0.05, ge=0, description="a handler's own work per invocation")
    aws_call_seconds: float = Field(default=0.05, ge=0, description="round trip of each AWS call a handler makes")
    function_run_seconds: dict[str, float] = Field(
        default_factory=dict, description="a function's own work per invocation, by logical id (overrides the above)"
    )
    eventbridge_delivery_seconds: float = Field(
        default=0.5, ge=0, description="from an event's emission to its delivery to a rule's target"
    )
    metric_delay_seconds: float = Field(
        default=120, ge=0, description="a datapoint of minute [t, t+60) is visible from t + 60 + this"
    )


class FunctionFault(_Strict):
    """A Lambda function that fails: it raises, or it runs past its Timeout."""

    function: str = Field(description="the function's logical id in template.yaml, e.g. RollBackFunction")
    kind: Literal["raises", "timeout"]
    error_type: str = Field(default="RuntimeError", description="raises: the exception class name Lambda reports")
    message: str = "injected by the scenario"
    times: int = Field(default=1, ge=1, description="how many invocations the fault affects")
    after_calls: int = Field(default=0, ge=0, description="let this many invocations through first")


# --- Step Functions: the history quota -----------------------------------------------------------------------


class Admission(Enum):
    ADMIT = "admit"  # append the event
    FAIL = "fail"  # the quota is reached here: append ExecutionFailed instead, and stop the execution
    DROP = "drop"  # the execution already failed on its quota: nothing more is recorded


class HistoryQuotaReachedError(Exception):
    """Raised where the event that reaches the quota would have been recorded: the state stops there."""


@dataclass
class _History:
    events: int = 0
    environment: Any = None  # the execution's root environment, to fail it
    failure: Any = None  # the ExecutionFailed details once the quota is reached: nothing overrides them


class HistoryQuota:
    """Counts each execution's history events (keyed by its event manager) against the quota."""

    def __init__(self, limit: int = HISTORY_EVENTS_QUOTA) -> None:
        if not 2 <= limit <= HISTORY_EVENTS_QUOTA:
            raise ValueError(f"the history quota can only be lowered (2 to {HISTORY_EVENTS_QUOTA}), not set to {limit}")
        self.limit = limit
        self._histories: weakref.WeakKeyDictionary[Any, _History] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _history(self, manager: Any) -> _History:
        history = self._histories.get(manager)
        if history is None:
            history = self._histories[manager] = _History()
        return history

    def register(self, manager: Any, environment: Any) -> None:
        """``environment`` is the execution whose events ``manager`` records."""
        with self._lock:
            self._history(manager).environment = environment

    def admit(self, manager: Any, event_type: str) -> Admission:
        """May ``manager``'s execution record one more event of ``event_type``?"""
        with self._lock:
            history = self._history(manager)
            if history.failure is not None:
                return Admission.DROP
            history.events += 1
            if history.events < self.limit or event_type == "ExecutionSucceeded":
                return Admission.ADMIT
            return Admission.FAIL

    def fail(self, manager: Any, failure: Any) -> Any:
        """Record the quota's failure of ``manager``'s execution; returns its root environment (or None)."""
        with self._lock:
            history = self._history(manager)
            history.failure = failure
            return history.environment

    def failure(self, manager: Any) -> Any:
        """The quota's ExecutionFailed details, once the quota has failed the execution."""
        with self._lock:
            history = self._histories.get(manager)
            return history.failure if history is not None else None

    def events(self, manager: Any) -> int:
        with self._lock:
            history = self._histories.get(manager)
            return history.events if history is not None else 0

    def cause(self) -> str:
        return f"The execution reached the maximum number of history events ({self.limit})."


# --- payloads ------------------------------------------------------------------------------------------------


def utf8_size(value: Any) -> int:
    """Bytes of ``value`` as Step Functions measures it: a string as is, anything else as compact JSON."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8"))


def within_payload_quota(value: Any) -> bool:
    """Step Functions' payload quota, read as moto reads it (256 KiB itself is already too much)."""
    return utf8_size(value) < PAYLOAD_BYTES


def data_limit_cause(what: str, size: int) -> str:
    return f"The {what} has {size} bytes, exceeding the maximum number of bytes service limit ({PAYLOAD_BYTES})."


# --- Lambda --------------------------------------------------------------------------------------------------


@dataclass
class LambdaEnvironments:
    """Warm and cold execution environments per function: an invocation reuses an idle environment that was
    used within ``warm_seconds``, otherwise it pays a cold start (concurrent invocations need one each)."""

    warm_seconds: float
    _idle: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, function: str, now: datetime) -> bool:
        """Take an environment for an invocation starting ``now``; True when it is a cold start."""
        with self._lock:
            fresh = [t for t in self._idle[function] if (now - t).total_seconds() <= self.warm_seconds]
            if fresh:
                fresh.sort()
                fresh.pop()  # the most recently used environment serves
                self._idle[function] = fresh
                return False
            self._idle[function] = []
            return True

    def release(self, function: str, now: datetime) -> None:
        with self._lock:
            self._idle[function].append(now)


class FunctionFaults:
    """Scenario faults on Lambda functions, counted per function."""

    def __init__(self, faults: Iterable[FunctionFault]) -> None:
        self._faults = [(f, [0]) for f in faults]
        self._lock = threading.Lock()

    def functions(self) -> set[str]:
        return {fault.function for fault, _ in self._faults}

    def fault_for(self, function: str) -> FunctionFault | None:
        """The fault this invocation of ``function`` suffers, if any (counts the invocation)."""
        found = None
        with self._lock:
            for fault, seen in self._faults:
                if fault.function == function:
                    seen[0] += 1
                    if found is None and fault.after_calls < seen[0] <= fault.after_calls + fault.times:
                        found = fault
        return found


class FunctionTimedOutError(BaseException):
    """Raised inside a handler at its first AWS call past the function's Timeout: Lambda would have stopped it
    there. A BaseException, so that neither the handler's nor botocore's ``except Exception`` swallows it."""


def timed_out_payload(request_id: str, timeout: float) -> dict[str, str]:
    """What Lambda answers for an invocation that ran past its Timeout (python3.13 runtime)."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    }


def response_too_large_payload() -> dict[str, str]:
    return {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({LAMBDA_PAYLOAD_BYTES} bytes).",
    }


@dataclass
class RunningInvocation:
    """An invocation in progress in this thread: when it must stop, and how long each AWS call takes."""

    function: str
    deadline: datetime
    call_seconds: float

    def call_delay(self, now: datetime) -> tuple[float, bool]:
        """Seconds to pass before a call made ``now`` completes, and whether the Timeout ends the function first."""
        left = (self.deadline - now).total_seconds()
        if left <= self.call_seconds:
            return max(0.0, left), True
        return self.call_seconds, False

    def ends_at(self, now: datetime, seconds: float) -> datetime:
        return min(self.deadline, now + timedelta(seconds=seconds))


# --- request constraints ------------------------------------------------------------------------------------


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
