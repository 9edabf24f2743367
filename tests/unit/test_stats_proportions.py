"""The two-proportion tests and the distributions under them, against scipy and statsmodels."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rollout.stats.core import Counts, StatsInputError
from rollout.stats.distributions import binomial, hypergeometric, norm_cdf, norm_ppf, norm_sf, poisson
from rollout.stats.proportions import compare_error_rates, fisher_exact, smallest_expected_count, z_test
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCIPY_SIDE = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}


def close(ours, reference, rel=1e-8, abs_=1e-13):
    return math.isclose(ours, reference, rel_tol=rel, abs_tol=abs_)


@st.composite
def counts(draw, max_invocations=60):
    invocations = draw(st.integers(0, max_invocations))
    return Counts(draw(st.integers(0, invocations)), invocations)


@st.composite
def production_counts(draw):
    """Canary-sized traffic: up to millions of invocations, errors rare or not."""
    invocations = draw(st.integers(1, 5_000_000))
    rate = draw(st.sampled_from([0.0, 1e-5, 1e-4, 1e-3, 0.01, 0.2]))
    errors = min(invocations, round(invocations * rate * draw(st.floats(0.0, 3.0))))
    return Counts(errors, invocations)


# --- distributions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-40.0, -8.5, -1.96, -0.3, 0.0, 0.7, 1.6448536, 5.0, 12.0, 37.0])
def test_the_normal_tails_match_scipy_even_far_out(x):
    assert close(norm_cdf(x), stats.norm.cdf(x), rel=1e-12, abs_=0)
    assert close(norm_sf(x), stats.norm.sf(x), rel=1e-12, abs_=0)


@pytest.mark.parametrize("p", [1e-300, 1e-12, 1e-4, 0.025, 0.2, 0.5, 0.8, 0.95, 0.999999])
def test_normal_quantiles_match_scipy(p):
    assert close(norm_ppf(p), stats.norm.ppf(p), rel=1e-14, abs_=1e-15)


@FAST
@given(st.integers(0, 3000), st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-9, 1 - 1e-9)))
def test_binomial_probabilities_match_scipy(n, p):
    law = binomial(n, p)
    assert math.isclose(sum(law.probs), 1.0, rel_tol=1e-12)
    for k in {0, n // 3, round(n * p), n}:
        assert close(law.pmf(k), stats.binom.pmf(k, n, p), rel=1e-9, abs_=1e-300)
        assert close(law.cdf(k), stats.binom.cdf(k, n, p), rel=1e-9, abs_=1e-15)
        assert close(law.sf(k), stats.binom.sf(k - 1, n, p), rel=1e-9, abs_=1e-15)


@FAST
@given(st.integers(1, 2_000_000), st.data())
def test_hypergeometric_probabilities_match_scipy_at_production_sizes(population, data):
    successes = data.draw(st.integers(0, min(population, 5000)))
    draws = data.draw(st.integers(0, population))
    law = hypergeometric(population, successes, draws)
    centre = round(draws * successes / population)
    for k in {centre, max(0, centre - 5), centre + 7, law.start}:
        reference = stats.hypergeom.pmf(k, population, successes, draws)
        assert close(law.pmf(k), reference, rel=1e-7, abs_=1e-300)
        assert close(law.cdf(k), stats.hypergeom.cdf(k, population, successes, draws), rel=1e-7, abs_=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1e5))
def test_poisson_probabilities_match_scipy(mean):
    law = poisson(mean)
    for k in {0, int(mean), int(mean + 3 * math.sqrt(mean)) + 1}:
        assert close(law.pmf(k), stats.poisson.pmf(k, mean), rel=1e-8, abs_=1e-300)
        assert close(law.cdf(k), stats.poisson.cdf(k, mean), rel=1e-8, abs_=1e-14)


# --- Fisher's exact test ------------------------------------------------------------------------------------


def fisher_reference(new, base, alternative):
    table = [[new.errors, base.errors], [new.invocations - new.errors, base.invocations - base.errors]]
    return stats.fisher_exact(table, alternative=SCIPY_SIDE[alternative]).pvalue


@FAST
@given(counts(), counts(), st.sampled_from(["two-sided", "larger", "smaller"]))
def test_fisher_matches_scipy_on_small_tables(new, base, alternative):
    assert close(fisher_exact(new, base, alternative).p_value, fisher_reference(new, base, alternative), rel=1e-9)


@FAST
@given(production_counts(), production_counts(), st.sampled_from(["two-sided", "larger", "smaller"]))
def test_fisher_matches_scipy_with_millions_of_invocations(new, base, alternative):
    ours = fisher_exact(new, base, alternative).p_value
    assert close(ours, fisher_reference(new, base, alternative), rel=1e-6, abs_=1e-12)


def test_fisher_on_the_lady_tasting_tea():
    # Fisher (1935): 3 of 4 cups right each way; Agresti, Categorical Data Analysis, sec. 3.5.2: P = 0.243 one-sided.
    right, wrong = Counts(3, 4), Counts(1, 4)
    assert fisher_exact(right, wrong, "larger").p_value == pytest.approx(17 / 70)
    assert fisher_exact(right, wrong, "two-sided").p_value == pytest.approx(34 / 70)


def test_fisher_is_cheap_and_stable_for_millions_of_invocations_and_thousands_of_errors():
    # Rounding would make the symmetric tables' probabilities differ; the two-sided p of a perfectly
    # balanced table must be exactly 1.
    balanced = fisher_exact(Counts(2500, 3_000_000), Counts(2500, 3_000_000))
    assert balanced.p_value == pytest.approx(1.0, abs=1e-12)
    worse = fisher_exact(Counts(2600, 3_000_000), Counts(2400, 3_000_000), "larger").p_value
    assert worse == pytest.approx(fisher_reference(Counts(2600, 3_000_000), Counts(2400, 3_000_000), "larger"))


# --- z test ---------------------------------------------------------------------------------------------------


@FAST
@given(production_counts(), production_counts(), st.sampled_from(["two-sided", "larger", "smaller"]))
def test_pooled_z_matches_statsmodels(new, base, alternative):
    pooled = (new.errors + base.errors) / (new.invocations + base.invocations)
    assume(0 < pooled < 1)
    z, p = proportions_ztest([new.errors, base.errors], [new.invocations, base.invocations], alternative=alternative)
    ours = z_test(new, base, alternative)
    assert close(ours.statistic, z, rel=1e-9, abs_=1e-12)
    assert close(ours.p_value, p, rel=1e-8, abs_=1e-14)


@FAST
@given(counts(500), counts(500))
def test_continuity_corrected_z_squared_is_yates_chi_square(new, base):
    pooled = (new.errors + base.errors) / max(1, new.invocations + base.invocations)
    assume(new.invocations and base.invocations and 0 < pooled < 1)
    table = [[new.errors, base.errors], [new.invocations - new.errors, base.invocations - base.errors]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=True)
    ours = z_test(new, base, "two-sided", continuity=True)
    assert close(ours.statistic**2, chi2, rel=1e-9, abs_=1e-12)
    assert close(ours.p_value, p, rel=1e-8, abs_=1e-14)


def test_continuity_correction_never_crosses_zero_and_is_conservative():
    new, base = Counts(10, 1000), Counts(11, 1000)
    assert z_test(new, base, continuity=True).statistic == 0.0
    assert z_test(Counts(30, 1000), base, continuity=True).p_value > z_test(Counts(30, 1000), base).p_value


# --- choosing and edge cases ----------------------------------------------------------------------------------


def test_the_exact_test_is_chosen_when_any_expected_count_is_below_five():
    rare = (Counts(3, 4000), Counts(40, 80_000))  # 2.0 expected errors on the new variant
    assert smallest_expected_count(*rare) == pytest.approx(4000 * 43 / 84_000)
    assert compare_error_rates(*rare).method == "fisher"
    common = (Counts(30, 4000), Counts(400, 80_000))
    assert compare_error_rates(*common).method == "z"
    assert compare_error_rates(*common, method="exact").method == "fisher"
    assert compare_error_rates(*rare, method="z").method == "z"


@pytest.mark.parametrize(
    "new, base",
    [
        (Counts(0, 0), Counts(5, 100)),  # the new variant served nothing
        (Counts(0, 1000), Counts(0, 1000)),  # no errors anywhere
        (Counts(100, 100), Counts(50, 50)),  # nothing but errors
    ],
)
def test_no_evidence_gives_p_one_not_a_crash(new, base):
    for test in (fisher_exact, z_test, compare_error_rates):
        for alternative in ("two-sided", "larger", "smaller"):
            assert test(new, base, alternative).p_value == 1.0


def test_all_errors_against_none_is_decisive():
    assert fisher_exact(Counts(20, 20), Counts(0, 20), "larger").p_value < 1e-10
    assert fisher_exact(Counts(20, 20), Counts(0, 20), "smaller").p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    "errors, invocations, message",
    [
        (-1, 10, "errors must be a whole number >= 0, got -1"),
        (1.5, 10, "errors must be a whole number >= 0, got 1.5"),
        (11, 10, "errors (11) cannot exceed invocations (10)"),
        (0, float("nan"), "invocations must be a whole number >= 0, got nan"),
        ("3", 10, "errors must be a number, got '3'"),
    ],
)
def test_bad_counts_are_refused_with_one_clear_line(errors, invocations, message):
    with pytest.raises(StatsInputError) as error:
        Counts(errors, invocations)
    assert str(error.value) == message


def test_cloudwatch_float_sums_are_accepted_as_counts():
    counts = Counts(3.0, 1200.0)
    assert (counts.errors, counts.invocations) == (3, 1200) and isinstance(counts.errors, int)


def test_an_unknown_alternative_or_method_is_refused():
    with pytest.raises(StatsInputError, match="alternative must be one of"):
        fisher_exact(Counts(1, 10), Counts(1, 10), "greater")
    with pytest.raises(StatsInputError, match="method must be auto, exact or z"):
        compare_error_rates(Counts(100, 1000), Counts(100, 1000), method="chi2")
