"""The statistical judge (analysis.judge statistical): the verdict of one check from both sides' per-minute
figures, its figures, the policy fields, and the A/B winner by the sequential test."""

from datetime import timedelta

import pytest
from pydantic import ValidationError
from rollout.analysis import HealthObservation, MinuteFigures, VariantFigures, judge, judge_statistically
from rollout.experiment import ab_sequential_winner, ab_winner
from rollout.models.policy import AbTest, Analysis, Policy
from rollout.models.progress import SideFigures, Verdict
from rollout.stats.core import Counts
from rollout.stats.sequential import Period, sequential_error_rates

from .factories import T0

STATISTICAL = Analysis(judge="statistical", error_rate_tolerance=0.005)


def minutes(count, invocations, errors=0, latency=40.0):
    """``count`` minutes of ``invocations`` each, ``errors`` of them failing per minute."""
    return tuple(MinuteFigures(T0 + timedelta(minutes=i), invocations, errors, latency) for i in range(count))


def test_a_clean_new_variant_with_enough_traffic_passes_with_its_figures():
    verdict = judge_statistically(STATISTICAL, minutes(10, 100), minutes(10, 900, 1))
    assert verdict is not None and verdict.verdict is Verdict.PASS, verdict.reason
    figures = verdict.figures
    assert figures is not None
    assert (figures.new_invocations, figures.new_errors) == (1000, 0)
    assert (figures.baseline_invocations, figures.baseline_errors) == (9000, 10)
    assert figures.p_within is not None and figures.p_within <= 0.05
    assert figures.more_invocations is None and "within the tolerance" in verdict.reason


def test_little_traffic_is_inconclusive_and_says_how_many_more_invocations_would_decide():
    verdict = judge_statistically(STATISTICAL, minutes(5, 3), minutes(5, 27))
    assert verdict is not None and verdict.verdict is Verdict.INCONCLUSIVE
    assert verdict.figures is not None and verdict.figures.more_invocations is not None
    assert verdict.figures.more_invocations > 100
    assert f"about {verdict.figures.more_invocations} more invocations" in verdict.reason


def test_the_invocations_promised_do_decide_it_at_the_observed_rates():
    first = judge_statistically(STATISTICAL, minutes(5, 3), minutes(5, 27))
    assert first is not None and first.figures is not None and first.figures.more_invocations is not None
    per_minute = -(-(15 + first.figures.more_invocations) // 5)
    later = judge_statistically(STATISTICAL, minutes(5, per_minute), minutes(5, per_minute * 9))
    assert later is not None and later.verdict is Verdict.PASS, later.reason


def test_a_new_variant_that_fails_more_than_the_tolerance_fails():
    verdict = judge_statistically(STATISTICAL, minutes(10, 100, 5), minutes(10, 900, 1))
    assert verdict is not None and verdict.verdict is Verdict.FAIL
    assert "worse than the baseline beyond the tolerance" in verdict.reason


def test_a_new_variant_slower_beyond_the_latency_tolerance_fails_on_latency():
    verdict = judge_statistically(STATISTICAL, minutes(10, 100, 0, 80.0), minutes(10, 900, 1, 40.0))
    assert verdict is not None and verdict.verdict is Verdict.FAIL and "ModelLatency" in verdict.reason
    assert verdict.figures is not None and verdict.figures.p_slower is not None and verdict.figures.p_slower < 0.05


def test_latency_is_not_judged_when_its_tolerance_is_null():
    analysis = STATISTICAL.model_copy(update={"latency_tolerance_ratio": None})
    verdict = judge_statistically(analysis, minutes(10, 100, 0, 80.0), minutes(10, 900, 1, 40.0))
    assert verdict is not None and verdict.verdict is Verdict.PASS, verdict.reason


def test_without_a_baseline_serving_beside_it_the_statistical_judge_has_nothing_to_compare():
    assert judge_statistically(STATISTICAL, minutes(10, 100), ()) is None
    observed = HealthObservation({}, VariantFigures(1000, 0, 40.0), None, {}, minutes(10, 100), ())
    verdict = judge(STATISTICAL, observed)
    assert verdict.verdict is Verdict.PASS and "nothing to compare" in verdict.reason


def test_an_alarm_and_the_limits_still_bind_beside_the_statistical_judge():
    observed = HealthObservation({"kpi": "ALARM"}, None, None, {}, minutes(10, 100), minutes(10, 900, 1))
    assert judge(STATISTICAL, observed).verdict is Verdict.FAIL
    capped = STATISTICAL.model_copy(update={"max_error_rate": 0.001, "min_invocations": 10})
    noisy = HealthObservation(
        {}, VariantFigures(1000, 4, 40.0), VariantFigures(9000, 10, 40.0), {}, minutes(10, 100), minutes(10, 900, 1)
    )
    verdict = judge(capped, noisy)
    assert verdict.verdict is Verdict.FAIL and "max_error_rate" in verdict.reason


def test_a_relative_tolerance_can_never_pass_without_errors():
    ratio = STATISTICAL.model_copy(update={"error_rate_tolerance": 1.5, "error_rate_tolerance_kind": "ratio"})
    verdict = judge_statistically(ratio, minutes(60, 1000), minutes(60, 1000))
    assert verdict is not None and verdict.verdict is Verdict.INCONCLUSIVE
    assert "a ratio tolerance needs errors" in verdict.reason


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"error_rate_tolerance": 1.5}, "not a difference of rates"),
        ({"error_rate_tolerance": 0.5, "error_rate_tolerance_kind": "ratio"}, "must be >= 1"),
        ({"confidence": 0.4}, "greater than 0.5"),
        ({"judge": "bayesian"}, "'threshold' or 'statistical'"),
    ],
)
def test_bad_judge_fields_are_refused_with_a_clear_message(fields, message):
    with pytest.raises(ValidationError) as caught:
        Analysis.model_validate(fields)
    assert message in str(caught.value)


def test_stopping_an_ab_test_early_needs_the_statistical_judge():
    strategy = {"type": "ab_test", "duration_seconds": 600, "stop_early": True}
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate({"endpoint_name": "e", "strategy": strategy})
    assert "may stop early only with a sequential test" in str(caught.value)
    Policy.model_validate({"endpoint_name": "e", "strategy": strategy, "analysis": {"judge": "statistical"}})


def side(invocations, errors):
    return SideFigures(
        variants=("v",),
        invocations=invocations,
        errors=errors,
        error_rate=errors / invocations,
        latency_ms=40.0,
        value=errors / invocations,
    )


def test_the_sequential_winner_refuses_noise_the_threshold_judge_would_call():
    test = AbTest(duration_seconds=1800, min_invocations=500)
    periods = [Period(Counts(1 if i % 9 else 2, 600), Counts(1 if i % 5 else 2, 600)) for i in range(30)]
    result = sequential_error_rates(periods)
    new = side(600 * 30, sum(p.new.errors for p in periods))
    base = side(600 * 30, sum(p.baseline.errors for p in periods))
    assert ab_winner(test, base, new).winner == "new", "the threshold judge calls a winner on noise"
    verdict = ab_sequential_winner(test, base, new, result)
    assert verdict.winner == "none" and "no significant difference" in verdict.reason


def test_the_sequential_winner_names_the_better_side_and_honours_min_improvement():
    periods = [Period(Counts(0, 600), Counts(12, 600)) for _ in range(3)]
    result = sequential_error_rates(periods)
    assert result.decision == "new_lower"
    new, base = side(1800, 0), side(1800, 36)
    assert ab_sequential_winner(AbTest(duration_seconds=600, min_invocations=500), base, new, result).winner == "new"
    short = ab_sequential_winner(AbTest(duration_seconds=600, min_invocations=5000), base, new, result)
    assert short.winner == "none" and "not enough traffic" in short.reason
    higher = AbTest(duration_seconds=600, min_invocations=500, metric={"direction": "higher_is_better"})
    assert ab_sequential_winner(higher, base, new, result).winner == "baseline"


def test_rollout_status_shows_the_judges_figures_and_what_would_decide_it():
    from rollout_cli.cli import judge_figures_text

    verdict = judge_statistically(STATISTICAL, minutes(5, 3), minutes(5, 27))
    assert verdict is not None and verdict.figures is not None
    text = judge_figures_text(verdict.figures.model_dump(mode="json"))
    assert "new 0/15 errors, baseline 0/135" in text
    assert f"needs about {verdict.figures.more_invocations} more invocations of the new variant" in text
