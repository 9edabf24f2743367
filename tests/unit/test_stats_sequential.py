"""The sequential tests: their evidence against scipy, and by simulation that they refuse to stop on noise
(looked at every minute) yet stop early on a clear difference. Seeded, and kept to a few seconds."""

import math

import numpy as np
import pytest
from rollout.stats.core import Counts, StatsInputError
from rollout.stats.proportions import z_test
from rollout.stats.sequential import Period, log_t_bayes_factor, sequential_error_rates, sequential_means
from scipy import integrate, stats

ALPHA = 0.05
LOOKS = 60  # an hour of one-minute looks


def grid(prior_scale=1.0):
    """The mixture the module documents: log rate ratios k/10 prior scales, k = -60..60 without 0, normal weights."""
    thetas = np.array([prior_scale * k / 10 for k in range(-60, 61) if k != 0])
    weights = np.exp(-0.5 * (thetas / prior_scale) ** 2)
    return thetas, weights / weights.sum()


def mixture_reference(periods, null_ratio=1.0, prior_scale=1.0):
    """sum_k w_k prod_t Binom(x_t; X_t, pi_t(theta_k)) / Binom(x_t; X_t, pi_t(0)), with scipy's binomial."""
    thetas, weights = grid(prior_scale)
    log_ratio = np.zeros_like(thetas)
    for (x_new, n_new), (x_base, n_base) in periods:
        total = x_new + x_base
        odds = null_ratio * n_new / n_base
        pi = odds * np.exp(thetas) / (1 + odds * np.exp(thetas))
        log_ratio += stats.binom.logpmf(x_new, total, pi) - stats.binom.logpmf(x_new, total, odds / (1 + odds))
    return float(np.sum(weights * np.exp(log_ratio)))


def as_periods(raw):
    return [Period(Counts(*new), Counts(*base)) for new, base in raw]


@pytest.mark.parametrize(
    "raw, null_ratio",
    [
        ([((3, 1000), (1, 1000))], 1.0),
        ([((3, 1000), (1, 1000)), ((0, 500), (2, 1500)), ((5, 900), (1, 1100))], 1.0),
        ([((12, 2000), (30, 20_000)), ((9, 2100), (25, 19_000))], 1.5),
    ],
)
def test_the_evidence_is_the_documented_mixture_of_binomial_likelihood_ratios(raw, null_ratio):
    result = sequential_error_rates(as_periods(raw), null_ratio=null_ratio)
    assert result.e_value == pytest.approx(max(1.0, mixture_reference(raw, null_ratio)), rel=1e-9)


def test_the_grid_is_a_faithful_picture_of_the_normal_prior():
    # One period, 9 of 10 errors on the new variant at an even split: the grid's mixture is the continuous normal
    # mixture over the log rate ratio with the point 0 (likelihood ratio 1, weight w0 of the full grid) left out.
    def integrand(theta):
        pi = math.exp(theta) / (1 + math.exp(theta))
        return stats.norm.pdf(theta) * stats.binom.pmf(9, 10, pi) / stats.binom.pmf(9, 10, 0.5)

    continuous, _ = integrate.quad(integrand, -12, 12)
    w0 = 1 / sum(math.exp(-0.5 * (k / 10) ** 2) for k in range(-60, 61))
    grid_value = sequential_error_rates(as_periods([((9, 1000), (1, 1000))])).e_value
    assert grid_value == pytest.approx((continuous - w0) / (1 - w0), rel=1e-4)


def simulate_rates(rng, new_rate, base_rate, runs, null_ratio=1.0, naive=False):
    """Runs of LOOKS minutes with ~1000 invocations a minute on each side (the split wandering with traffic)."""
    stopped, at, naive_stops = 0, [], 0
    for _ in range(runs):
        n_new = rng.poisson(rng.uniform(300, 1500), LOOKS)
        n_base = rng.poisson(1000, LOOKS)
        x_new, x_base = rng.binomial(n_new, new_rate), rng.binomial(n_base, base_rate)
        raw = [((int(a), int(b)), (int(c), int(d))) for a, b, c, d in zip(x_new, n_new, x_base, n_base, strict=True)]
        result = sequential_error_rates(as_periods(raw), alpha=ALPHA, null_ratio=null_ratio)
        if result.stopped_at is not None:
            stopped += 1
            at.append(result.stopped_at)
        if naive:  # a fixed-sample z test read at every look, stopping at the first p <= alpha
            cx, cn, cxb, cnb = np.cumsum(x_new), np.cumsum(n_new), np.cumsum(x_base), np.cumsum(n_base)
            naive_stops += any(
                z_test(Counts(int(cx[t]), int(cn[t])), Counts(int(cxb[t]), int(cnb[t]))).p_value <= ALPHA
                for t in range(LOOKS)
            )
    return stopped / runs, at, naive_stops / runs


def test_equal_error_rates_stop_no_more_often_than_alpha_however_often_looked_at():
    rng = np.random.default_rng(16)
    rate, _, naive = simulate_rates(rng, 0.01, 0.01, runs=200, naive=True)
    assert rate <= ALPHA
    # The negative control: the same data, a fixed-sample test peeked at every minute, stops far too often.
    assert naive >= 3 * ALPHA


def test_a_harmless_ratio_under_test_does_not_stop_either():
    rng = np.random.default_rng(17)
    rate, _, _ = simulate_rates(rng, 0.015, 0.01, runs=150, null_ratio=1.5)
    assert rate <= ALPHA


def test_a_doubled_error_rate_stops_early_and_says_which_way():
    rng = np.random.default_rng(18)
    rate, at, _ = simulate_rates(rng, 0.02, 0.01, runs=100)
    assert rate >= 0.95 and np.median(at) <= 10
    worse = sequential_error_rates(as_periods([((20, 1000), (10, 1000))] * 10))
    assert worse.decision == "new_higher" and worse.p_value <= ALPHA and worse.estimate == pytest.approx(2.0)
    assert worse.reason.startswith(f"stopped at look {worse.stopped_at}: the new variant's error rate")
    better = sequential_error_rates(as_periods([((5, 1000), (10, 1000))] * 20))
    assert better.decision == "new_lower"


def test_a_stop_is_final_and_the_always_valid_p_value_never_rises():
    raw = [((20, 1000), (10, 1000))] * 8 + [((5, 1000), (10, 1000))] * 30
    previous_p, first_stop = 1.0, None
    for looks in range(1, len(raw) + 1):
        result = sequential_error_rates(as_periods(raw[:looks]))
        assert result.p_value <= previous_p
        previous_p = result.p_value
        if result.stopped_at is not None:
            first_stop = first_stop if first_stop is not None else result.stopped_at
            assert result.stopped_at == first_stop and result.decision == "new_higher"
    assert first_stop is not None


def test_no_traffic_or_no_errors_is_no_evidence():
    assert sequential_error_rates([]).decision == "continue"
    quiet = sequential_error_rates(as_periods([((0, 1000), (0, 1000)), ((0, 0), (3, 1000))]))
    assert quiet.e_value == 1.0 and quiet.p_value == 1.0 and quiet.decision == "continue"
    assert quiet.reason.startswith("no decision after 2 looks")


# --- means -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t, n_new, n_base, scale", [(1.0, 3, 3, 1.0), (2.5, 10, 7, 0.5), (-3.0, 30, 31, 2.0)])
def test_the_t_bayes_factor_is_the_normal_mixture_of_noncentral_t_densities(t, n_new, n_base, scale):
    effective = 1 / (1 / n_new + 1 / n_base)
    nu = n_new + n_base - 2

    def integrand(delta):
        return stats.nct.pdf(t, nu, delta * math.sqrt(effective)) * stats.norm.pdf(delta, 0, scale)

    mixed, _ = integrate.quad(integrand, -np.inf, np.inf)
    assert math.exp(log_t_bayes_factor(t, n_new, n_base, scale)) == pytest.approx(mixed / stats.t.pdf(t, nu), rel=1e-7)


def test_equal_means_stop_no_more_often_than_alpha():
    rng = np.random.default_rng(26)
    runs = 300
    stopped = sum(
        sequential_means(list(rng.normal(40, 4, LOOKS)), list(rng.normal(40, 4, LOOKS)), alpha=ALPHA).stopped_at
        is not None
        for _ in range(runs)
    )
    assert stopped / runs <= ALPHA


def test_equal_skewed_latencies_compared_as_ratios_stop_no_more_often_than_alpha():
    rng = np.random.default_rng(27)
    runs = 300
    stopped = sum(
        sequential_means(
            list(rng.lognormal(3.7, 0.3, LOOKS)), list(rng.lognormal(3.7, 0.3, LOOKS)), alpha=ALPHA, compare="ratio"
        ).stopped_at
        is not None
        for _ in range(runs)
    )
    assert stopped / runs <= ALPHA


def test_a_clear_slowdown_stops_early():
    rng = np.random.default_rng(28)
    slower, usual = math.log(48), math.log(40)
    stops = [
        sequential_means(
            list(rng.lognormal(slower, 0.1, LOOKS)), list(rng.lognormal(usual, 0.1, LOOKS)), compare="ratio"
        )
        for _ in range(100)
    ]
    assert all(s.decision == "new_higher" for s in stops)
    assert np.median([s.stopped_at for s in stops]) <= 10
    assert np.median([s.estimate for s in stops]) == pytest.approx(1.2, rel=0.05)


def test_a_tolerated_ratio_is_the_null():
    rng = np.random.default_rng(29)
    runs = 200
    stopped = sum(
        sequential_means(
            list(rng.lognormal(math.log(48), 0.2, LOOKS)),
            list(rng.lognormal(math.log(40), 0.2, LOOKS)),
            compare="ratio",
            null_value=1.2,
        ).stopped_at
        is not None
        for _ in range(runs)
    )
    assert stopped / runs <= ALPHA


def test_too_few_or_identical_figures_are_no_evidence():
    assert sequential_means([40.0], [41.0]).decision == "continue"
    flat = sequential_means([40.0] * 10, [40.0] * 10)
    assert flat.e_value == 1.0 and flat.decision == "continue"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0.5}, "alpha must be below 0.5, got 0.5"),
        ({"alpha": 0.0}, "alpha must be a number between 0.0 and 1 (exclusive), got 0.0"),
        ({"prior_scale": 0}, "prior_scale must be a number in (0, 100), got 0"),
        ({"compare": "ratio"}, "a ratio comparison needs figures > 0 (it works on their logarithms)"),
        ({"compare": "median"}, "compare must be difference or ratio, got 'median'"),
        ({"null_value": float("nan")}, "null_value must be a finite number, got nan"),
    ],
)
def test_nonsense_settings_are_refused_with_one_clear_line(kwargs, message):
    with pytest.raises(StatsInputError) as error:
        sequential_means([1.0, 0.0], [1.0, 2.0], **kwargs)
    assert str(error.value) == message
