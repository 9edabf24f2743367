"""Tests of the new variant's error rate against the baseline's, with a tolerance: the Poisson model.

The model: errors are rare, independent events, so each variant's error count is Poisson with mean
rate x invocations (the invocations are the exposure). For error rates of a few percent this is the binomial
model to within the rate itself, and where it differs it overstates the variance, i.e. it is conservative.
The Poisson model is chosen because it makes a relative margin testable EXACTLY: given the total number of errors,
the new variant's share is binomial with a probability fixed by the rate ratio alone (no nuisance parameter) -
Przyborowski & Wilenski, "Homogeneity of results in testing samples from Poisson series", Biometrika 1940;
Lehmann & Romano, *Testing Statistical Hypotheses* (3rd ed., 2005), sec. 4.6 (the UMPU test). The binomial
model has no such exact test for a relative margin, and its exact tests for a difference cost a search over a
nuisance parameter.

The tolerance (``Margin``) is either
- a ``difference``: the new rate may exceed the baseline's by up to ``value`` (0.001 = 0.1 percentage points), or
- a ``ratio``: the new rate may be up to ``value`` times the baseline's (1.2 = 20% more errors).

``margin_test`` tests "new = baseline (+) margin" one- or two-sided (``noninferiority`` builds the verdict on it),
choosing by the smallest expected error count (exact below 5, Cochran's rule):
- ratio, exact: the conditional binomial test above (statsmodels ``test_poisson_2indep(method="exact-cond")``);
- ratio, large counts: its normal approximation, the score test W2 of Gu, Ng, Tang & Schucany, "Testing the ratio
  of two Poisson rates", Biometrical Journal 2008 (statsmodels ``method="score"``);
- difference, large counts: the score test with the restricted maximum-likelihood rates of Ng, Gu & Tang, "A
  comparative study of tests for the difference of two Poisson means", CSDA 2007 (statsmodels ``score``);
- difference, small counts: the E-test of Krishnamoorthy & Thomson, "A more powerful test for comparing two
  Poisson means", J. Stat. Plan. Inference 2004: the exact probability, under the restricted estimate of the
  rates, of a score statistic at least as extreme (statsmodels ``etest_poisson_2indep(method="score")``). It is
  not exact in the strict sense (the nuisance rate is estimated, not maximised over), but Ng et al. 2007 found
  its size close to nominal even for small counts, unlike the normal approximation.
"""

from __future__ import annotations

import math
from typing import Literal

from rollout.frozen import frozen
from rollout.stats.core import (
    Alternative,
    Counts,
    Significance,
    StatsInputError,
    check_alternative,
)
from rollout.stats.distributions import binomial, normal_p_value, poisson
from rollout.stats.proportions import MIN_EXPECTED_COUNT

Method = Literal["auto", "exact", "score"]
# The E-test sums over both Poisson laws; below this probability a pair of counts is left out (the p-value moves
# by less than 1e-15).
_ETEST_NEGLIGIBLE = 1e-17


@frozen
class Margin:
    """The tolerance for harmless differences of the new variant's error rate over the baseline's."""

    kind: Literal["difference", "ratio"]
    value: float

    def __post_init__(self) -> None:
        if self.kind not in ("difference", "ratio"):
            raise StatsInputError(f"a margin is a difference or a ratio, got {self.kind!r}")
        if isinstance(self.value, bool) or not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise StatsInputError(f"the {self.kind} margin must be a finite number, got {self.value!r}")
        if self.kind == "difference" and not 0 <= self.value < 1:
            raise StatsInputError(f"a difference margin is a rate between 0 and 1, got {self.value!r}")
        if self.kind == "ratio" and not self.value >= 1:
            raise StatsInputError(f"a ratio margin must be >= 1 (1.2 = up to 20% more errors), got {self.value!r}")

    @classmethod
    def difference(cls, value: float) -> Margin:
        """The new rate may exceed the baseline's by up to ``value`` (absolute, e.g. 0.001 = 0.1 points)."""
        return cls("difference", value)

    @classmethod
    def ratio(cls, value: float) -> Margin:
        """The new rate may be up to ``value`` times the baseline's (relative, e.g. 1.2)."""
        return cls("ratio", value)

    def shown(self) -> str:
        """The tolerance for a reason line: "+0.1 percentage points" or "x1.2"."""
        return f"+{self.value * 100:.4g} percentage points" if self.kind == "difference" else f"x{self.value:g}"


def conditional_exact_test(
    new: Counts, baseline: Counts, ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> Significance:
    """Exact conditional test of H0: rate_new / rate_base = ``ratio``.

    Given the total errors X, the new variant's errors are Binomial(X, pi0) under H0 with
    pi0 = ratio n_new / (ratio n_new + n_base). Two-sided: the outcomes no more likely than the observed one.
    No errors at all (or no invocations on a side) carry no evidence: p = 1.
    """
    alternative = check_alternative(alternative)
    total = new.errors + baseline.errors
    if total == 0 or new.invocations == 0 or baseline.invocations == 0:
        return Significance(None, 1.0, "exact-conditional")
    share = ratio * new.invocations / (ratio * new.invocations + baseline.invocations)
    return Significance(None, binomial(total, share).p_value(new.errors, alternative), "exact-conditional")


def score_test_ratio(
    new: Counts, baseline: Counts, ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> Significance:
    """Score test (W2) of H0: rate_new / rate_base = ``ratio``: z = (y_new - y_base r) / sqrt((y_new + y_base) r)
    with r = ratio n_new / n_base - the normal approximation of ``conditional_exact_test``."""
    alternative = check_alternative(alternative)
    if new.invocations == 0 or baseline.invocations == 0 or new.errors + baseline.errors == 0:
        return Significance(0.0, 1.0, "score")
    r = ratio * new.invocations / baseline.invocations
    z = (new.errors - baseline.errors * r) / math.sqrt((new.errors + baseline.errors) * r)
    return Significance(z, normal_p_value(z, alternative), "score")


def restricted_rates(y1: float, n1: float, y2: float, n2: float, diff: float) -> tuple[float, float]:
    """The maximum-likelihood rates of y1 errors in n1 invocations and y2 in n2 under rate1 - rate2 = diff
    (Ng, Gu & Tang 2007)."""
    pooled = (y1 + y2) / (n1 + n2) - diff
    rate2 = 0.5 * (pooled + math.sqrt(pooled * pooled + 4.0 * diff * y2 / (n1 + n2)))
    return rate2 + diff, rate2


def _score_diff_statistic(y1: float, n1: float, y2: float, n2: float, diff: float) -> float:
    rate1, rate2 = restricted_rates(y1, n1, y2, n2, diff)
    variance = rate1 / n1 + rate2 / n2
    numerator = y1 / n1 - y2 / n2 - diff
    if variance <= 0.0:
        # Only when diff = 0 and no errors at all: the observation equals the null exactly.
        return 0.0
    return numerator / math.sqrt(variance)


def score_test_difference(
    new: Counts, baseline: Counts, difference: float = 0.0, alternative: Alternative = "two-sided"
) -> Significance:
    """Score test of H0: rate_new - rate_base = ``difference``, variance from the restricted MLE rates."""
    alternative = check_alternative(alternative)
    if new.invocations == 0 or baseline.invocations == 0:
        return Significance(0.0, 1.0, "score")
    z = _score_diff_statistic(new.errors, new.invocations, baseline.errors, baseline.invocations, difference)
    return Significance(z, normal_p_value(z, alternative), "score")


def etest_difference(
    new: Counts, baseline: Counts, difference: float = 0.0, alternative: Alternative = "two-sided"
) -> Significance:
    """E-test of H0: rate_new - rate_base = ``difference`` (Krishnamoorthy & Thomson 2004, score statistic).

    p = P(T(K1, K2) at least as extreme as T(observed)) where K1, K2 are Poisson with the restricted MLE means
    under H0, summed exactly over every pair of counts with visible probability.
    """
    alternative = check_alternative(alternative)
    n1, n2 = new.invocations, baseline.invocations
    if n1 == 0 or n2 == 0:
        return Significance(0.0, 1.0, "etest")
    observed = _score_diff_statistic(new.errors, n1, baseline.errors, n2, difference)
    rate1, rate2 = restricted_rates(new.errors, n1, baseline.errors, n2, difference)
    first, second = poisson(rate1 * n1), poisson(rate2 * n2)
    # Only counts with visible probability matter: pairs below 1e-17 * 1e-3 add up to less than 1e-16.
    kept = [j for j, p2 in enumerate(second.probs) if p2 >= _ETEST_NEGLIGIBLE * 1e-3]
    columns = [(second.start + j, second.probs[j]) for j in range(kept[0], kept[-1] + 1)]
    eps = 1e-13 * max(1.0, abs(observed))  # statistics equal in theory must count as "as extreme"
    total = 0.0
    for i, p1 in enumerate(first.probs):
        if p1 < _ETEST_NEGLIGIBLE:
            continue
        k1 = first.start + i
        row = 0.0
        for k2, p2 in columns:
            t = _score_diff_statistic(k1, n1, k2, n2, difference)
            if alternative == "larger":
                extreme = t >= observed - eps
            elif alternative == "smaller":
                extreme = t <= observed + eps
            else:
                extreme = abs(t) >= abs(observed) - eps
            if extreme:
                row += p2
        total += p1 * row
    return Significance(observed, min(1.0, total), "etest")


def margin_test(
    new: Counts, baseline: Counts, margin: Margin, alternative: Alternative, method: Method = "auto"
) -> Significance:
    """The test of H0: new = baseline (+) margin that ``judge_error_rate`` uses, chosen as the module says."""
    exact = method == "exact" or (method == "auto" and smallest_expected_errors(new, baseline) < MIN_EXPECTED_COUNT)
    if method not in ("auto", "exact", "score"):
        raise StatsInputError(f"method must be auto, exact or score, got {method!r}")
    if margin.kind == "ratio":
        ratio_test = conditional_exact_test if exact else score_test_ratio
        return ratio_test(new, baseline, margin.value, alternative)
    difference_test = etest_difference if exact else score_test_difference
    return difference_test(new, baseline, margin.value, alternative)


def smallest_expected_errors(new: Counts, baseline: Counts) -> float:
    """The smaller of the two variants' expected error counts if both had the pooled rate."""
    population = new.invocations + baseline.invocations
    if population == 0:
        return 0.0
    pooled = (new.errors + baseline.errors) / population
    return min(new.invocations, baseline.invocations) * pooled
