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

What each service checks on a request is in ``requests.py``.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HISTORY_EVENTS_QUOTA = 25_000
PAYLOAD_BYTES = 256 * 1024  # Step Functions: state and task input/output, execution input, SendTaskSuccess output
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # synchronous Invoke, request and response (AWS accepts 100 bytes more)
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
