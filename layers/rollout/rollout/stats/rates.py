"""Is the new variant's error rate worse than the baseline's by more than a harmless margin? (non-inferiority)

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

``judge_error_rate`` runs two one-sided tests at level 1 - confidence (Schuirmann's TOST logic; Wellek,
*Testing Statistical Hypotheses of Equivalence and Noninferiority*, 2nd ed., 2010, ch. 2):
- FAIL when "new <= baseline (+) margin" is rejected: the new variant is worse beyond the margin;
- PASS when "new >= baseline (+) margin" is rejected: it is not worse beyond the margin;
- INCONCLUSIVE otherwise, with the invocations of the new variant that would give the deciding test 80% power
  (``invocations_to_decide``) if the rates stay as observed.
Both cannot reject at once for confidence > 0.5 (their p-values add up to at least 1).

The tests, chosen by the smallest expected error count (exact below 5, Cochran's rule):
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
from dataclasses import dataclass, replace
from typing import Literal

from rollout.stats.core import (
    Alternative,
    Counts,
    Outcome,
    Significance,
    StatsInputError,
    check_alternative,
    check_level,
)
from rollout.stats.distributions import binomial, norm_ppf, normal_p_value, poisson
from rollout.stats.proportions import MIN_EXPECTED_COUNT

Method = Literal["auto", "exact", "score"]
# The E-test sums over both Poisson laws; below this probability a pair of counts is left out (the p-value moves
# by less than 1e-15).
_ETEST_NEGLIGIBLE = 1e-17


@dataclass(frozen=True)
class Margin:
    """The tolerance for harmless differences of the new variant's error rate over the baseline's."""

    kind: Literal["difference", "ratio"]
    value: float

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise StatsInputError(f"the {self.kind} margin must be a finite number, got {self.value!r}")
        if self.kind == "difference" and not 0 <= self.value < 1:
            raise StatsInputError(f"a difference margin is a rate between 0 and 1, got {self.value!r}")
        if self.kind == "ratio" and not self.value >= 1:
            raise StatsInputError(f"a ratio margin must be >= 1 (1.2 = up to 20% more errors), got {self.value!r}")
        if self.kind not in ("difference", "ratio"):
            raise StatsInputError(f"a margin is a difference or a ratio, got {self.kind!r}")

    @classmethod
    def difference(cls, value: float) -> Margin:
        """The new rate may exceed the baseline's by up to ``value`` (absolute, e.g. 0.001 = 0.1 points)."""
        return cls("difference", value)

    @classmethod
    def ratio(cls, value: float) -> Margin:
        """The new rate may be up to ``value`` times the baseline's (relative, e.g. 1.2)."""
        return cls("ratio", value)

    def shown(self) -> str:
        return f"+{self.value:.4%}" if self.kind == "difference" else f"x{self.value:g}"


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


def _restricted_rates(y1: float, n1: float, y2: float, n2: float, diff: float) -> tuple[float, float]:
    """Maximum-likelihood rates under rate1 - rate2 = diff (Ng, Gu & Tang 2007, eq. 2.3)."""
    pooled = (y1 + y2) / (n1 + n2) - diff
    rate2 = 0.5 * (pooled + math.sqrt(pooled * pooled + 4.0 * diff * y2 / (n1 + n2)))
    return rate2 + diff, rate2


def _score_diff_statistic(y1: float, n1: float, y2: float, n2: float, diff: float) -> float:
    rate1, rate2 = _restricted_rates(y1, n1, y2, n2, diff)
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
    rate1, rate2 = _restricted_rates(new.errors, n1, baseline.errors, n2, difference)
    first, second = poisson(rate1 * n1), poisson(rate2 * n2)
    eps = 1e-13 * max(1.0, abs(observed))  # equal statistics in theory must count as "as extreme"
    total = 0.0
    for i, p1 in enumerate(first.probs):
        if p1 < _ETEST_NEGLIGIBLE:
            continue
        k1 = first.start + i
        row = 0.0
        for j, p2 in enumerate(second.probs):
            if p1 * p2 < _ETEST_NEGLIGIBLE * 1e-3:
                continue
            t = _score_diff_statistic(k1, n1, second.start + j, n2, difference)
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


def invocations_to_decide(
    new_rate: float,
    baseline_rate: float,
    margin: Margin,
    baseline_per_new: float,
    confidence: float = 0.95,
    power: float = 0.8,
) -> float | None:
    """The invocations of the new variant a one-sided test at level 1 - ``confidence`` needs to reject, with
    probability ``power``, the side of the margin the rates are NOT on - i.e. to decide - if the true rates are
    ``new_rate`` and ``baseline_rate`` and the baseline keeps serving ``baseline_per_new`` invocations for each
    one of the new variant. None when no amount decides it (the rates sit exactly on the margin, or a ratio margin
    with no errors anywhere).

    Normal approximations of the tests above (Chow, Shao & Wang, *Sample Size Calculations in Clinical Research*,
    2nd ed., 2008, ch. 4): n = ((z_a s0 + z_b s1) / effect)^2, with
    - ratio: on the conditional binomial - the share of errors from the new variant is pi1 = r1 / (r1 + k r2)
      against pi0 = rho / (rho + k); the needed total errors X = ((z_a sqrt(pi0 (1-pi0)) + z_b sqrt(pi1 (1-pi1))) /
      (pi1 - pi0))^2 arrive after X / (r1 + k r2) invocations of the new variant;
    - difference: s1^2 = r1 + r2 / k, s0^2 the same at the restricted rates under the margin (statsmodels
      ``power_poisson_diff_2indep(method_var="score")``), effect = r1 - r2 - margin.
    """
    confidence = check_level("confidence", confidence)
    power = check_level("power", power)
    if not baseline_per_new > 0:
        raise StatsInputError(f"baseline_per_new must be > 0, got {baseline_per_new!r}")
    if new_rate < 0 or baseline_rate < 0:
        raise StatsInputError("rates must be >= 0")
    z_a, z_b = norm_ppf(confidence), norm_ppf(power)
    k = baseline_per_new
    if margin.kind == "ratio":
        errors_per_new = new_rate + k * baseline_rate
        if errors_per_new <= 0:
            return None
        pi0 = margin.value / (margin.value + k)
        pi1 = new_rate / errors_per_new
        if pi1 == pi0:
            return None
        spread = z_a * math.sqrt(pi0 * (1 - pi0)) + z_b * math.sqrt(pi1 * (1 - pi1))
        return (spread / (pi1 - pi0)) ** 2 / errors_per_new
    effect = new_rate - baseline_rate - margin.value
    if effect == 0:
        return None
    rate1, rate2 = _restricted_rates(new_rate, 1.0, baseline_rate * k, k, margin.value)
    s0 = math.sqrt(rate1 + rate2 / k)
    s1 = math.sqrt(new_rate + baseline_rate / k)
    return ((z_a * s0 + z_b * s1) / effect) ** 2


@dataclass(frozen=True)
class ErrorRateJudgement:
    """The verdict on the new variant's error rate against the baseline's, with the figures behind it."""

    verdict: Outcome
    margin: Margin
    confidence: float
    method: str
    new_rate: float | None
    baseline_rate: float | None
    p_worse: float  # evidence that the new variant is worse than the baseline beyond the margin (small = strong)
    p_within: float  # evidence that it is within the margin
    more_invocations: int | None  # INCONCLUSIVE only: invocations of the new variant that would decide it
    reason: str


def judge_error_rate(
    new: Counts,
    baseline: Counts,
    margin: Margin,
    confidence: float = 0.95,
    power: float = 0.8,
    method: Method = "auto",
) -> ErrorRateJudgement:
    """PASS, FAIL or INCONCLUSIVE on "is the new error rate worse than the baseline's beyond ``margin``?".

    See the module docstring for the tests. ``more_invocations`` (INCONCLUSIVE only, at least 1) plans for the
    observed rates at the current traffic split with ``invocations_to_decide``; where the test is exact and the
    counts small, the normal approximation promises a little too soon (a clean variant needs about 3 expected
    errors' worth of traffic to show, not 1.645^2 = 2.7), so the plan is then lengthened in steps of 5% until the
    test itself decides at the planned size with the observed rates - the promise the figure makes.
    """
    confidence = check_level("confidence", confidence)
    power = check_level("power", power)
    alpha = 1.0 - confidence
    base_rate, new_rate = baseline.rate, new.rate
    undecided = ErrorRateJudgement(
        verdict=Outcome.INCONCLUSIVE,
        margin=margin,
        confidence=confidence,
        method="none",
        new_rate=new_rate,
        baseline_rate=base_rate,
        p_worse=1.0,
        p_within=1.0,
        more_invocations=None,
        reason="",
    )
    if base_rate is None:
        return replace(undecided, reason="the baseline served no invocations: nothing to compare with")
    if new_rate is None:
        return replace(undecided, reason=f"the new variant served no invocations yet; baseline {_rate(baseline)}")
    worse = margin_test(new, baseline, margin, "larger", method)
    within = margin_test(new, baseline, margin, "smaller", method)
    tested = replace(undecided, method=worse.method, p_worse=worse.p_value, p_within=within.p_value)
    shown = f"new {_rate(new)} vs baseline {_rate(baseline)} (tolerance {margin.shown()})"
    level = f"{confidence:.0%} confidence, {worse.method} test"
    if worse.p_value <= alpha:
        return replace(
            tested,
            verdict=Outcome.FAIL,
            reason=f"error rate worse than the baseline beyond the tolerance: {shown}, p={worse.p_value:.3g} ({level})",
        )
    if within.p_value <= alpha:
        return replace(
            tested,
            verdict=Outcome.PASS,
            reason=f"error rate within the tolerance: {shown}, p={within.p_value:.3g} ({level})",
        )
    needed = None
    if margin.kind == "difference" or new.errors + baseline.errors > 0:
        split = baseline.invocations / new.invocations
        needed = invocations_to_decide(new_rate, base_rate, margin, split, confidence, power)
        if needed is not None:
            needed = _confirmed(new, baseline, margin, needed, alpha, method)
    if needed is not None:
        more = max(1, math.ceil(needed) - new.invocations)
        plural = "s" if more != 1 else ""
        wait = f"about {more} more invocation{plural} of the new variant would decide it ({power:.0%} power)"
        return replace(tested, more_invocations=more, reason=f"not enough evidence either way: {shown}; {wait}")
    if margin.kind == "ratio" and new.errors + baseline.errors == 0:
        wait = "no errors on either side yet, and a ratio tolerance needs errors to compare"
    else:
        wait = "the rates sit on the tolerance, so more invocations at these rates would not decide it"
    return replace(tested, reason=f"not enough evidence either way: {shown}; {wait}")


def _confirmed(new: Counts, baseline: Counts, margin: Margin, needed: float, alpha: float, method: Method) -> float:
    """The smallest plan, from ``needed`` up in 5% steps (at most 30), at which the test decides on the counts
    expected at the observed rates."""
    new_rate, base_rate = new.errors / new.invocations, baseline.errors / baseline.invocations
    split = baseline.invocations / new.invocations
    bound = margin.value * base_rate if margin.kind == "ratio" else base_rate + margin.value
    side: Alternative = "smaller" if new_rate < bound else "larger"
    planned = float(max(math.ceil(needed), new.invocations + 1))
    for _ in range(30):
        n_new, n_base = round(planned), round(planned * split)
        at_new = Counts(min(n_new, round(new_rate * n_new)), n_new)
        at_base = Counts(min(n_base, round(base_rate * n_base)), n_base)
        if margin_test(at_new, at_base, margin, side, method).p_value <= alpha:
            return planned
        planned = math.ceil(planned * 1.05)
    return planned


def _rate(counts: Counts) -> str:
    rate = counts.rate
    return f"{rate:.3%} of {counts.invocations}" if rate is not None else f"none of {counts.invocations}"
