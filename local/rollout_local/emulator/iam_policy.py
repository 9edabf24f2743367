"""IAM's evaluation of identity-based policies, as local mode applies it.

An explicit Deny wins, then an Allow is needed. ``Action``/``NotAction`` match case-insensitively with ``*``/``?``;
``Resource``/``NotResource`` match case-sensitively, ``*`` staying within one ARN segment unless it ends the
segment (IAM User Guide, "Resource" element). ``Condition`` supports the String, Arn, Numeric, Bool and Null
operators with ``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``; a missing key matches nothing, except under
``...IfExists``, a negated operator, ``ForAllValues:`` (vacuously) and ``Null``. Anything else is refused when the
policy is read, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from rollout_local.emulator.iam_needs import Need
from rollout_local.emulator.sagemaker import ACCOUNT, REGION


class IamModelError(ValueError):
    """template.yaml asks for something local IAM does not model (it refuses rather than guess)."""


# --- policies --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    operator: str  # e.g. StringEquals, ForAnyValue:StringLike, ArnLikeIfExists
    key: str  # lower case: IAM condition keys are case-insensitive
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement of an identity-based policy, as written (after intrinsics are resolved)."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()
    source: str = ""

    def applies(self, action: str, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
        if self.not_actions is not None:
            if any(_action_matches(p, action) for p in self.not_actions):
                return False
        elif not any(_action_matches(p, action) for p in self.actions):
            return False
        if self.not_resources is not None:
            if any(_resource_matches(p, resource) for p in self.not_resources):
                return False
        elif not any(_resource_matches(p, resource) for p in self.resources):
            return False
        return all(_condition_holds(c, context) for c in self.conditions)


def _as_tuple(value: Any, what: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | bool | int | float) for v in values):
        raise IamModelError(f"{what} must be a string or a list of strings, got {value!r}")
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


CONDITION_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "Bool",
        "Null",
    }
)


def parse_statement(raw: Mapping[str, Any], source: str) -> Statement:
    """A statement from its JSON form; anything IAM would reject or local IAM cannot judge is an error."""
    known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    unknown = set(raw) - known
    if unknown:
        raise IamModelError(f"{source}: identity-based policy statements cannot have {sorted(unknown)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise IamModelError(f"{source}: Effect must be Allow or Deny, got {effect!r}")
    if ("Action" in raw) == ("NotAction" in raw) or ("Resource" in raw) == ("NotResource" in raw):
        raise IamModelError(f"{source}: a statement needs exactly one of Action/NotAction and of Resource/NotResource")
    conditions = []
    for operator, block in (raw.get("Condition") or {}).items():
        base = operator.split(":", 1)[-1]
        base = base[: -len("IfExists")] if base.endswith("IfExists") else base
        qualifier = operator.split(":", 1)[0] if ":" in operator else None
        if base not in CONDITION_OPERATORS or qualifier not in (None, "ForAnyValue", "ForAllValues"):
            raise IamModelError(f"{source}: local IAM does not support the condition operator {operator}")
        for key, values in block.items():
            conditions.append(Condition(operator, key.lower(), _as_tuple(values, f"{source}: {operator} {key}")))
    resources = _as_tuple(raw.get("Resource", raw.get("NotResource")), f"{source}: Resource")
    for resource in resources:
        if "${" in resource:
            raise IamModelError(f"{source}: unresolved policy variable or intrinsic in {resource}")
    actions = _as_tuple(raw.get("Action", raw.get("NotAction")), f"{source}: Action")
    return Statement(
        effect=effect,
        actions=actions if "Action" in raw else (),
        not_actions=actions if "NotAction" in raw else None,
        resources=resources if "Resource" in raw else (),
        not_resources=resources if "NotResource" in raw else None,
        conditions=tuple(conditions),
        source=source,
    )


def parse_policy(document: Mapping[str, Any], source: str) -> tuple[Statement, ...]:
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise IamModelError(f"{source}: a policy document needs a Statement list")
    return tuple(parse_statement(s, f"{source}#{i}") for i, s in enumerate(statements))


# --- matching --------------------------------------------------------------------------------------------


@cache
def _glob(pattern: str, ignore_case: bool, segment_bound: bool) -> re.Pattern[str]:
    """``*`` and ``?`` as regex; with ``segment_bound`` a ``*`` stays within an ARN segment unless it ends one."""
    parts = []
    for index, char in enumerate(pattern):
        if char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            parts.append("[^:]*" if segment_bound and not ends_segment else ".*")
        elif char == "?":
            parts.append("[^:]" if segment_bound else ".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


@lru_cache(maxsize=1 << 16)  # a pure function of two strings, asked for every statement of every call judged
def _action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, True, False).fullmatch(action) is not None


@lru_cache(maxsize=1 << 16)
def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    return _glob(pattern, False, True).fullmatch(resource) is not None


def _arn_like(value: str, pattern: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own."""
    got, want = value.split(":", 5), pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        return False
    return all(_glob(p, False, False).fullmatch(v) is not None for v, p in zip(got, want, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(base: str, value: str, wanted: str) -> bool:
    """The positive form of ``base`` (negations are applied by the caller)."""
    if base in ("StringEquals", "StringNotEquals"):
        return value == wanted
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return value.lower() == wanted.lower()
    if base in ("StringLike", "StringNotLike"):
        return _glob(wanted, False, False).fullmatch(value) is not None
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return _arn_like(value, wanted)
    if base == "Bool":
        return value.lower() == wanted.lower()
    left, right = _number(value), _number(wanted)
    if left is None or right is None:
        return False
    return {
        "NumericEquals": left == right,
        "NumericNotEquals": left == right,
        "NumericLessThan": left < right,
        "NumericLessThanEquals": left <= right,
        "NumericGreaterThan": left > right,
        "NumericGreaterThanEquals": left >= right,
    }[base]


def _condition_holds(condition: Condition, context: Mapping[str, tuple[str, ...]]) -> bool:
    qualifier, _, operator = condition.operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    present = context.get(condition.key)
    if base == "Null":  # "true": the key must be absent; "false": present
        return all((present is None) == (v.lower() == "true") for v in condition.values)
    negated = "Not" in base
    if not present:
        if qualifier == "ForAllValues":
            return True  # vacuously: no value fails
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated  # a missing key never matches; a negated operator then holds

    def matches(value: str) -> bool:
        hit = any(_compare(base, value, wanted) for wanted in condition.values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in present)
    if qualifier == "ForAnyValue":
        return any(matches(v) for v in present)
    if negated:
        return all(matches(v) for v in present)
    return any(matches(v) for v in present)


# --- decisions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """The role of one function (or of the state machine), as SAM creates it."""

    logical_id: str
    name: str
    session: str
    statements: tuple[Statement, ...]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.name}"

    @property
    def principal(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.name}/{self.session}"

    def decide(self, need: Need) -> str:
        """allow | deny (explicit) | implicit."""
        context = {**self.global_context(), **need.context}
        matching = [s for s in self.statements if s.applies(need.action, need.resource, context)]
        if any(s.effect == "Deny" for s in matching):
            return "deny"
        return "allow" if matching else "implicit"

    def global_context(self) -> dict[str, tuple[str, ...]]:
        return {
            "aws:principalarn": (self.arn,),
            "aws:principalaccount": (ACCOUNT,),
            "aws:principaltype": ("AssumedRole",),
            "aws:requestedregion": (REGION,),
            "aws:securetransport": ("true",),
        }
