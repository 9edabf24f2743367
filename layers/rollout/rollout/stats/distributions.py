"""The few distributions the tests need, in pure Python, accurate for counts in the millions.

- The standard normal: ``erfc`` for both tails (so a tiny upper tail is not ``1 - 0.999...``), and the stdlib's
  ``NormalDist.inv_cdf`` (Wichura's AS241, about 1e-16 relative) for quantiles.
- Discrete laws (binomial, hypergeometric, Poisson) as a ``Lattice``: the probabilities over the part of the support
  that holds any mass a double can see, built from the mode outwards by the ratio of successive probabilities
  (each ratio is a short product of rationals, exact to about 1e-16), then normalised. No factorials or lgamma of
  large numbers appear, so two tables that have the same probability in theory get the same probability here to
  ~1e-13 - which is what the two-sided "as or less likely" p-values compare. Cost: proportional to the spread of
  the law (about 80 standard deviations), never to the invocation counts.

Reference: Johnson, Kemp & Kotz, *Univariate Discrete Distributions* (3rd ed., 2005), the recurrences for
successive probabilities (binomial 3.1, Poisson 4.1, hypergeometric 6.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from rollout.frozen import frozen

# Stop walking away from the mode once a probability is this far below it: exp(-750) underflows a double anyway.
_NEGLIGIBLE_LOG = -750.0
# Two probabilities closer than this (relatively) count as equal in "as or less likely" sums (scipy's binomtest uses
# the same 1e-7); it absorbs rounding, never a real difference between distinct tables.
_TIE = 1 + 1e-7


def norm_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_sf(x: float) -> float:
    """P(Z > x) for a standard normal Z (accurate in the far upper tail)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile of ``p`` (0 < p < 1)."""
    # Imported here: ``statistics`` pulls in fractions, decimal and random (about a third of this package's import
    # time), and only planning and intervals need a quantile - p-values do not.
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def normal_p_value(z: float, alternative: str) -> float:
    """The p-value of a standard normal statistic: upper tail for "larger", lower for "smaller", else both."""
    if alternative == "larger":
        return norm_sf(z)
    if alternative == "smaller":
        return norm_cdf(z)
    return min(1.0, 2.0 * norm_sf(abs(z)))


def log_sum_exp(values: list[float]) -> float:
    """log(sum(exp(v))) without overflow; -inf for no values."""
    if not values:
        return -math.inf
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


@frozen
class Lattice:
    """A discrete law on the integers ``start .. start + len(probs) - 1`` (mass outside is below 1e-320)."""

    start: int
    probs: tuple[float, ...]

    def pmf(self, k: int) -> float:
        i = k - self.start
        return self.probs[i] if 0 <= i < len(self.probs) else 0.0

    def cdf(self, k: int) -> float:
        """P(X <= k)."""
        i = k - self.start
        if i < 0:
            return 0.0
        return min(1.0, math.fsum(self.probs[: i + 1]))

    def sf(self, k: int) -> float:
        """P(X >= k) - note: inclusive, the tail a one-sided exact p-value needs."""
        i = max(k - self.start, 0)
        return min(1.0, math.fsum(self.probs[i:]))

    def two_sided(self, k: int) -> float:
        """P(X as likely as k or less): the "minimum likelihood" two-sided p-value (Fisher; scipy's default)."""
        bound = self.pmf(k) * _TIE
        return min(1.0, math.fsum(p for p in self.probs if p <= bound))

    def p_value(self, k: int, alternative: str) -> float:
        """The exact p-value of observing ``k``: "larger" is P(X >= k), "smaller" P(X <= k)."""
        if alternative == "larger":
            return self.sf(k)
        if alternative == "smaller":
            return self.cdf(k)
        return self.two_sided(k)


def _walk(mode: int, low: int, high: int, log_ratio_up: Callable[[int], float]) -> Lattice:
    """Build a Lattice from ``log_ratio_up(k) = log(P(k+1) / P(k))`` on the support ``low .. high``."""
    upper = [0.0]
    k, level = mode, 0.0
    while k < high:
        level += log_ratio_up(k)
        if level < _NEGLIGIBLE_LOG:
            break
        upper.append(level)
        k += 1
    lower: list[float] = []
    k, level = mode, 0.0
    while k > low:
        level -= log_ratio_up(k - 1)
        if level < _NEGLIGIBLE_LOG:
            break
        lower.append(level)
        k -= 1
    levels = lower[::-1] + upper
    total = log_sum_exp(levels)
    return Lattice(mode - len(lower), tuple(math.exp(v - total) for v in levels))


def binomial(n: int, p: float) -> Lattice:
    """Binomial(n, p)."""
    if n == 0 or p <= 0.0:
        return Lattice(0, (1.0,))
    if p >= 1.0:
        return Lattice(n, (1.0,))
    mode = min(n, int((n + 1) * p))
    odds = math.log(p) - math.log1p(-p)
    return _walk(mode, 0, n, lambda k: math.log((n - k) / (k + 1)) + odds)


def hypergeometric(population: int, successes: int, draws: int) -> Lattice:
    """The number of successes among ``draws`` taken without replacement from ``population`` holding ``successes``."""
    low = max(0, draws - (population - successes))
    high = min(successes, draws)
    if low == high:
        return Lattice(low, (1.0,))
    mode = min(max(int((draws + 1) * (successes + 1) / (population + 2)), low), high)

    def up(k: int) -> float:
        return math.log((successes - k) * (draws - k) / ((k + 1) * (population - successes - draws + k + 1)))

    return _walk(mode, low, high, up)


def poisson(mean: float) -> Lattice:
    """Poisson(mean)."""
    if mean <= 0.0:
        return Lattice(0, (1.0,))
    mode = int(mean)
    log_mean = math.log(mean)
    # The support is unbounded above; the walk stops where the mass becomes invisible.
    return _walk(mode, 0, 2**62, lambda k: log_mean - math.log(k + 1))
