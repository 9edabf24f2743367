"""Is the new variant's error rate different from the baseline's? Two tests on the 2x2 table of counts.

The model: each invocation of a variant fails independently with that variant's probability (binomial counts).
The null hypothesis is equal probabilities. Both tests answer for the NEW variant: ``larger`` means its error rate
is higher than the baseline's.

- ``z_test``: the two-proportion z test with the pooled variance (Agresti, *Categorical Data Analysis*, 3rd ed.,
  2013, sec. 3.1; statsmodels ``proportions_ztest``), optionally with Yates' continuity correction (its square is
  Yates' corrected chi-square, scipy ``chi2_contingency(correction=True)``). The normal approximation wants every
  expected cell count >= 5 (Cochran, "Some methods for strengthening the common chi-square tests", Biometrics
  1954).
- ``fisher_exact``: Fisher's exact test, conditional on the margins: under the null the new variant's error count
  is hypergeometric (Fisher 1935; Agresti sec. 3.5). Computed by ``distributions.hypergeometric`` in log space,
  so millions of invocations and thousands of errors cost only as many terms as the errors spread over. The
  two-sided p-value sums the tables no more likely than the one observed (scipy ``fisher_exact``'s definition).
- ``compare_error_rates``: Fisher when any expected cell count is below 5, else the z test (no continuity
  correction: where the exact test is available the correction only makes the z test more conservative).
"""

from __future__ import annotations

import math
from typing import Literal

from rollout.stats.core import Alternative, Counts, Significance, StatsInputError, check_alternative
from rollout.stats.distributions import hypergeometric, normal_p_value

Method = Literal["auto", "exact", "z"]

# Cochran's rule: below this expected count in any cell the normal approximation is not trusted.
MIN_EXPECTED_COUNT = 5.0


def z_test(
    new: Counts, baseline: Counts, alternative: Alternative = "two-sided", continuity: bool = False
) -> Significance:
    """Pooled two-proportion z test of equal error rates.

    z = (p_new - p_base) / sqrt(p (1 - p) (1/n_new + 1/n_base)) with p the pooled rate. With ``continuity``, the
    absolute difference is first reduced by (1/n_new + 1/n_base) / 2 (Yates), never below zero. Without a
    variance (no invocations on a side, or no errors or only errors in both) there is no evidence: z = 0, p = 1.
    """
    alternative = check_alternative(alternative)
    n1, n2 = new.invocations, baseline.invocations
    if n1 == 0 or n2 == 0:
        return Significance(0.0, 1.0, "z")
    pooled = (new.errors + baseline.errors) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return Significance(0.0, 1.0, "z")
    diff = new.errors / n1 - baseline.errors / n2
    if continuity:
        diff = math.copysign(max(abs(diff) - 0.5 * (1.0 / n1 + 1.0 / n2), 0.0), diff)
    z = diff / math.sqrt(variance)
    return Significance(z, normal_p_value(z, alternative), "z-continuity" if continuity else "z")


def fisher_exact(new: Counts, baseline: Counts, alternative: Alternative = "two-sided") -> Significance:
    """Fisher's exact test of equal error rates on the 2x2 table (errors, successes) x (new, baseline).

    Given the total errors, the new variant's share is hypergeometric(all invocations, all errors, new
    invocations) under the null. One-sided p-values are its tails, two-sided the sum over tables no more
    likely than the observed one. A table with an empty row or column carries no evidence: p = 1.
    """
    alternative = check_alternative(alternative)
    population = new.invocations + baseline.invocations
    errors = new.errors + baseline.errors
    if new.invocations == 0 or baseline.invocations == 0 or errors in (0, population):
        return Significance(None, 1.0, "fisher")
    law = hypergeometric(population, errors, new.invocations)
    return Significance(None, law.p_value(new.errors, alternative), "fisher")


def smallest_expected_count(new: Counts, baseline: Counts) -> float:
    """The smallest of the four expected cell counts under equal rates (0 when a side served nothing)."""
    population = new.invocations + baseline.invocations
    if population == 0:
        return 0.0
    errors = new.errors + baseline.errors
    ok = population - errors
    return min(n * m / population for n in (new.invocations, baseline.invocations) for m in (errors, ok))


def compare_error_rates(
    new: Counts, baseline: Counts, alternative: Alternative = "two-sided", method: Method = "auto"
) -> Significance:
    """Test equal error rates, choosing the test: Fisher's exact test if any expected count is below 5
    (``method="auto"``), else the pooled z test; ``method`` forces one."""
    if method == "exact" or (method == "auto" and smallest_expected_count(new, baseline) < MIN_EXPECTED_COUNT):
        return fisher_exact(new, baseline, alternative)
    if method not in ("auto", "z"):
        raise StatsInputError(f"method must be auto, exact or z, got {method!r}")
    return z_test(new, baseline, alternative)
