"""Is the new variant's error rate worse than the baseline's beyond a harmless tolerance? (non-inferiority)

``judge_error_rate`` runs two one-sided ``rates.margin_test``s at level 1 - confidence (Schuirmann's TOST logic;
Wellek, *Testing Statistical Hypotheses of Equivalence and Noninferiority*, 2nd ed., 2010, ch. 2):
- FAIL when "new <= baseline (+) margin" is rejected: the new variant is worse beyond the margin;
- PASS when "new >= baseline (+) margin" is rejected: it is not worse beyond the margin;
- INCONCLUSIVE otherwise, with the invocations of the new variant that would give the deciding test 80% power
  (``invocations_to_decide``) if the rates stay as observed and the traffic split as it is.
Both cannot reject at once for confidence > 0.5 (their p-values add up to at least 1).

Assumptions: requests fail independently of each other (a burst of correlated errors - one bad host, one bad
minute - is more evidence here than it really is; the alarms catch such bursts), and both variants see the same
mix of requests over the window (SageMaker splits traffic by weight at random, so they do).
"""

from __future__ import annotations

import math

from rollout.frozen import frozen, replace
from rollout.stats.core import Alternative, Counts, Outcome, StatsInputError, check_level
from rollout.stats.distributions import norm_ppf
from rollout.stats.rates import Margin, Method, margin_test, restricted_rates

_TEST_NAMES = {"exact-conditional": "exact conditional test", "etest": "E-test", "score": "score test"}


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

    The usual normal-approximation sample size of ``rates``' tests, n = ((z_a s0 + z_b s1) / effect)^2 (e.g. Chow,
    Shao & Wang, *Sample Size Calculations in Clinical Research*, 2nd ed., 2008), with
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
    rate1, rate2 = restricted_rates(new_rate, 1.0, baseline_rate * k, k, margin.value)
    s0 = math.sqrt(rate1 + rate2 / k)
    s1 = math.sqrt(new_rate + baseline_rate / k)
    return ((z_a * s0 + z_b * s1) / effect) ** 2


@frozen
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
    level = f"{confidence:.0%} confidence, {_TEST_NAMES.get(worse.method, worse.method)}"
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
