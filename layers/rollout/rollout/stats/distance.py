"""How far apart two sets of answers are: an interval for an agreement rate, distances between score samples.

- ``wilson_interval``: the Wilson score interval for a proportion (Wilson, "Probable inference, the law of
  succession, and statistical inference", JASA 1927; recommended over the Wald interval by Brown, Cai & DasGupta,
  "Interval estimation for a binomial proportion", Stat. Sci. 2001 - it stays inside [0, 1] and keeps its
  coverage at 0 or 100% agreement, the usual case for a replay). statsmodels ``proportion_confint(method="wilson")``.
- ``ks_2samp``: the two-sample Kolmogorov-Smirnov statistic D = max |F_new - F_base| over the pooled values and its
  two-sided p-value: exact for small samples (the probability that a uniformly random arrangement of the two
  samples leaves the band |i/m - j/n| < D; Hodges, "The significance probability of the Smirnov two-sample test",
  Arkiv foer Matematik 1958 - computed as the mass leaving the band, so no cancellation), else Kolmogorov's limit
  law with Stephens' finite-sample correction lambda = (sqrt(N) + 0.12 + 0.11 / sqrt(N)) D, N = mn / (m + n)
  (Stephens, JRSS B 1970; Press et al., *Numerical Recipes*, 3rd ed., 14.3). The exact law assumes continuous
  scores; with ties it is conservative. Note that replayed answers are PAIRED (the same requests): KS treats them
  as independent samples, which makes it conservative for positively correlated pairs - the distance itself is
  the figure to judge by.
- ``wasserstein_distance``: the 1-Wasserstein (earth mover's) distance, the integral of |F_new - F_base|
  (Villani, *Optimal Transport*, 2009, ch. 6; scipy ``wasserstein_distance``): in the units of the score, how
  far the mass of one distribution must move to become the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from rollout.stats.core import StatsInputError, check_level, finite_sample
from rollout.stats.distributions import norm_ppf

# Above this many cells (m x n) the exact KS law costs more than ~0.1 s in pure Python: use the limit law.
KS_EXACT_MAX_CELLS = 100_000


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The two-sided Wilson score interval for successes / total at ``confidence``."""
    confidence = check_level("confidence", confidence, low=0.0)
    if total <= 0 or not 0 <= successes <= total:
        raise StatsInputError(f"a proportion needs 0 <= successes <= total and total > 0, got {successes}/{total}")
    z = norm_ppf(1.0 - (1.0 - confidence) / 2.0)
    p = successes / total
    z2n = z * z / total
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / total + z2n / (4.0 * total)) / (1.0 + z2n)
    # At 0 or 100% the bound is exactly 0 or 1; computed, it can miss by a rounding error.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return low, high


def ks_statistic(first: Sequence[float], second: Sequence[float]) -> float:
    """D = max over all values v of |F_first(v) - F_second(v)| (empirical CDFs, right-continuous)."""
    xs, ys = sorted(first), sorted(second)
    m, n = len(xs), len(ys)
    i = j = 0
    best = 0
    while i < m and j < n:
        value = min(xs[i], ys[j])
        while i < m and xs[i] == value:
            i += 1
        while j < n and ys[j] == value:
            j += 1
        best = max(best, abs(i * n - j * m))
    return best / (m * n)


def _ks_exact_sf(m: int, n: int, d: float) -> float:
    """P(D >= d) for samples of m and n continuous values under the null, exactly."""
    # On the lattice of arrangements the ECDF gap at (i, j) is |i n - j m| / (m n): compare integers.
    h = round(d * m * n)
    if h <= 0:
        return 1.0
    # mass[i] = probability of being at (i, s - i) without having left the band; each step is an x with
    # probability (m - i) / (m + n - s), the rest a y (a uniformly random arrangement).
    mass = {0: 1.0}
    outside: list[float] = []
    for s in range(m + n):
        remaining = m + n - s
        nxt: dict[int, float] = {}
        for i, p in mass.items():
            j = s - i
            if i < m:
                q = p * (m - i) / remaining
                if abs((i + 1) * n - j * m) >= h:
                    outside.append(q)
                else:
                    nxt[i + 1] = nxt.get(i + 1, 0.0) + q
            if j < n:
                q = p * (n - j) / remaining
                if abs(i * n - (j + 1) * m) >= h:
                    outside.append(q)
                else:
                    nxt[i] = nxt.get(i, 0.0) + q
        mass = nxt
    return min(1.0, math.fsum(outside))


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for Kolmogorov's limit law K = sup |Brownian bridge|."""
    if x <= 0:
        return 1.0
    if x < 1.0:
        # The theta-function form converges fast for small x: 1 - sqrt(2 pi) / x sum exp(-(2k-1)^2 pi^2 / (8 x^2)).
        total = math.fsum(math.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * x * x)) for k in range(1, 8))
        return max(0.0, 1.0 - math.sqrt(2 * math.pi) / x * total)
    return max(0.0, 2.0 * math.fsum((-1) ** (k - 1) * math.exp(-2.0 * k * k * x * x) for k in range(1, 101)))


def ks_2samp(first: Sequence[float], second: Sequence[float], method: str = "auto") -> tuple[float, float, str]:
    """(D, two-sided p-value, method) of the two-sample Kolmogorov-Smirnov test; ``method`` is auto, exact or
    asymptotic (auto: exact up to ``KS_EXACT_MAX_CELLS`` cells)."""
    xs = finite_sample("first sample", first)
    ys = finite_sample("second sample", second)
    d = ks_statistic(xs, ys)
    m, n = len(xs), len(ys)
    if method == "auto":
        method = "exact" if m * n <= KS_EXACT_MAX_CELLS else "asymptotic"
    if method == "exact":
        return d, _ks_exact_sf(m, n, d), method
    if method == "asymptotic":
        root = math.sqrt(m * n / (m + n))
        return d, min(1.0, kolmogorov_sf((root + 0.12 + 0.11 / root) * d)), method
    raise StatsInputError(f"method must be auto, exact or asymptotic, got {method!r}")


def wasserstein_distance(first: Sequence[float], second: Sequence[float]) -> float:
    """The 1-Wasserstein distance between the empirical distributions: the integral of |F_first - F_second|."""
    xs = sorted(finite_sample("first sample", first))
    ys = sorted(finite_sample("second sample", second))
    m, n = len(xs), len(ys)
    values = sorted(set(xs) | set(ys))
    i = j = 0
    area = []
    for left, right in pairwise(values):
        while i < m and xs[i] <= left:
            i += 1
        while j < n and ys[j] <= left:
            j += 1
        area.append(abs(i / m - j / n) * (right - left))
    return math.fsum(area)
