"""The shared vocabulary of the statistics: three-valued outcomes, per-variant counts, input checks.

Pure standard library, so that the Lambda layer stays small and quick to import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from rollout.frozen import frozen

# The alternative hypothesis, always about the NEW variant compared with the baseline:
# "larger" - the new variant's rate/value is larger; "smaller" - it is smaller; "two-sided" - it differs.
Alternative = Literal["two-sided", "larger", "smaller"]
ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "larger", "smaller")


class StatsInputError(ValueError):
    """Figures a statistical function cannot work with (negative counts, an empty sample, a bad level).

    The message is one line naming the figure and why, fit to be shown to the person who configured the check.
    """


class Outcome(StrEnum):
    """A three-valued verdict with the values of ``rollout.models.progress.Verdict``: one converts to the other."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@frozen
class Counts:
    """One variant's traffic over the judged window: how many invocations, how many of them were errors.

    CloudWatch reports sums as floats (``1234.0``); whole floats are accepted and kept as ints.
    """

    errors: int
    invocations: int

    def __post_init__(self) -> None:
        errors = whole_number("errors", self.errors)
        invocations = whole_number("invocations", self.invocations)
        if errors > invocations:
            raise StatsInputError(f"errors ({errors}) cannot exceed invocations ({invocations})")
        object.__setattr__(self, "errors", errors)
        object.__setattr__(self, "invocations", invocations)

    @property
    def rate(self) -> float | None:
        """The observed error rate, or None without invocations."""
        return self.errors / self.invocations if self.invocations else None


@frozen
class Significance:
    """The result of one hypothesis test: its statistic (None for exact tests that have none), p-value, method."""

    statistic: float | None
    p_value: float
    method: str


def whole_number(name: str, value: float) -> int:
    """``value`` as a non-negative int, or a clear error (``1234.0`` is fine, ``-1`` and ``1.5`` are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatsInputError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise StatsInputError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


def check_level(name: str, value: float, low: float = 0.5) -> float:
    """A confidence or power strictly between ``low`` and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < 1:
        raise StatsInputError(f"{name} must be a number between {low} and 1 (exclusive), got {value!r}")
    return float(value)


def check_alternative(value: str) -> Alternative:
    """One of ``two-sided``, ``larger``, ``smaller``."""
    for known in ALTERNATIVES:
        if value == known:
            return known
    raise StatsInputError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {value!r}")


def finite_sample(name: str, values: Iterable[float], minimum: int = 1) -> list[float]:
    """A list of finite floats with at least ``minimum`` values, or a clear error naming the first bad one."""
    sample: list[float] = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise StatsInputError(f"{name}[{index}] must be a finite number, got {value!r}")
        sample.append(float(value))
    if len(sample) < minimum:
        raise StatsInputError(f"{name} needs at least {minimum} value(s), got {len(sample)}")
    return sample
