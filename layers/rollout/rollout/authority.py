"""Who decides what a rollout may do: the operator's policy against what package metadata and manual starts ask.

The operator's policy is the stack defaults and the group's SSM parameter. Package metadata (whoever may register or
update a model package can write it) and the ``policy``/``endpoint_name`` of a manual start are *requests*: they
may make a rollout more careful, and they may set the fields the operator lists in ``allow_package_overrides``,
but they can never:
- leave the group's endpoints (``allowed_endpoints``, by default the operator's ``endpoint_name``);
- set the operator's own fields (``allowed_endpoints``, ``allow_package_overrides``, ``capacity_limits``);
- remove an alarm, loosen a check, remove a gate, or expose more traffic sooner or judge it for less time;
- ask for capacity the operator did not list, or beyond its ``capacity_limits``.
Pure: the caller resolves both policies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rollout.frozen import frozen
from rollout.models.policy import (
    OPERATOR_ONLY_FIELDS,
    AbTest,
    Analysis,
    BlueGreen,
    Canary,
    Linear,
    Policy,
    Shadow,
    Size,
    Steps,
    Strategy,
)
from rollout.plan.steps import expand

Path = tuple[str, ...]
EPSILON = 1e-9
# A size given in instances cannot be read as a share without the live fleet: take SageMaker's largest (50%).
WORST_INSTANCE_SHARE = 50.0
RULE_SAFER = "package metadata and manual starts may only make a rollout more careful"


@frozen
class Refusal:
    """One requested field the operator's policy does not let through: which, from where, and the rule."""

    field: str
    source: str
    rule: str

    def __str__(self) -> str:
        return f"policy field '{self.field}' (from {self.source}) refused: {self.rule}"


# --- what a policy exposes: traffic on the new model over judged time ---------------------------------------


@frozen
class Exposure:
    """The share of traffic the new model serves over time while it is judged, and after that."""

    segments: tuple[tuple[float, float], ...]  # (start second, weight percent), in order from 0
    judged_seconds: float  # how long the rollout judges the new model before it ends
    final_percent: float  # the share the new model keeps once the rollout has ended

    def at(self, t: float) -> float:
        if t >= self.judged_seconds:
            return self.final_percent
        weight = 0.0
        for start, percent in self.segments:
            if start <= t:
                weight = percent
        return weight

    def breakpoints(self) -> set[float]:
        return {start for start, _ in self.segments} | {self.judged_seconds}


def _share(size: Size | None) -> float:
    if size is None:
        return 100.0
    return float(size.value) if size.type == "CAPACITY_PERCENT" else WORST_INSTANCE_SHARE


def _ramp(step: float, wait: float, tail: float) -> Exposure:
    """Traffic in equal shares, each judged ``wait`` seconds, then ``tail`` more at 100%."""
    segments, t, k = [], 0.0, 1
    while True:
        weight = min(100.0, k * step)
        segments.append((t, weight))
        t += wait
        if weight >= 100:
            break
        k += 1
    return Exposure(tuple(segments), t + tail, 100.0)


def exposure(strategy: Strategy) -> Exposure:
    """How ``strategy`` exposes the new model (SageMaker's guardrails by their routing; A/B and shadow tests by
    the worst their decision can do)."""
    if isinstance(strategy, BlueGreen):
        term = float(strategy.termination_wait_seconds or 0)
        if strategy.rolling is not None:
            rolling = strategy.rolling
            return _ramp(_share(rolling.max_batch_size), rolling.wait_interval_seconds, 0.0)
        routing = strategy.routing
        wait = float(routing.wait_interval_seconds)
        if routing.type == "CANARY":
            canary = _share(routing.canary_size)
            return Exposure(((0.0, canary), (wait, 100.0)), 2 * wait + term, 100.0)
        if routing.type == "LINEAR":
            return _ramp(_share(routing.linear_step_size), wait, term)
        return Exposure(((0.0, 100.0),), wait + term, 100.0)
    if isinstance(strategy, AbTest):
        final = {"promote_winner": 100.0, "keep_both": strategy.new_percent, "rollback": 0.0}[strategy.decision]
        return Exposure(((0.0, strategy.new_percent),), float(strategy.duration_seconds), final)
    if isinstance(strategy, Shadow):  # a shadow's answers never reach callers
        final = 100.0 if strategy.on_pass == "promote" else 0.0  # noqa: S105 - a decision, not a password
        return Exposure(((0.0, 0.0),), float(strategy.duration_seconds), final)
    segments, t = [], 0.0
    for step in expand(strategy):
        segments.append((t, float(step.weight_percent)))
        t += step.bake_seconds
    return Exposure(tuple(segments), t, 100.0)


def exposure_refusal(operator: Strategy, requested: Strategy) -> str | None:
    """Why ``requested`` is less careful than ``operator``: more traffic at some moment, or less time judged."""
    mine, theirs = exposure(operator), exposure(requested)
    for t in sorted(mine.breakpoints() | theirs.breakpoints()):
        if theirs.at(t) > mine.at(t) + EPSILON:
            return (
                f"strategy {requested.type} sends {theirs.at(t):g}% of traffic to the new model {t:g} s in, where the "
                f"operator's {operator.type} sends {mine.at(t):g}%"
            )
    if theirs.judged_seconds + EPSILON < mine.judged_seconds and theirs.final_percent > 0:
        return (
            f"strategy {requested.type} judges the new model for {theirs.judged_seconds:g} s, the operator's "
            f"{operator.type} for {mine.judged_seconds:g} s"
        )
    return None


# --- the fields judged by direction --------------------------------------------------------------------------


def _lower_is_safer_optional(ours: float | None, theirs: float | None) -> bool:
    """A limit: unset is no check at all (the loosest)."""
    if ours is None:
        return True
    return theirs is not None and theirs <= ours + EPSILON


def _lower(ours: float, theirs: float) -> bool:
    return theirs <= ours + EPSILON


def _higher(ours: float, theirs: float) -> bool:
    return theirs + EPSILON >= ours


def _ordered(*safest_first: str) -> Callable[[str, str], bool]:
    def at_least_as_safe(ours: str, theirs: str) -> bool:
        return safest_first.index(theirs) <= safest_first.index(ours)

    return at_least_as_safe


def _same(ours: object, theirs: object) -> bool:
    return ours == theirs


JUDGING: dict[str, Callable[[object, object], bool]] = {
    "max_error_rate": _lower_is_safer_optional,  # type: ignore[dict-item]
    "max_error_rate_increase": _lower_is_safer_optional,  # type: ignore[dict-item]
    "max_latency_ms": _lower_is_safer_optional,  # type: ignore[dict-item]
    "max_latency_ratio": _lower_is_safer_optional,  # type: ignore[dict-item]
    "min_invocations": _higher,  # type: ignore[dict-item]
    "check_interval_seconds": _lower,  # type: ignore[dict-item]
    "failure_threshold": _lower,  # type: ignore[dict-item]
    "treat_missing": _ordered("inconclusive", "ok"),  # type: ignore[dict-item]
    "on_inconclusive": _ordered("fail", "pass"),  # type: ignore[dict-item]
    # the statistical judge: a request may demand more confidence or a smaller tolerance, never less; switching
    # judge or tolerance kind is neither stricter nor looser as such, so only the operator (or a listing) does it
    "judge": _same,
    "confidence": _higher,  # type: ignore[dict-item]
    "error_rate_tolerance_kind": _same,
    "error_rate_tolerance": _lower,  # type: ignore[dict-item]
    "latency_tolerance_ratio": _lower_is_safer_optional,  # type: ignore[dict-item]
}
# Judging fields a shadow test takes from its strategy instead of from `analysis`.
SHADOW_JUDGING = ("max_error_rate_increase", "max_latency_ratio", "min_invocations")
TOP_LEVEL: dict[str, Callable[[str, str], bool]] = {
    "on_busy": _ordered("reject", "queue", "supersede"),  # supersede aborts another rollout
    "on_rollback": _ordered("reject_package", "none"),
}
GATES = ("confirm_before_start", "confirm_before_promotion")
# Strategy fields judged as a whole by the exposure they make (the rest are judged by direction, or need listing).
EXPOSURE_FIELDS = frozenset(
    {
        "type",
        "canary_percent",
        "bake_seconds",
        "final_bake_seconds",
        "step_percent",
        "interval_seconds",
        "steps",
        "traffic_routing",
        "rolling.max_batch_size",
        "rolling.wait_interval_seconds",
        "termination_wait_seconds",
        "baseline_weight",
        "new_weight",
        "duration_seconds",
        "decision",
        "sampling_percent",
        "on_pass",
        # SageMaker's hard stop for a guarded update, past the waits the exposure already counts
        "max_execution_timeout_seconds",
        # what an A/B test compares: the exposure already assumes its worst decision (the new model promoted)
        "metric",
    }
)
# Strategies with a promotion, where a gate before promotion opens.
PROMOTING = (Canary, Linear, Steps, AbTest, Shadow)
AB_DIRECTIONAL = {"min_invocations": _higher, "min_improvement": _higher}


def _watched(policy: Policy) -> set[str]:
    """The alarms that can stop the new model's traffic while it is exposed (SageMaker's own for guardrails)."""
    return set(policy.rollback_alarms) if isinstance(policy.strategy, BlueGreen) else set(policy.analysis.alarms)


def _confirm_weights(strategy: Strategy) -> list[float]:
    return [s.weight_percent for s in strategy.steps if s.confirm] if isinstance(strategy, Steps) else []


def _under(path: Path, entries: tuple[str, ...]) -> bool:
    dotted = ".".join(path)
    return any(dotted == e or dotted.startswith(e + ".") for e in entries)


# --- the judgement -----------------------------------------------------------------------------------------


def endpoint_refusal(bound: tuple[str, ...], endpoint: str, source: str) -> str | None:
    """Why ``endpoint`` is outside the group's binding (the endpoints the operator's policy allows), or None."""
    if endpoint in bound:
        return None
    if not bound:
        return (
            f"endpoint {endpoint} (from {source}) refused: the operator's policy binds this model package group to "
            "no endpoint (set endpoint_name or allowed_endpoints in the group's SSM parameter)"
        )
    return (
        f"endpoint {endpoint} (from {source}) is not one this model package group may deploy to: the operator's "
        f"policy allows {', '.join(bound)} (allowed_endpoints)"
    )


def refusals(operator: Policy, final: Policy, requested: Mapping[Path, str]) -> list[Refusal]:
    """Every requested field (path -> source) the operator's policy refuses, with the rule it breaks."""
    found: list[Refusal] = []
    mine, theirs = operator.model_dump(mode="json"), final.model_dump(mode="json")
    changed = {path: source for path, source in requested.items() if _value(mine, path) != _value(theirs, path)}

    def blame(rule: str, *prefixes: str) -> None:
        hits = [(p, s) for p, s in changed.items() if any(_under(p, (prefix,)) for prefix in prefixes)]
        path, source = hits[0] if hits else next(iter(changed.items()), (("(policy)",), "a request"))
        found.append(Refusal(".".join(path), source, rule))

    for path, source in changed.items():
        if path[0] in OPERATOR_ONLY_FIELDS:
            found.append(Refusal(".".join(path), source, "only the operator's policy (stack defaults, SSM) sets it"))
    if not changed:
        return found
    _judge_alarms(operator, final, blame)
    _judge_analysis(operator.judging, final.judging, blame)
    _judge_gates(operator, final, blame)
    _judge_strategy(operator, final, changed, blame, found)
    for name, at_least_as_safe in TOP_LEVEL.items():
        ours, theirs_value = getattr(operator, name), getattr(final, name)
        if not at_least_as_safe(ours, theirs_value):
            blame(f"{name} {theirs_value} is less careful than the operator's {ours} ({RULE_SAFER})", name)
    _judge_capacity(operator, changed, found)
    judged = ("endpoint_name", "analysis", "gates", "strategy", "capacity", *TOP_LEVEL, *OPERATOR_ONLY_FIELDS)
    for path, source in changed.items():
        if path[0] in judged or _under(path, operator.allow_package_overrides):
            continue
        found.append(Refusal(".".join(path), source, _not_listed(path)))
    return _unique(found)


def _not_listed(path: Path) -> str:
    return (
        f"the operator's policy does not list '{'.'.join(path)}' in allow_package_overrides (unlisted fields may "
        "only make a rollout more careful)"
    )


def _judge_alarms(operator: Policy, final: Policy, blame: Callable[..., None]) -> None:
    missing = _watched(operator) - _watched(final)
    if missing:
        blame(
            f"it removes alarm(s) {', '.join(sorted(missing))} that the operator's policy watches",
            "analysis.alarms",
            "strategy.auto_rollback_alarms",
            "strategy.type",
        )


def _judge_analysis(ours: Analysis, theirs: Analysis, blame: Callable[..., None]) -> None:
    for name, at_least_as_safe in JUDGING.items():
        mine, requested = getattr(ours, name), getattr(theirs, name)
        if not at_least_as_safe(mine, requested):
            shown = "no check" if requested is None else requested
            blame(
                f"{name} {shown} is looser than the operator's {mine} ({RULE_SAFER})",
                f"analysis.{name}",
                f"strategy.{name}",
                "strategy.type",
            )


def _judge_gates(operator: Policy, final: Policy, blame: Callable[..., None]) -> None:
    for name in GATES:
        if getattr(operator.gates, name) and not getattr(final.gates, name):
            blame(f"it removes the operator's gate {name}", f"gates.{name}")
    if operator.gates.on_timeout == "roll_back" and final.gates.on_timeout != "roll_back":
        blame(f"gates.on_timeout proceed is less careful than the operator's roll_back ({RULE_SAFER})", "gates")
    theirs = _confirm_weights(final.strategy)
    for weight in _confirm_weights(operator.strategy):
        if not any(w <= weight + EPSILON for w in theirs):
            blame(f"it removes the operator's gate after the step at {weight:g}%", "strategy")


def _judge_strategy(
    operator: Policy,
    final: Policy,
    changed: Mapping[Path, str],
    blame: Callable[..., None],
    found: list[Refusal],
) -> None:
    ours, theirs = operator.strategy, final.strategy
    if not any(path[0] == "strategy" for path in changed):
        return
    refused = exposure_refusal(ours, theirs)
    if refused:
        blame(f"{refused} ({RULE_SAFER})", *(f"strategy.{f}" for f in sorted(EXPOSURE_FIELDS)), "strategy")
    if operator.gates.confirm_before_promotion and isinstance(ours, PROMOTING) and not isinstance(theirs, PROMOTING):
        blame(
            f"the operator's gate before promotion would never open: strategy {theirs.type} has no promotion",
            "strategy.type",
            "strategy",
        )
    if isinstance(theirs, BlueGreen) and not isinstance(ours, BlueGreen) and operator.judging.has_metric_checks:
        blame(
            "blue_green is judged by SageMaker's alarms alone: the operator's metric checks would not run",
            "strategy.type",
            "strategy",
        )
    same_type = type(ours) is type(theirs)
    for path, source in changed.items():
        if path[0] != "strategy" or len(path) < 2:
            continue
        rest = ".".join(path[1:])
        if path[1] == "auto_rollback_alarms" or _under(path[1:], tuple(EXPOSURE_FIELDS)):
            continue
        if isinstance(theirs, Shadow) and path[1] in SHADOW_JUDGING:
            continue  # judged with the analysis (Policy.judging)
        if isinstance(theirs, AbTest) and path[1] in AB_DIRECTIONAL:
            if same_type and not AB_DIRECTIONAL[path[1]](getattr(ours, path[1]), getattr(theirs, path[1])):
                rule = f"it is less careful than the operator's ({RULE_SAFER})"
                found.append(Refusal(f"strategy.{rest}", source, rule))
            continue
        if not _under(path, operator.allow_package_overrides):
            found.append(Refusal(f"strategy.{rest}", source, _not_listed(path)))


def _judge_capacity(operator: Policy, changed: Mapping[Path, str], found: list[Refusal]) -> None:
    for path, source in changed.items():
        if path[0] != "capacity":
            continue
        if not _under(path, operator.allow_package_overrides):
            found.append(
                Refusal(
                    ".".join(path),
                    source,
                    "capacity is the operator's: it may come from package metadata or a manual start only when "
                    "allow_package_overrides lists it, within capacity_limits",
                )
            )
        elif operator.capacity_limits is None:
            found.append(
                Refusal(
                    ".".join(path),
                    source,
                    "allow_package_overrides lists capacity but the operator's policy sets no capacity_limits",
                )
            )


def _value(document: Mapping[str, object], path: Path) -> object:
    node: object = document
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def _unique(refusals_found: list[Refusal]) -> list[Refusal]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for refusal in refusals_found:
        key = (refusal.field, refusal.rule)
        if key not in seen:
            seen.add(key)
            kept.append(refusal)
    return kept
