"""Is the new variant slower than the baseline beyond a tolerated ratio? Mann-Whitney U on per-minute figures.

The data: one figure per minute and variant (CloudWatch's per-minute ModelLatency p99, average, ...). The
Mann-Whitney U test (Mann & Whitney, Ann. Math. Stat. 1947; Hollander, Wolfe & Chicken, *Nonparametric
Statistical Methods*, 3rd ed., 2014, sec. 4.1) compares the two samples by ranks only, so it needs no normality
and a single slow minute cannot dominate it as it dominates a mean. Its null hypothesis is that both samples come
from the same distribution; U counts the pairs (new, baseline) where the new figure is larger (ties count 1/2).

Assumptions: the minutes are independent draws from each variant's distribution (traffic that drifts through the
day moves both variants alike, which the test tolerates; a trend that hits one variant only is a real
difference). The tolerance ``ratio`` (the new variant may be up to ``ratio`` times slower) is applied by dividing
the new figures by ``ratio``: under "the new latency is exactly ``ratio`` x the baseline's" (a scale family), the
divided figures and the baseline's are identically distributed, which is the null the test is exact for.

``mann_whitney_u`` matches scipy ``mannwhitneyu``: ``exact`` is the exact permutation law of U without ties
(the coefficients of the Gaussian binomial polynomial, Andrews, *The Theory of Partitions*, 1976, ch. 3;
O(n1 * n1 * n2) work), ``asymptotic`` the normal approximation with the tie-corrected variance and a continuity
correction; ``auto`` is exact when there are no ties and both samples are at most 50 (exact and cheap there, and
where the per-minute canary samples live), else asymptotic.

``judge_latency`` is three-valued like ``rates.judge_error_rate`` (two one-sided tests); when inconclusive it
says how many more minutes would decide it with Noether's sample size for the Wilcoxon-Mann-Whitney test
(Noether, "Sample size determination for some common nonparametric tests", JASA 1987):
N = (z_a + z_b)^2 / (12 c (1 - c) (P - 1/2)^2), with P = U / (n1 n2) the observed probability that a (divided)
new figure exceeds a baseline one and c = n1 / N the new variant's share of the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from rollout.frozen import frozen, replace
from rollout.stats.core import (
    Alternative,
    Outcome,
    Significance,
    StatsInputError,
    check_alternative,
    check_level,
    finite_sample,
)
from rollout.stats.distributions import norm_ppf, norm_sf

Method = Literal["auto", "exact", "asymptotic"]
EXACT_MAX_SIZE = 50
# The exact law costs about min(n1, n2) * n1 * n2 integer additions: 100 x 100 figures take a fraction of a second.
EXACT_MAX_WORK = 100 * 100 * 100


@frozen
class _Ranked:
    u: float  # U of the first sample: pairs (x, y) with x > y, ties counting 1/2
    tie_term: float  # sum over tied groups of t^3 - t
    ties: bool


def _rank(x: Sequence[float], y: Sequence[float]) -> _Ranked:
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    rank_sum_x = 0.0
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average = (i + j) / 2.0 + 1.0  # ranks are 1-based; tied values share the average rank
        size = j - i + 1
        tie_term += size**3 - size
        rank_sum_x += average * sum(1 for _, side in pooled[i : j + 1] if side == 0)
        i = j + 1
    n1 = len(x)
    return _Ranked(rank_sum_x - n1 * (n1 + 1) / 2.0, tie_term, tie_term > 0)


@lru_cache(maxsize=16)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1 + n2, n1) arrangements give U = 0, 1, ..., n1 n2: the coefficients of the Gaussian
    binomial [n1 + n2 choose n1]_q = prod_{i=1..n1} (1 - q^(n2 + i)) / (1 - q^i)."""
    size = n1 * n2 + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, n1 + 1):
        shift = n2 + i
        for k in range(size - 1, shift - 1, -1):  # multiply by (1 - q^shift)
            poly[k] -= poly[k - shift]
        for k in range(i, size):  # divide by (1 - q^i): a running sum with step i
            poly[k] += poly[k - i]
    return tuple(poly)


def _exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under the null, exactly (integers until the final division)."""
    counts = _u_counts(n1, n2)
    total = sum(counts)
    return sum(counts[max(u, 0) :]) / total


def mann_whitney_u(
    x: Sequence[float],
    y: Sequence[float],
    alternative: Alternative = "two-sided",
    method: Method = "auto",
    continuity: bool = True,
) -> Significance:
    """Mann-Whitney U test of "x and y come from the same distribution"; ``larger`` means x tends to be larger.

    The statistic is U of ``x`` (scipy's ``statistic``). p-values: exact - P(U >= u) with u = U_x for larger,
    U_y for smaller, max(U_x, U_y) for two-sided (doubled, at most 1); asymptotic - the same tail of the normal
    law with mean n1 n2 / 2 and variance n1 n2 / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1))), the statistic moved
    1/2 towards the mean when ``continuity``. All figures tied: no evidence, p = 1.
    """
    alternative = check_alternative(alternative)
    xs, ys = finite_sample("x", x), finite_sample("y", y)
    n1, n2 = len(xs), len(ys)
    ranked = _rank(xs, ys)
    u_x = ranked.u
    u_y = n1 * n2 - u_x
    tail_u = u_x if alternative == "larger" else u_y if alternative == "smaller" else max(u_x, u_y)
    factor = 2.0 if alternative == "two-sided" else 1.0
    if method == "auto":
        method = "exact" if not ranked.ties and max(n1, n2) <= EXACT_MAX_SIZE else "asymptotic"
    if method == "exact":
        if ranked.ties:
            raise StatsInputError("the exact Mann-Whitney distribution assumes no ties; use the asymptotic method")
        if min(n1, n2) * n1 * n2 > EXACT_MAX_WORK:
            raise StatsInputError(f"samples of {n1} and {n2} figures are too large for the exact law; use asymptotic")
        p = _exact_sf(round(tail_u), n1, n2)
    elif method == "asymptotic":
        n = n1 + n2
        variance = n1 * n2 / 12.0 * ((n + 1) - ranked.tie_term / (n * (n - 1)))
        if variance <= 0:
            return Significance(u_x, 1.0, method)
        numerator = tail_u - n1 * n2 / 2.0 - (0.5 if continuity else 0.0)
        p = norm_sf(numerator / math.sqrt(variance))
    else:
        raise StatsInputError(f"method must be auto, exact or asymptotic, got {method!r}")
    return Significance(u_x, min(1.0, p * factor), method)


def minutes_to_decide(
    probability_larger: float, new_share: float, confidence: float = 0.95, power: float = 0.8
) -> float | None:
    """Noether's total number of figures (both variants together) for a one-sided Mann-Whitney test at level
    1 - ``confidence`` to reach ``power`` when P(new > baseline) = ``probability_larger`` and the new variant
    contributes the share ``new_share`` of the figures. None when P = 1/2 (no amount decides it)."""
    confidence = check_level("confidence", confidence)
    power = check_level("power", power)
    if not 0 < new_share < 1:
        raise StatsInputError(f"new_share must be between 0 and 1, got {new_share!r}")
    if not 0 <= probability_larger <= 1:
        raise StatsInputError(f"probability_larger must be between 0 and 1, got {probability_larger!r}")
    effect = probability_larger - 0.5
    if effect == 0:
        return None
    z = norm_ppf(confidence) + norm_ppf(power)
    return z * z / (12.0 * new_share * (1.0 - new_share) * effect * effect)


@frozen
class LatencyJudgement:
    """The verdict on the new variant's per-minute latency figures against the baseline's."""

    verdict: Outcome
    ratio: float
    confidence: float
    method: str
    new_median: float
    baseline_median: float
    probability_slower: float  # observed P(new / ratio > baseline), ties 1/2; 0.5 = no difference beyond the ratio
    p_slower: float  # evidence that the new variant is slower than ratio x the baseline (small = strong)
    p_within: float  # evidence that it is not
    more_minutes: int | None  # INCONCLUSIVE only: more per-minute figures of each variant that would decide it
    reason: str


def judge_latency(
    new: Sequence[float],
    baseline: Sequence[float],
    ratio: float = 1.0,
    confidence: float = 0.95,
    power: float = 0.8,
) -> LatencyJudgement:
    """PASS, FAIL or INCONCLUSIVE on "is the new variant slower than ``ratio`` x the baseline?" from one figure per
    minute and variant (the module docstring has the method). ``more_minutes`` assumes the observed P and both
    variants adding one figure a minute."""
    confidence = check_level("confidence", confidence)
    power = check_level("power", power)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not (math.isfinite(ratio) and ratio > 0):
        raise StatsInputError(f"the latency ratio must be a number > 0, got {ratio!r}")
    news = finite_sample("new latency figures", new)
    bases = finite_sample("baseline latency figures", baseline)
    divided = [v / ratio for v in news]
    slower = mann_whitney_u(divided, bases, "larger")
    within = mann_whitney_u(divided, bases, "smaller")
    assert slower.statistic is not None  # U is always computed
    probability = slower.statistic / (len(news) * len(bases))
    judged = LatencyJudgement(
        verdict=Outcome.INCONCLUSIVE,
        ratio=float(ratio),
        confidence=confidence,
        method=f"mann-whitney-{slower.method}",
        new_median=_median(news),
        baseline_median=_median(bases),
        probability_slower=probability,
        p_slower=slower.p_value,
        p_within=within.p_value,
        more_minutes=None,
        reason="",
    )
    shown = (
        f"median new {judged.new_median:.4g} vs baseline {judged.baseline_median:.4g} over {len(news)} and "
        f"{len(bases)} minutes (tolerance x{ratio:g})"
    )
    alpha = 1.0 - confidence
    if slower.p_value <= alpha:
        return replace(
            judged,
            verdict=Outcome.FAIL,
            reason=f"slower than the baseline beyond the tolerance: {shown}, p={slower.p_value:.3g}",
        )
    if within.p_value <= alpha:
        return replace(judged, verdict=Outcome.PASS, reason=f"latency within the tolerance: {shown}")
    total = minutes_to_decide(probability, len(news) / (len(news) + len(bases)), confidence, power)
    if total is None:
        return replace(judged, reason=f"not enough evidence either way: {shown}; more minutes alike would not decide")
    share = len(news) / (len(news) + len(bases))
    more = max(1, math.ceil(total * share) - len(news), math.ceil(total * (1 - share)) - len(bases))
    return replace(
        judged,
        more_minutes=more,
        reason=f"not enough evidence either way: {shown}; about {more} more minutes would decide it",
    )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
