"""Resolving the rollout policy from its layered sources, remembering where every field came from.

Resolution order, later wins: stack defaults -> the SSM parameter of the model package group -> the package's
``rollout:`` CustomerMetadataProperties -> the ``policy`` of a manual start. The first two are the operator's; the
last two are requests, judged against the operator's policy (``rollout.authority``). Pure: the caller fetches the
layers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field

from pydantic import ValidationError

from rollout import authority
from rollout.errors import EndpointNotAllowedError, InvalidNameError, OverrideRefusedError, PolicyError
from rollout.frozen import frozen
from rollout.models.policy import Policy
from rollout.names import is_valid_name

METADATA_PREFIX = "rollout:"

Path = tuple[str, ...]


@frozen
class PolicyLayer:
    """One source of policy fields: a label a person understands and the fields it sets. ``operator`` False marks
    a request (package metadata, a manual start), which the operator's layers judge."""

    source: str
    fields: Mapping[str, object]
    operator: bool = True


@frozen
class ResolvedPolicy:
    policy: Policy
    sources: dict[str, str] = field(default_factory=dict)  # dotted field path -> source label


def layer_from_metadata(metadata: Mapping[str, str], source: str = "model package metadata") -> PolicyLayer:
    """Turn ``rollout:a.b = value`` metadata keys into a nested layer. Values that parse as JSON are JSON."""
    nested: dict[str, object] = {}
    for key, raw in sorted(metadata.items()):
        if not key.startswith(METADATA_PREFIX):
            continue
        path = key[len(METADATA_PREFIX) :].split(".")
        if not all(path):
            raise PolicyError(f"model package metadata key {key!r} is not a dotted policy field path")
        node = nested
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PolicyError(f"model package metadata key {key!r} conflicts with another key")
            node = child
        node[path[-1]] = _parse_scalar(raw)
    return PolicyLayer(source, nested)


def _parse_scalar(raw: str) -> object:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return raw


def parse_policy_document(text: str, source: str) -> PolicyLayer:
    """Parse a JSON policy document (an SSM parameter value, a file) into a layer."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{source} must hold a JSON object, not {type(document).__name__}")
    return PolicyLayer(source, document)


def standard_layers(
    default_policy: str,
    parameter_name: str,
    stored: str | None,
    metadata: Mapping[str, str],
    override: Mapping[str, object] | None = None,
    endpoint_name: str | None = None,
) -> list[PolicyLayer]:
    """The policy's sources in resolution order (later wins), labelled the same wherever they are resolved:
    stack defaults, the group's SSM parameter, the package's ``rollout:`` metadata, a manual start."""
    layers = [parse_policy_document(default_policy, "stack defaults (DefaultPolicy parameter)")]
    if stored is not None:
        layers.append(parse_policy_document(stored, f"SSM parameter {parameter_name}"))
    from_metadata = layer_from_metadata(metadata, "model package CustomerMetadataProperties")
    layers.append(PolicyLayer(from_metadata.source, from_metadata.fields, operator=False))
    if override:
        layers.append(PolicyLayer("execution input 'policy'", override, operator=False))
    if endpoint_name:
        layers.append(PolicyLayer("execution input 'endpoint_name'", {"endpoint_name": endpoint_name}, operator=False))
    return layers


def merge_layers(layers: Sequence[PolicyLayer]) -> tuple[dict[str, object], dict[Path, str]]:
    """Deep-merge the layers in order; return the document and the source of every leaf."""
    merged: dict[str, object] = {}
    sources: dict[Path, str] = {}
    for layer in layers:
        _merge_into(merged, layer.fields, (), layer.source, sources)
    return merged, sources


def _merge_into(
    target: dict[str, object], incoming: Mapping[str, object], prefix: Path, source: str, sources: dict[Path, str]
) -> None:
    for key, value in incoming.items():
        path = (*prefix, key)
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict) and not _type_changes(current, value):
            _merge_into(current, value, path, source, sources)
            continue
        # A new value, or a one-of record whose "type" changes: replace it whole, forget the old sources below.
        for known in [p for p in sources if p[: len(path)] == path]:
            del sources[known]
        target[key] = _deep_copy(value)
        for leaf in _leaf_paths(value, path):
            sources[leaf] = source


def _type_changes(current: Mapping[str, object], incoming: Mapping[str, object]) -> bool:
    return "type" in current and "type" in incoming and current["type"] != incoming["type"]


def _deep_copy(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _leaf_paths(value: object, path: Path) -> list[Path]:
    if isinstance(value, Mapping) and value:
        return [leaf for k, v in value.items() for leaf in _leaf_paths(v, (*path, k))]
    return [path]


def resolve_policy(layers: Sequence[PolicyLayer]) -> ResolvedPolicy:
    """Merge, validate, and judge the requests by the operator's layers. A PolicyError names each bad field and the
    source that set it; an EndpointNotAllowedError or OverrideRefusedError names the field, its source and the rule."""
    document, sources = merge_layers(layers)
    _check_names(document, sources)
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(_explain(exc, sources, document)) from None
    _judge_requests(layers, policy, sources)
    return ResolvedPolicy(policy, {".".join(p): s for p, s in sorted(sources.items())})


def _judge_requests(layers: Sequence[PolicyLayer], policy: Policy, sources: Mapping[Path, str]) -> None:
    """The operator's policy decides: the endpoint binding first, then every field a request set."""
    operator_document, _ = merge_layers([layer for layer in layers if layer.operator])
    request_sources = {layer.source for layer in layers if not layer.operator}
    named = operator_document.get("endpoint_name")
    allowed = operator_document.get("allowed_endpoints")
    bound = tuple(str(e) for e in allowed) if isinstance(allowed, list) and allowed else ()
    bound = bound or ((named,) if isinstance(named, str) else ())
    refused = authority.endpoint_refusal(bound, policy.endpoint_name, sources.get(("endpoint_name",), "no source"))
    if refused:
        raise EndpointNotAllowedError(refused)
    over_limits = policy.capacity_refusals()
    if over_limits:
        problems, from_requests = [], False
        for field_name, why in over_limits.items():
            path = tuple(field_name.split("."))
            below = sorted({s for p, s in sources.items() if p[: len(path)] == path})
            from_requests = from_requests or any(s in request_sources for s in below)
            problems.append(f"policy field '{field_name}' (from {', '.join(below) or 'no source'}) refused: {why}")
        raise (OverrideRefusedError if from_requests else PolicyError)("; ".join(problems))
    requested = {path: source for path, source in sources.items() if source in request_sources}
    if not requested:
        return
    operator_document.setdefault("endpoint_name", policy.endpoint_name)  # judged above; the rest is judged below
    try:
        operator = Policy.model_validate(operator_document)
    except ValidationError as exc:
        operator_sources = {p: s for p, s in sources.items() if s not in request_sources}
        raise PolicyError(
            "the operator's policy (stack defaults and the SSM parameter) must be valid on its own to judge package "
            "metadata and manual starts: " + _explain(exc, operator_sources, operator_document)
        ) from None
    found = authority.refusals(operator, policy, requested)
    if found:
        raise OverrideRefusedError("; ".join(str(r) for r in found))


NAME_FIELDS = ("endpoint_name", "variant_name")


def _check_names(document: Mapping[str, object], sources: Mapping[Path, str]) -> None:
    """SageMaker's naming rule gets its own error: the most common policy mistake deserves a plain answer."""
    for field_name in NAME_FIELDS:
        value = document.get(field_name)
        if isinstance(value, str) and not is_valid_name(value):
            raise InvalidNameError(
                f"policy field '{field_name}' (from {sources.get((field_name,), 'no source')}) is {value!r}, which "
                "SageMaker refuses: use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit"
            )


def _document_path(loc: tuple[str, ...], document: Mapping[str, object]) -> tuple[str, ...]:
    """The error's location as a path in the document: pydantic puts a one-of's tag (``canary`` in
    ``strategy.canary.canary_percent``) into the location, where the document has no such key."""
    path: list[str] = []
    node: object = document
    for part in loc:
        if isinstance(node, Mapping) and part not in node and path and node.get("type") == part:
            continue
        path.append(part)
        node = node.get(part) if isinstance(node, Mapping) else None
    return tuple(path)


def _explain(exc: ValidationError, sources: Mapping[Path, str], document: Mapping[str, object]) -> str:
    problems = []
    for error in exc.errors():
        loc = _document_path(tuple(str(part) for part in error["loc"]), document)
        dotted = ".".join(loc) or "(policy)"
        source = _source_of(loc, sources)
        where = f" (from {source})" if source else " (set by no source)"
        problems.append(f"policy field '{dotted}'{where}: {error['msg']}")
    return "invalid rollout policy: " + "; ".join(problems)


def _source_of(loc: Path, sources: Mapping[Path, str]) -> str | None:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in sources:
            return sources[loc[:cut]]
    below = {s for p, s in sources.items() if p[: len(loc)] == loc}
    return ", ".join(sorted(below)) or None
