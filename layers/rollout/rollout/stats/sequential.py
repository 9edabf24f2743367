"""Sequential tests for A/B tests that may stop early: valid however often, and whenever, they are looked at.

A fixed-sample test looked at every minute and stopped at the first p < alpha rejects a true null far more often
than alpha (Armitage, McPherson & Rowe, JRSS A 1969; in A/B testing, Johari, Pekelis & Walsh, "Always valid
inference: continuous monitoring of A/B tests", Operations Research 2022). The cure used here is theirs: a
mixture likelihood ratio Lambda_t that is a nonnegative (super)martingale under the null, so by Ville's
inequality P(Lambda_t >= 1/alpha at ANY look) <= alpha, and the always-valid p-value p_t = min(1, 1 / max_s<=t
Lambda_s) may be read at every look and the test stopped at the first p_t <= alpha (the mSPRT).

Why a mixture martingale and not a group-sequential alpha-spending boundary (O'Brien-Fleming, Lan-DeMets): those
need the number and timing of the looks, or the information fraction, fixed in advance; an A/B test here is
looked at on every check, for a duration the policy may change, with traffic that varies. The mixture needs
nothing in advance. Unlike Johari et al.'s normal-approximation mSPRT, both tests below are valid exactly, not
only for large samples - which matters in the first minutes, when an early stop is most tempting:

- ``sequential_error_rates``: per period (minute), condition on the period's total errors X_t; under the
  Poisson model (``rates``) the new variant's share is Binomial(X_t, pi0_t) with pi0_t = rho0 n_new / (rho0 n_new
  + n_base) - no nuisance parameter. Lambda_t = sum_theta w(theta) prod_s LR_s(theta), the likelihood ratio of
  rate ratio rho0 e^theta against rho0, mixed over theta ~ N(0, prior_scale^2) discretised on a grid (a discrete
  mixture with weights summing to 1 is itself a martingale, so the grid costs power, never validity). Under the
  binomial model and rho0 = 1 the share is hypergeometric instead, which is smaller in convex order than the
  binomial (Hoeffding, JASA 1963, Thm. 4) - the likelihood ratio is convex in the share, so Lambda is then a
  supermartingale: still valid, slightly conservative.
- ``sequential_means``: one figure per minute and variant (latency, any CloudWatch metric); Gaussian figures with
  an unknown common variance. Lambda_t is the Bayes factor of the two-sample t statistic with a N(0,
  prior_scale^2) prior on the standardised effect and the right-Haar prior 1/sigma on the nuisance parameters
  (Goenen, Johnson, Lu & Westfall, "The Bayesian two-sample t test", Am. Stat. 2005, closed form); such Bayes
  factors are test martingales under the null for any variance (Hendriksen, de Heide & Gruenwald, "Optional
  stopping with Bayes factors", Bayesian Analysis 2021; Perez-Ortiz, Lardy, de Heide & Gruenwald, "E-statistics,
  group invariance and anytime-valid testing", Ann. Stat. 2024). ``compare="ratio"`` works on the logs of the
  figures (latency is skewed and its changes multiplicative).

Both mixtures are symmetric around the null; when Lambda crosses 1/alpha the direction is the side the estimate
is on (by symmetry a wrong-direction stop is rarer than alpha / 2 under the null). Assumptions: requests (and
minutes, for the means) are independent, and the order of the looks does not depend on the data (the test may
stop on the data - that is the point - but not skip or reorder periods).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from rollout.frozen import frozen
from rollout.stats.core import Counts, StatsInputError, check_level, finite_sample
from rollout.stats.distributions import log_sum_exp

Decision = Literal["new_higher", "new_lower", "continue"]
# The prior grid of log rate ratios: +-6 prior standard deviations in steps of 0.1 of one (0 left out: its
# likelihood ratio is always 1 and would only dilute the mixture).
_GRID_HALF_WIDTH = 6.0
_GRID_STEPS_PER_SCALE = 10


@frozen
class Period:
    """One period's (say, one minute's) traffic on both variants."""

    new: Counts
    baseline: Counts


@frozen
class SequentialResult:
    """Where a sequential test stands after the looks so far."""

    decision: Decision  # "continue" until Lambda first reaches 1/alpha; then fixed for good
    p_value: float  # always valid: min(1, 1 / the largest Lambda so far)
    e_value: float  # the largest Lambda so far (the evidence against the null)
    stopped_at: int | None  # 0-based index of the look where it first crossed, None while it continues
    looks: int
    estimate: float | None  # new / baseline rate ratio (rates, ratio) or mean difference, when first crossed or now
    reason: str


def _check(alpha: float, prior_scale: float) -> None:
    check_level("alpha", alpha, low=0.0)
    if alpha >= 0.5:
        raise StatsInputError(f"alpha must be below 0.5, got {alpha!r}")
    if isinstance(prior_scale, bool) or not isinstance(prior_scale, int | float) or not 0 < prior_scale < 100:
        raise StatsInputError(f"prior_scale must be a number in (0, 100), got {prior_scale!r}")


def _grid(prior_scale: float) -> tuple[list[float], list[float]]:
    steps = int(_GRID_HALF_WIDTH * _GRID_STEPS_PER_SCALE)
    thetas = [prior_scale * k / _GRID_STEPS_PER_SCALE for k in range(-steps, steps + 1) if k != 0]
    raw = [-0.5 * (theta / prior_scale) ** 2 for theta in thetas]
    norm = log_sum_exp(raw)
    return thetas, [w - norm for w in raw]


def _result(
    decision: Decision, best_log: float, stopped_at: int | None, looks: int, estimate: float | None, what: str
) -> SequentialResult:
    e_value = math.exp(min(best_log, 700.0))
    p_value = min(1.0, math.exp(-best_log))
    if decision == "continue":
        reason = f"no decision after {looks} looks: {what}, always-valid p={p_value:.3g}"
    else:
        side = "higher" if decision == "new_higher" else "lower"
        reason = f"stopped at look {stopped_at}: the new variant's {what} is {side}, always-valid p={p_value:.3g}"
    return SequentialResult(decision, p_value, e_value, stopped_at, looks, estimate, reason)


def sequential_error_rates(
    periods: Sequence[Period], alpha: float = 0.05, null_ratio: float = 1.0, prior_scale: float = 1.0
) -> SequentialResult:
    """The mixture sequential test of "rate_new / rate_base = ``null_ratio``" over the periods so far (oldest
    first; pass them all at every look - the result is the same as if each had been looked at in turn).

    ``prior_scale`` is the standard deviation of the log rate ratio the mixture expects (1: ratios of 1/e .. e
    are typical); the test detects those sizes soonest and stays valid for any.
    """
    _check(alpha, prior_scale)
    if isinstance(null_ratio, bool) or not isinstance(null_ratio, int | float) or not 0 < null_ratio < math.inf:
        raise StatsInputError(f"null_ratio must be a number > 0, got {null_ratio!r}")
    thetas, log_weights = _grid(prior_scale)
    scaled = [math.exp(theta) for theta in thetas]
    cumulative = [0.0] * len(thetas)
    threshold = math.log(1.0 / alpha)
    best, stopped_at = 0.0, None
    decision: Decision = "continue"
    observed = expected = 0.0  # the new variant's errors, and what the null expects of them
    errors = [0, 0]
    invocations = [0, 0]
    estimate_at_stop: float | None = None
    for index, period in enumerate(periods):
        n_new, n_base = period.new.invocations, period.baseline.invocations
        x_new, total = period.new.errors, period.new.errors + period.baseline.errors
        errors[0] += x_new
        errors[1] += period.baseline.errors
        invocations[0] += n_new
        invocations[1] += n_base
        if total and n_new and n_base:
            odds = null_ratio * n_new / n_base  # the null's odds that an error came from the new variant
            log_null = math.log1p(odds)
            for i, factor in enumerate(scaled):
                cumulative[i] += x_new * thetas[i] + total * (log_null - math.log1p(odds * factor))
            observed += x_new
            expected += total * odds / (1.0 + odds)
            level = log_sum_exp([w + c for w, c in zip(log_weights, cumulative, strict=True)])
            best = max(best, level)
            if stopped_at is None and level >= threshold:
                stopped_at = index
                decision = "new_higher" if observed > expected else "new_lower"
                estimate_at_stop = _ratio(errors, invocations)
    looks = len(periods)
    estimate = estimate_at_stop if stopped_at is not None else _ratio(errors, invocations)
    shown = f"error rate (rate ratio {estimate:.3g})" if estimate is not None else "error rate"
    return _result(decision, best, stopped_at, looks, estimate, shown)


def _ratio(errors: list[int], invocations: list[int]) -> float | None:
    if not invocations[0] or not invocations[1] or not errors[1]:
        return None
    return (errors[0] / invocations[0]) / (errors[1] / invocations[1])


def log_t_bayes_factor(t: float, n_new: int, n_base: int, prior_scale: float = 1.0) -> float:
    """log of Goenen et al.'s (2005) Bayes factor for the pooled two-sample t statistic ``t`` (H1: standardised
    effect ~ N(0, prior_scale^2) against H0: no effect):
    BF = (1 + n_d g)^(-1/2) ((1 + t^2 / v) / (1 + t^2 / (v (1 + n_d g))))^((v + 1) / 2),
    n_d = 1 / (1 / n_new + 1 / n_base), v = n_new + n_base - 2, g = prior_scale^2."""
    nu = n_new + n_base - 2
    if n_new < 1 or n_base < 1 or nu < 1:
        raise StatsInputError("the t Bayes factor needs a figure of each variant and three in all")
    spread = prior_scale * prior_scale / (1.0 / n_new + 1.0 / n_base)
    return -0.5 * math.log1p(spread) + (nu + 1) / 2.0 * (
        math.log1p(t * t / nu) - math.log1p(t * t / (nu * (1.0 + spread)))
    )


class _Running:
    """Welford's running mean and sum of squared deviations (stable for figures with a large common offset)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.squares = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.squares += delta * (value - self.mean)


def sequential_means(
    new: Sequence[float],
    baseline: Sequence[float],
    alpha: float = 0.05,
    compare: Literal["difference", "ratio"] = "difference",
    null_value: float | None = None,
    prior_scale: float = 1.0,
) -> SequentialResult:
    """The sequential t test of "mean_new - mean_base = ``null_value``" (``difference``, default 0) or of
    "geometric mean_new / geometric mean_base = ``null_value``" (``ratio``, default 1; the figures must be > 0),
    from one figure per look and variant, oldest first. Look t sees the first t figures of each variant.

    ``prior_scale`` is the standard deviation of the standardised effect (difference / per-minute spread) the
    mixture expects; the test is valid for any.
    """
    _check(alpha, prior_scale)
    news = finite_sample("new figures", new, minimum=0)
    bases = finite_sample("baseline figures", baseline, minimum=0)
    default = 1.0 if compare == "ratio" else 0.0
    value = default if null_value is None else null_value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StatsInputError(f"null_value must be a finite number, got {null_value!r}")
    if compare == "ratio":
        if any(v <= 0 for v in news + bases):
            raise StatsInputError("a ratio comparison needs figures > 0 (it works on their logarithms)")
        if value <= 0:
            raise StatsInputError(f"a ratio's null_value must be > 0, got {null_value!r}")
        null = math.log(value)
        news, bases = [math.log(v) for v in news], [math.log(v) for v in bases]
    elif compare == "difference":
        null = float(value)
    else:
        raise StatsInputError(f"compare must be difference or ratio, got {compare!r}")
    first, second = _Running(), _Running()
    threshold = math.log(1.0 / alpha)
    best, stopped_at, estimate_at_stop = 0.0, None, None
    decision: Decision = "continue"
    looks = max(len(news), len(bases))
    for index in range(looks):
        if index < len(news):
            first.add(news[index])
        if index < len(bases):
            second.add(bases[index])
        nu = first.count + second.count - 2
        if first.count < 1 or second.count < 1 or nu < 1:
            continue
        variance = (first.squares + second.squares) / nu
        if variance <= 0:
            continue  # identical figures so far: no scale to judge a difference by
        difference = first.mean - second.mean - null
        t = difference / math.sqrt(variance * (1.0 / first.count + 1.0 / second.count))
        level = log_t_bayes_factor(t, first.count, second.count, prior_scale)
        best = max(best, level)
        if stopped_at is None and level >= threshold:
            stopped_at = index
            decision = "new_higher" if difference > 0 else "new_lower"
            estimate_at_stop = first.mean - second.mean
    estimate: float | None
    if stopped_at is not None:
        estimate = estimate_at_stop
    else:
        estimate = first.mean - second.mean if first.count and second.count else None
    if compare == "ratio" and estimate is not None:
        estimate = math.exp(estimate)
    what = "mean" if compare == "difference" else "geometric mean"
    shown = (
        f"{what} ({'difference' if compare == 'difference' else 'ratio'} {estimate:.4g})"
        if estimate is not None
        else what
    )
    return _result(decision, best, stopped_at, looks, estimate, shown)
