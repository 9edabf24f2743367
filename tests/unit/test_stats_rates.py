"""Non-inferiority of the new variant's error rate: the tests against statsmodels, the verdicts, the planning."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rollout.stats.core import Counts, Outcome, StatsInputError
from rollout.stats.noninferiority import invocations_to_decide, judge_error_rate
from rollout.stats.rates import (
    Margin,
    conditional_exact_test,
    etest_difference,
    margin_test,
    score_test_difference,
    score_test_ratio,
)
from scipy import stats
from statsmodels.stats.power import normal_sample_size_one_tail
from statsmodels.stats.rates import _score_diff, etest_poisson_2indep, power_poisson_diff_2indep
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep_reference

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIDES = st.sampled_from(["two-sided", "larger", "smaller"])


def close(ours, reference, rel=1e-8, abs_=1e-12):
    return math.isclose(ours, reference, rel_tol=rel, abs_tol=abs_)


@st.composite
def traffic(draw, max_invocations=2_000_000, max_errors=400):
    invocations = draw(st.integers(1, max_invocations))
    return Counts(draw(st.integers(0, min(invocations, max_errors))), invocations)


def reference(new, base, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return poisson_2indep_reference(new.errors, new.invocations, base.errors, base.invocations, **kwargs)


# --- the tests, against statsmodels ---------------------------------------------------------------------------


@FAST
@given(traffic(), traffic(), st.sampled_from([1.0, 1.1, 1.5, 2.0, 5.0]), SIDES)
def test_the_exact_conditional_test_matches_statsmodels(new, base, ratio, alternative):
    assume(new.errors + base.errors > 0)
    expected = reference(new, base, value=ratio, method="exact-cond", alternative=alternative).pvalue
    assert close(conditional_exact_test(new, base, ratio, alternative).p_value, expected, rel=1e-7)


@FAST
@given(traffic(), traffic(), st.sampled_from([1.0, 1.2, 3.0]), SIDES)
def test_the_ratio_score_test_matches_statsmodels(new, base, ratio, alternative):
    assume(new.errors + base.errors > 0)
    expected = reference(new, base, value=ratio, method="score", alternative=alternative)
    ours = score_test_ratio(new, base, ratio, alternative)
    assert close(ours.statistic, expected.statistic) and close(ours.p_value, expected.pvalue)


@FAST
@given(traffic(), traffic(), st.sampled_from([0.0, 1e-4, 0.001, 0.01, 0.05]), SIDES)
def test_the_difference_score_test_matches_statsmodels(new, base, difference, alternative):
    assume(new.errors + base.errors > 0 or difference > 0)
    expected = reference(new, base, value=difference, method="score", compare="diff", alternative=alternative)
    ours = score_test_difference(new, base, difference, alternative)
    assert close(ours.statistic, expected.statistic) and close(ours.p_value, expected.pvalue)


def etest_reference(new, base, difference, alternative):
    """statsmodels' E-test (``etest_poisson_2indep``, score statistic), recomputed with its own statistic and
    scipy's Poisson law, except that statistics equal up to rounding count as "as extreme": with equal exposures
    many pairs tie exactly (e.g. (0, 1), (1, 3), (3, 6) all give -1), and statsmodels' fixed 1e-15 slack and 1e-20
    variance floor decide such ties by rounding noise."""
    n1, n2 = new.invocations, base.invocations
    observed, rate1, rate2 = _score_diff(new.errors, n1, base.errors, n2, value=difference, return_cmle=True)
    top = int(max(stats.poisson.isf(1e-16, max(rate1 * n1, rate2 * n2)), 100))
    grid = np.arange(top + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = _score_diff(grid[:, None], n1, grid[None, :], n2, value=difference)
    slack = 1e-9 * max(1.0, abs(observed))
    if alternative == "larger":
        mask = statistic >= observed - slack
    elif alternative == "smaller":
        mask = statistic <= observed + slack
    else:
        mask = np.abs(statistic) >= abs(observed) - slack
    weights = stats.poisson.pmf(grid, rate1 * n1)[:, None] * stats.poisson.pmf(grid, rate2 * n2)[None, :]
    return float(weights[mask].sum())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic(20_000, 12), traffic(200_000, 80), st.sampled_from([0.0, 2e-4, 0.001, 0.01]), SIDES)
def test_the_etest_matches_statsmodels(new, base, difference, alternative):
    assume(new.errors + base.errors > 0 or difference > 0)
    ours = etest_difference(new, base, difference, alternative).p_value
    assert close(ours, etest_reference(new, base, difference, alternative), rel=1e-7, abs_=1e-12)


def test_the_etest_matches_statsmodels_where_no_statistics_tie():
    new, base = Counts(3, 4000), Counts(1000, 1_000_000)
    _, expected = etest_poisson_2indep(3, 4000, 1000, 1_000_000, value=0.001, compare="diff", alternative="smaller")
    assert close(etest_difference(new, base, 0.001, "smaller").p_value, expected, rel=1e-9)
    _, expected = etest_poisson_2indep(7, 5000, 20, 90_000, value=0.0, compare="diff", alternative="two-sided")
    assert close(etest_difference(Counts(7, 5000), Counts(20, 90_000), 0.0, "two-sided").p_value, expected, rel=1e-9)


@FAST
@given(traffic(), traffic(), st.sampled_from([Margin.ratio(1.0), Margin.ratio(1.5), Margin.difference(0.001)]))
def test_worse_and_within_cannot_both_be_shown(new, base, margin):
    worse = margin_test(new, base, margin, "larger").p_value
    within = margin_test(new, base, margin, "smaller").p_value
    assert worse + within >= 1 - 1e-9


def test_the_method_follows_the_expected_error_counts():
    rare = (Counts(1, 3000), Counts(40, 60_000))  # 2.05 errors expected on the new variant
    assert margin_test(*rare, Margin.ratio(1.5), "larger").method == "exact-conditional"
    assert margin_test(*rare, Margin.difference(0.001), "larger").method == "etest"
    common = (Counts(25, 3000), Counts(400, 60_000))
    assert margin_test(*common, Margin.ratio(1.5), "larger").method == "score"
    assert margin_test(*common, Margin.difference(0.001), "larger").method == "score"
    assert margin_test(*common, Margin.ratio(1.5), "larger", method="exact").method == "exact-conditional"


# --- verdicts ---------------------------------------------------------------------------------------------------


def test_a_new_model_with_many_more_errors_fails():
    verdict = judge_error_rate(Counts(30, 3000), Counts(60, 60_000), Margin.ratio(1.5))
    assert verdict.verdict is Outcome.FAIL and verdict.p_worse < 0.05
    assert verdict.reason.startswith("error rate worse than the baseline beyond the tolerance: new 1.000% of 3000")


def test_a_new_model_as_good_as_the_baseline_passes_with_enough_traffic():
    verdict = judge_error_rate(Counts(100, 100_000), Counts(1000, 1_000_000), Margin.ratio(1.5))
    assert verdict.verdict is Outcome.PASS and verdict.p_within < 0.05 and verdict.more_invocations is None


def test_a_low_traffic_canary_is_inconclusive_and_says_what_would_decide_it():
    baseline_rate = 0.001
    verdict = judge_error_rate(Counts(0, 500), Counts(60, 60_000), Margin.ratio(2.0))
    assert verdict.verdict is Outcome.INCONCLUSIVE and verdict.method == "exact-conditional"
    assert verdict.more_invocations is not None and verdict.more_invocations > 0
    assert f"about {verdict.more_invocations} more invocations of the new variant" in verdict.reason
    # When that traffic arrives and the new variant stays as clean, the verdict is PASS.
    served = 500 + verdict.more_invocations
    later = judge_error_rate(
        Counts(0, served), Counts(round(served * 120 * baseline_rate), served * 120), Margin.ratio(2)
    )
    assert later.verdict is Outcome.PASS
    # The figure is not padded: at half of it, with the same rates, it is not decided yet.
    short = (500 + served) // 2
    almost = judge_error_rate(
        Counts(0, short), Counts(round(short * 120 * baseline_rate), short * 120), Margin.ratio(2)
    )
    assert almost.verdict is Outcome.INCONCLUSIVE


def test_an_absolute_tolerance_passes_a_model_without_errors_when_traffic_is_enough():
    assert judge_error_rate(Counts(0, 800), Counts(0, 20_000), Margin.difference(0.001)).verdict is Outcome.INCONCLUSIVE
    assert judge_error_rate(Counts(0, 8000), Counts(0, 20_000), Margin.difference(0.001)).verdict is Outcome.PASS


def test_a_relative_tolerance_cannot_be_decided_without_any_error():
    verdict = judge_error_rate(Counts(0, 100_000), Counts(0, 1_000_000), Margin.ratio(1.2))
    assert verdict.verdict is Outcome.INCONCLUSIVE and verdict.more_invocations is None
    assert "a ratio tolerance needs errors to compare" in verdict.reason


def test_rates_exactly_on_the_tolerance_cannot_be_decided():
    verdict = judge_error_rate(Counts(20, 10_000), Counts(100, 100_000), Margin.ratio(2.0))
    assert verdict.verdict is Outcome.INCONCLUSIVE and verdict.more_invocations is None
    assert "the rates sit on the tolerance" in verdict.reason


def test_sides_without_traffic_are_inconclusive():
    nothing_new = judge_error_rate(Counts(0, 0), Counts(5, 1000), Margin.ratio(1.5))
    assert nothing_new.verdict is Outcome.INCONCLUSIVE and "served no invocations yet" in nothing_new.reason
    nothing_old = judge_error_rate(Counts(0, 10), Counts(0, 0), Margin.ratio(1.5))
    assert nothing_old.verdict is Outcome.INCONCLUSIVE and "nothing to compare with" in nothing_old.reason


def test_a_model_that_only_errs_fails_at_once():
    verdict = judge_error_rate(Counts(40, 40), Counts(10, 50_000), Margin.difference(0.01))
    assert verdict.verdict is Outcome.FAIL


@FAST
@given(
    st.integers(500, 200_000),
    st.floats(0.0005, 0.05),
    st.floats(0.2, 3.0),
    st.sampled_from([2.0, 5.0, 20.0]),
    st.sampled_from([Margin.ratio(1.3), Margin.difference(0.002)]),
)
def test_the_planned_invocations_decide_it_when_the_rates_hold(new_invocations, base_rate, factor, split, margin):
    """Scaling an inconclusive window up to the planned size at the observed rates gives a decision."""
    new_rate = base_rate * factor
    base_invocations = round(new_invocations * split)
    new = Counts(round(new_invocations * new_rate), new_invocations)
    base = Counts(round(base_invocations * base_rate), base_invocations)
    verdict = judge_error_rate(new, base, margin)
    assume(verdict.verdict is Outcome.INCONCLUSIVE and verdict.more_invocations is not None)
    served = new_invocations + verdict.more_invocations
    bigger_new = Counts(round(served * new.errors / new.invocations), served)
    base_served = round(served * base.invocations / new.invocations)
    bigger_base = Counts(round(base_served * base.errors / base.invocations), base_served)
    assert judge_error_rate(bigger_new, bigger_base, margin).verdict is not Outcome.INCONCLUSIVE


# --- planning -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "new_rate, base_rate, split, difference",
    [(0.01, 0.012, 3.0, 0.005), (0.002, 0.001, 10.0, 0.0), (0.0, 0.001, 19.0, 0.002), (0.05, 0.01, 1.0, 0.01)],
)
def test_planned_invocations_give_statsmodels_80_percent_power_for_a_difference(new_rate, base_rate, split, difference):
    n = invocations_to_decide(new_rate, base_rate, Margin.difference(difference), split, 0.95, 0.8)
    side = "larger" if new_rate - base_rate - difference > 0 else "smaller"
    power = power_poisson_diff_2indep(
        new_rate, base_rate, n, nobs_ratio=split, value=difference, alpha=0.05, alternative=side, method_var="score"
    ).power
    assert power == pytest.approx(0.8, abs=1e-9)


@pytest.mark.parametrize("new_rate, base_rate, split, ratio", [(0.001, 0.001, 20.0, 2.0), (0.004, 0.001, 4.0, 1.5)])
def test_planned_invocations_for_a_ratio_follow_the_binomial_sample_size_of_the_error_shares(
    new_rate, base_rate, split, ratio
):
    n = invocations_to_decide(new_rate, base_rate, Margin.ratio(ratio), split, 0.95, 0.8)
    pi0, pi1 = ratio / (ratio + split), new_rate / (new_rate + split * base_rate)
    errors = normal_sample_size_one_tail(
        pi1 - pi0, 0.8, 0.05, std_null=math.sqrt(pi0 * (1 - pi0)), std_alternative=math.sqrt(pi1 * (1 - pi1))
    )
    assert n * (new_rate + split * base_rate) == pytest.approx(errors, rel=1e-12)


@pytest.mark.parametrize(
    "new_rate, base_rate, split, margin",
    [
        (0.001, 0.001, 20.0, Margin.ratio(2.0)),  # aiming to PASS, rare errors: the exact conditional test
        (0.006, 0.002, 4.0, Margin.ratio(1.5)),  # aiming to FAIL
        (0.004, 0.004, 5.0, Margin.difference(0.004)),  # aiming to PASS on an absolute tolerance
    ],
)
def test_the_planned_invocations_have_about_80_percent_power_in_simulation(new_rate, base_rate, split, margin):
    n_new = math.ceil(invocations_to_decide(new_rate, base_rate, margin, split, 0.95, 0.8))
    n_base = round(n_new * split)
    rng = np.random.default_rng(20260611)
    decided = 0
    runs = 300
    for x_new, x_base in zip(rng.poisson(new_rate * n_new, runs), rng.poisson(base_rate * n_base, runs), strict=True):
        verdict = judge_error_rate(Counts(int(x_new), n_new), Counts(int(x_base), n_base), margin)
        decided += verdict.verdict is not Outcome.INCONCLUSIVE
    # 300 runs: the standard error of the observed power is 0.023; exact tests on small counts lose a little.
    assert 0.68 <= decided / runs <= 0.92


def test_planning_refuses_nonsense():
    with pytest.raises(StatsInputError, match="baseline_per_new must be > 0"):
        invocations_to_decide(0.01, 0.01, Margin.ratio(1.2), 0.0)
    with pytest.raises(StatsInputError, match=r"power must be a number between 0\.5 and 1"):
        invocations_to_decide(0.01, 0.01, Margin.ratio(1.2), 1.0, power=1.2)


# --- the tolerance ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, value, message",
    [
        (Margin.ratio, 0.8, "a ratio margin must be >= 1 (1.2 = up to 20% more errors), got 0.8"),
        (Margin.difference, -0.01, "a difference margin is a rate between 0 and 1, got -0.01"),
        (Margin.difference, 1.5, "a difference margin is a rate between 0 and 1, got 1.5"),
        (Margin.ratio, float("inf"), "the ratio margin must be a finite number, got inf"),
    ],
)
def test_a_nonsense_tolerance_is_refused_with_one_clear_line(factory, value, message):
    with pytest.raises(StatsInputError) as error:
        factory(value)
    assert str(error.value) == message


@pytest.mark.parametrize("confidence", [0.5, 1.0, 1.2, True])
def test_a_confidence_outside_one_half_to_one_is_refused(confidence):
    with pytest.raises(StatsInputError, match=r"confidence must be a number between 0\.5 and 1"):
        judge_error_rate(Counts(1, 100), Counts(1, 100), Margin.ratio(1.2), confidence=confidence)
