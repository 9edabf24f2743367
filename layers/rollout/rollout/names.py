"""Deterministic SageMaker resource names.

Every name is a pure function of the endpoint, the model package and the rollout id, so a step that runs
twice (a retried Lambda) asks for the same name and finds its own resource instead of making another.
"""

from __future__ import annotations

import hashlib
import re

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_NAME_LENGTH = 63
_HASH_LENGTH = 8


def is_valid_name(name: str) -> bool:
    """True when SageMaker accepts ``name`` for an endpoint, endpoint config, model or variant."""
    return bool(NAME_PATTERN.match(name))


def sanitize(text: str) -> str:
    """Turn arbitrary text into a run of SageMaker-safe characters (letters, digits, single hyphens)."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-")
    return re.sub(r"-{2,}", "-", cleaned)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_HASH_LENGTH]


def _compose(prefix: str, kind: str, version: str, digest: str) -> str:
    tail = f"-{kind}-v{version}-{digest}" if version else f"-{kind}-{digest}"
    room = MAX_NAME_LENGTH - len(tail)
    head = sanitize(prefix)[:room].rstrip("-") or "rollout"
    name = head + tail
    if not is_valid_name(name):  # pragma: no cover - guarded by construction
        raise ValueError(f"could not build a valid SageMaker name from {prefix!r}")
    return name


def model_name(endpoint_name: str, package_arn: str, package_version: int | None, rollout_id: str) -> str:
    """Name of the SageMaker Model created from a model package for one rollout to one endpoint."""
    return _compose(endpoint_name, "m", str(package_version or ""), _digest(endpoint_name, package_arn, rollout_id))


def endpoint_config_name(endpoint_name: str, package_version: int | None, rollout_id: str, purpose: str = "c") -> str:
    """Name of an EndpointConfig this rollout creates; ``purpose`` tells apart several configs of one rollout."""
    return _compose(endpoint_name, purpose, str(package_version or ""), _digest(endpoint_name, rollout_id, purpose))


def variant_name(package_version: int | None, rollout_id: str) -> str:
    """The new model's variant while it shares an endpoint with the baseline (unique per rollout)."""
    version = f"v{package_version}" if package_version is not None else "new"
    return f"{version}-{_digest(rollout_id)}"


ALARM_PREFIX = "sagemaker-rollout"


def alarm_prefix(rollout_id: str) -> str:
    """Prefix of the alarms a rollout creates (the template lets the stack manage only these)."""
    return f"{ALARM_PREFIX}-{sanitize(rollout_id)[:80]}"


def resource_tags(rollout_id: str, endpoint_name: str) -> list[dict[str, str]]:
    """Tags on everything a rollout creates, so people (and IAM conditions) can tell whose it is."""
    return [
        {"Key": "sagemaker-rollout:rollout-id", "Value": rollout_id},
        {"Key": "sagemaker-rollout:endpoint", "Value": endpoint_name},
    ]
