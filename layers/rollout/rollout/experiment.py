"""Pure judging of an experiment's end: which side of an A/B test won, and what a test's policy does next.

No AWS, no clock. The figures are read by ``rollout.conclusion``; the guard rails during a test (alarms,
built-in checks, a shadow's comparison limits at every check) are ``analysis``'s, as for any bake.
"""

from __future__ import annotations

from typing import Literal

from rollout.frozen import frozen
from rollout.models.policy import AbTest, Shadow
from rollout.models.progress import SideFigures
from rollout.stats.sequential import SequentialResult

Winner = Literal["new", "baseline", "none"]
Decision = Literal["promote", "keep_both", "keep", "rollback", "discard"]


@frozen
class AbVerdict:
    winner: Winner
    reason: str


def _shown(kind: str, value: float) -> str:
    if kind == "error_rate":
        return f"{value:.3%}"
    if kind == "model_latency":
        return f"{value:.1f} ms"
    return f"{value:g}"


def ab_winner(test: AbTest, baseline: SideFigures, new: SideFigures) -> AbVerdict:
    """The better side by the test's metric and direction, if both served enough and the margin is clear."""
    short = [
        f"{label} served {side.invocations} invocations"
        for label, side in (("baseline", baseline), ("new model", new))
        if side.invocations < test.min_invocations
    ]
    if short:
        return AbVerdict(
            "none", f"not enough traffic to decide: {', '.join(short)} (min_invocations={test.min_invocations})"
        )
    metric = test.metric.shown()
    b, n = baseline.value, new.value
    if b is None or n is None:
        return AbVerdict("none", f"no datapoints for {metric} on the {'baseline' if b is None else 'new model'}")
    kind = test.metric.kind
    lower = test.metric.direction == "lower_is_better"
    figures = f"new {_shown(kind, n)} vs baseline {_shown(kind, b)}"
    if n == b:
        return AbVerdict("none", f"no winner on {metric}: {figures}")
    margin = abs(n - b) / abs(b) if b else 1.0
    better: Winner = "new" if (n < b) == lower else "baseline"
    if margin < test.min_improvement:
        return AbVerdict(
            "none",
            f"no clear winner on {metric}: {figures}, {margin:.1%} apart < min_improvement {test.min_improvement:.1%}",
        )
    return AbVerdict(better, f"{'new model' if better == 'new' else 'baseline'} wins on {metric}: {figures}")


def ab_sequential_winner(test: AbTest, baseline: SideFigures, new: SideFigures, result: SequentialResult) -> AbVerdict:
    """The statistical judge's winner: the side a sequential test (valid at every look) found better, if both
    served ``min_invocations`` and the observed margin reaches ``min_improvement``; else no winner."""
    short = [
        f"{label} served {side.invocations} invocations"
        for label, side in (("baseline", baseline), ("new model", new))
        if side.invocations < test.min_invocations
    ]
    if short:
        return AbVerdict(
            "none", f"not enough traffic to decide: {', '.join(short)} (min_invocations={test.min_invocations})"
        )
    metric = test.metric.shown()
    if result.decision == "continue":
        return AbVerdict("none", f"no significant difference on {metric} ({result.reason})")
    lower = test.metric.direction == "lower_is_better"
    better: Winner = "new" if (result.decision == "new_lower") == lower else "baseline"
    b, n = baseline.value, new.value
    figures = ""
    if b is not None and n is not None:
        figures = f": new {_shown(test.metric.kind, n)} vs baseline {_shown(test.metric.kind, b)}"
        margin = abs(n - b) / abs(b) if b else 1.0
        if margin < test.min_improvement:
            return AbVerdict(
                "none",
                f"a significant but small difference on {metric}{figures}, {margin:.1%} apart < min_improvement "
                f"{test.min_improvement:.1%} ({result.reason})",
            )
    side = "new model" if better == "new" else "baseline"
    return AbVerdict(better, f"{side} wins on {metric}{figures} ({result.reason})")


def ab_decision(test: AbTest, winner: Winner) -> Decision:
    if test.decision == "keep_both":
        return "keep_both"
    if test.decision == "rollback":
        return "rollback"
    return "promote" if winner == "new" else "rollback"


def shadow_decision(test: Shadow) -> Decision:
    """A shadow that passed: what ``on_pass`` asks (a failing shadow is discarded by the rollback path)."""
    return test.on_pass
