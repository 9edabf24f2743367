"""Mann-Whitney U and the latency verdict, against scipy, a textbook example and simulation."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rollout.stats.core import Outcome, StatsInputError
from rollout.stats.ranks import _u_counts, judge_latency, mann_whitney_u, minutes_to_decide
from scipy import stats

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCIPY_SIDE = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}
SIDES = st.sampled_from(["two-sided", "larger", "smaller"])

distinct_samples = st.lists(st.floats(1.0, 500.0, allow_nan=False), min_size=1, max_size=25, unique=True)
tied_samples = st.lists(st.integers(20, 30).map(float), min_size=1, max_size=40)


def close(ours, reference, rel=1e-9, abs_=1e-14):
    return math.isclose(ours, reference, rel_tol=rel, abs_tol=abs_)


@FAST
@given(distinct_samples, distinct_samples, SIDES)
def test_the_exact_law_matches_scipy(x, y, alternative):
    reference = stats.mannwhitneyu(x, y, alternative=SCIPY_SIDE[alternative], method="exact")
    ours = mann_whitney_u(x, y, alternative, method="exact") if not set(x) & set(y) else None
    if ours is not None:
        assert ours.statistic == reference.statistic and close(ours.p_value, reference.pvalue)


@FAST
@given(tied_samples, tied_samples, SIDES, st.booleans())
def test_the_normal_approximation_with_ties_matches_scipy(x, y, alternative, continuity):
    reference = stats.mannwhitneyu(
        x, y, alternative=SCIPY_SIDE[alternative], method="asymptotic", use_continuity=continuity
    )
    ours = mann_whitney_u(x, y, alternative, method="asymptotic", continuity=continuity)
    assert ours.statistic == reference.statistic
    if math.isnan(reference.pvalue):  # every figure tied: scipy divides 0 by 0
        assert ours.p_value == 1.0
    else:
        assert close(ours.p_value, reference.pvalue)


def test_auto_is_exact_for_untied_canary_sized_samples_and_normal_otherwise():
    untied = [float(v) for v in range(30)]
    assert mann_whitney_u(untied, [v + 0.5 for v in untied]).method == "exact"
    assert mann_whitney_u(untied, untied).method == "asymptotic"  # ties
    assert mann_whitney_u([float(v) for v in range(60)], [v + 0.5 for v in range(60)]).method == "asymptotic"
    with pytest.raises(StatsInputError, match="exact Mann-Whitney distribution assumes no ties"):
        mann_whitney_u([1.0, 2.0], [2.0, 3.0], method="exact")
    with pytest.raises(StatsInputError, match="samples of 150 and 150 figures are too large for the exact law"):
        mann_whitney_u([float(v) for v in range(150)], [v + 0.5 for v in range(150)], method="exact")


def test_the_exact_law_by_hand():
    # Three figures each: the 20 arrangements give U = 0..9 with multiplicities 1 1 2 3 3 3 3 2 1 1 (the
    # Gaussian binomial coefficient [6 choose 3]_q), so P(U >= 8) = 2/20 and P(U >= 0) = 1.
    assert _u_counts(3, 3) == (1, 1, 2, 3, 3, 3, 3, 2, 1, 1)
    slow, fast = [9.0, 10.0, 7.0], [8.0, 1.0, 2.0]  # U = 8: only 7 < 8 breaks the pattern
    assert mann_whitney_u(slow, fast, "larger").statistic == 8.0
    assert mann_whitney_u(slow, fast, "larger").p_value == pytest.approx(2 / 20)
    assert mann_whitney_u(slow, fast, "two-sided").p_value == pytest.approx(4 / 20)
    assert mann_whitney_u(slow, fast, "smaller").p_value == pytest.approx(19 / 20)


def test_one_figure_each_and_all_tied_carry_no_false_evidence():
    assert mann_whitney_u([2.0], [1.0], "larger").p_value == 0.5
    assert mann_whitney_u([5.0, 5.0, 5.0], [5.0, 5.0], "two-sided").p_value == 1.0


def test_an_empty_or_non_finite_sample_is_refused_with_one_clear_line():
    with pytest.raises(StatsInputError, match=r"^x needs at least 1 value\(s\), got 0$"):
        mann_whitney_u([], [1.0])
    with pytest.raises(StatsInputError, match=r"^y\[1\] must be a finite number, got nan$"):
        mann_whitney_u([1.0], [1.0, float("nan")])


# --- the latency verdict -------------------------------------------------------------------------------------


def minutes(rng, centre, count, spread=0.05):
    return list(centre * np.exp(rng.normal(0.0, spread, count)))


def test_a_new_model_twice_as_slow_fails_within_minutes():
    rng = np.random.default_rng(1)
    verdict = judge_latency(minutes(rng, 80.0, 6), minutes(rng, 40.0, 6), ratio=1.2)
    assert verdict.verdict is Outcome.FAIL and verdict.probability_slower == 1.0
    assert verdict.reason.startswith("slower than the baseline beyond the tolerance: median new")


def test_a_model_as_fast_as_the_baseline_passes_within_the_tolerance():
    rng = np.random.default_rng(2)
    verdict = judge_latency(minutes(rng, 40.0, 10), minutes(rng, 40.0, 10), ratio=1.2)
    assert verdict.verdict is Outcome.PASS and verdict.p_within < 0.05


def test_too_few_minutes_are_inconclusive_and_say_how_many_more_would_decide():
    rng = np.random.default_rng(3)
    new, base = minutes(rng, 43.0, 4, 0.1), minutes(rng, 40.0, 4, 0.1)
    verdict = judge_latency(new, base, ratio=1.2)
    assert verdict.verdict is Outcome.INCONCLUSIVE and verdict.more_minutes is not None
    assert f"about {verdict.more_minutes} more minutes would decide it" in verdict.reason
    # With that many more minutes of the same behaviour the verdict is reached (the new model is within 1.2x).
    more = verdict.more_minutes
    later = judge_latency(new + minutes(rng, 43.0, more, 0.1), base + minutes(rng, 40.0, more, 0.1), ratio=1.2)
    assert later.verdict is Outcome.PASS


def test_with_no_tolerance_equal_models_stay_inconclusive():
    same = [40.0, 41.0, 42.0, 43.0]
    verdict = judge_latency(same, same, ratio=1.0)
    assert verdict.verdict is Outcome.INCONCLUSIVE and verdict.more_minutes is None
    assert "more minutes alike would not decide" in verdict.reason


def test_the_verdict_uses_new_divided_by_the_ratio():
    new, base = [50.0, 52.0, 51.0, 53.0, 49.0], [40.0, 41.0, 42.0, 39.0, 43.0]
    divided = [v / 1.25 for v in new]
    verdict = judge_latency(new, base, ratio=1.25)
    assert verdict.p_slower == mann_whitney_u(divided, base, "larger").p_value
    assert verdict.p_within == mann_whitney_u(divided, base, "smaller").p_value


@pytest.mark.parametrize("ratio", [0.0, -1.0, float("inf"), True])
def test_a_nonsense_ratio_is_refused(ratio):
    with pytest.raises(StatsInputError, match="the latency ratio must be a number > 0"):
        judge_latency([1.0], [1.0], ratio=ratio)


def test_noethers_sample_size_worked_example():
    # Noether (1987): N = (z_a + z_b)^2 / (12 c (1 - c) (p - 1/2)^2); for a one-sided 5% test at 80% power,
    # equal groups and P(X > Y) = 0.7: N = 6.183 / (12 * 0.25 * 0.04) = 51.5.
    assert minutes_to_decide(0.7, 0.5, 0.95, 0.8) == pytest.approx((1.6448536 + 0.8416212) ** 2 / 0.12, rel=1e-6)
    assert minutes_to_decide(0.5, 0.5) is None


def test_noethers_sample_size_has_about_80_percent_power_in_simulation():
    # Normal figures shifted by half a standard deviation: P(new > base) = Phi(0.5 / sqrt 2) = 0.638.
    probability = stats.norm.cdf(0.5 / math.sqrt(2))
    per_variant = math.ceil(minutes_to_decide(probability, 0.5) / 2)
    rng = np.random.default_rng(4)
    runs = 300
    rejected = sum(
        mann_whitney_u(list(rng.normal(0.5, 1, per_variant)), list(rng.normal(0, 1, per_variant)), "larger").p_value
        <= 0.05
        for _ in range(runs)
    )
    assert 0.72 <= rejected / runs <= 0.88
