"""Reading SageMaker's response formats, and comparing two models' answers (against scipy and statsmodels)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rollout.stats.answers import Answer, AnswerParseError, compare_answers, parse_answers
from rollout.stats.core import StatsInputError
from rollout.stats.distance import (
    KS_EXACT_MAX_CELLS,
    kolmogorov_sf,
    ks_2samp,
    ks_statistic,
    wasserstein_distance,
    wilson_interval,
)
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scores = st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=1, max_size=40)
rounded_scores = scores.map(lambda values: [round(v, 1) for v in values])  # plenty of ties


# --- parsing: the shapes SageMaker's built-in algorithms answer with ---------------------------------------------


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        # linear learner / factorization machines, binary classification (JSON and JSONLINES)
        (
            '{"predictions": [{"score": 0.4, "predicted_label": 0}, {"score": 0.9, "predicted_label": 1}]}',
            "application/json",
            [Answer("0", (0.4,)), Answer("1", (0.9,))],
        ),
        ('{"score": 0.4, "predicted_label": 0}\n{"score": 0.7, "predicted_label": 1}\n', "application/jsonlines",
         [Answer("0", (0.4,)), Answer("1", (0.7,))]),
        # linear learner, multiclass
        (
            '{"predictions": [{"score": [0.1, 0.2, 0.4, 0.3], "predicted_label": 2}]}',
            "application/json",
            [Answer("2", (0.1, 0.2, 0.4, 0.3))],
        ),
        # regression, and XGBoost's JSON answer
        ('{"predictions": [{"score": 0.4}, {"score": 0.45}]}', "application/json; charset=utf-8",
         [Answer(None, (0.4,)), Answer(None, (0.45,))]),
        # XGBoost selectable inference output: "labels" lists every class and is not the answer
        (
            '{"predictions": [{"predicted_label": 1, "labels": [0, 1], "probabilities": [0.2, 0.8]}]}',
            "application/json",
            [Answer("1", (0.2, 0.8))],
        ),
        # k-NN: the class as a float
        ('{"predictions": [{"predicted_label": 2.0}]}', "application/json", [Answer("2", ())]),
        # BlazingText: ranked labels with their probabilities
        ('[{"label": ["__label__1", "__label__0"], "prob": [0.98, 0.02]}]', "application/json",
         [Answer("__label__1", (0.98, 0.02))]),
        # TF Serving / a bare list of scores, of score vectors
        ('{"predictions": [[0.1, 0.9], [0.7, 0.3]]}', "application/json", [Answer(None, (0.1, 0.9)),
                                                                          Answer(None, (0.7, 0.3))]),
        ("[0.25, 0.5]", "application/json", [Answer(None, (0.25,)), Answer(None, (0.5,))]),
        ('{"scores": [0.25, 0.5]}', "application/json", [Answer(None, (0.25,)), Answer(None, (0.5,))]),
        ('"cat"', "application/json", [Answer("cat", ())]),
        # XGBoost text/csv: one score per line, or one line of class probabilities per record (values may be quoted)
        ("0.43\n0.45\n0.06\n", "text/csv", [Answer(None, (0.43,)), Answer(None, (0.45,)), Answer(None, (0.06,))]),
        ('"0.1","0.9"\n"0.6","0.4"\n', "TEXT/CSV", [Answer(None, (0.1, 0.9)), Answer(None, (0.6, 0.4))]),
        ("cat,0.93\ndog,0.71\n\n", "text/csv", [Answer("cat", (0.93,)), Answer("dog", (0.71,))]),
        (b"1\n0\n", "text/csv", [Answer(None, (1.0,)), Answer(None, (0.0,))]),
    ],
)  # fmt: skip
def test_the_built_in_algorithms_response_formats_are_read(body, content_type, expected):
    assert parse_answers(body, content_type) == expected


def test_numbers_can_be_read_as_class_labels():
    assert parse_answers("2.0\n1\n", "text/csv", numbers_as_labels=True) == [Answer("2"), Answer("1")]
    assert parse_answers("[2.0, 1]", "application/json", numbers_as_labels=True) == [Answer("2"), Answer("1")]


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        ("0.5", "application/x-recordio-protobuf",
         "content type 'application/x-recordio-protobuf' cannot be compared; supported: text/csv, application/json, "
         "application/jsonlines"),
        (b"\xff\xfe0.5", "text/csv", "the body is not UTF-8 text (byte 0)"),
        ('{"predictions": [0.5,', "application/json",
         "the body: not valid JSON (Expecting value at line 1 column 22)"),
        ('{"predictions": [{"mean": NaN}]}', "application/json", "NaN is not a finite score"),
        ('{"predictions": [{"score": 0.1}, {"confidence": 0.3}]}', "application/json",
         "the body.predictions[1]: none of the known fields (predicted_label, label, score, scores, predicted_score, "
         "probabilities, probability, prob, mean); it has confidence"),
        ('{"predictions": [[[0.1]]]}', "application/json",
         "the body.predictions[0]: a nested list is not a record this comparison can read"),
        ('{"predictions": [{"score": "high"}]}', "application/json",
         "the body.predictions[0].score: expected a number, got 'high'"),
        ("0.5\ncat,dog\n", "text/csv", "line 2: 2 text fields (cat, dog); one label at most"),
        ("0.5\ninf\n", "text/csv", "line 2: 'inf' is not a finite score"),
        ('{"score": 1}\n{oops}\n', "application/jsonlines",
         "line 2: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_gets_one_clear_line(body, content_type, message):
    with pytest.raises(AnswerParseError) as error:
        parse_answers(body, content_type)
    assert str(error.value) == message


# --- the distances, against scipy / statsmodels -------------------------------------------------------------------


@FAST
@given(st.integers(0, 500), st.integers(1, 500), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_the_wilson_interval_matches_statsmodels(successes, total, confidence):
    successes = min(successes, total)
    low, high = wilson_interval(successes, total, confidence)
    ref_low, ref_high = proportion_confint(successes, total, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12) and high == pytest.approx(ref_high, abs=1e-12)


@FAST
@given(st.one_of(scores, rounded_scores), st.one_of(scores, rounded_scores))
def test_the_ks_statistic_and_exact_p_value_match_scipy(first, second):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reference = stats.ks_2samp(first, second, method="exact")
    d, p, _ = ks_2samp(first, second, method="exact")
    assert d == pytest.approx(reference.statistic, abs=1e-12)
    # scipy falls back to its limit law when rounding puts its exact p a hair above 1 (D = 1/n for equal sizes,
    # where the exact p is 1: the first step already leaves the band).
    assume(not any("Exact calculation unsuccessful" in str(w.message) for w in caught))
    assert p == pytest.approx(reference.pvalue, rel=1e-8, abs=1e-14)


def test_the_smallest_gap_between_equal_samples_is_certain():
    assert ks_2samp([0.0] * 7, [0.0] * 6 + [1.0]) == (pytest.approx(1 / 7), 1.0, "exact")


@pytest.mark.parametrize("x", [0.1, 0.5, 0.8, 1.0, 1.36, 2.0, 3.5])
def test_the_kolmogorov_limit_law_matches_scipy(x):
    assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("m, n, shift", [(400, 400, 0.0), (400, 400, 0.15), (300, 2000, 0.1)])
def test_large_samples_use_the_limit_law_within_a_few_percent_of_scipys_exact_p(m, n, shift):
    assert m * n > KS_EXACT_MAX_CELLS
    first = list(stats.norm.ppf((0.5 + np.arange(m)) / m))
    second = list(stats.norm.ppf((0.5 + np.arange(n)) / n) + shift)
    d, p, method = ks_2samp(first, second)
    assert method == "asymptotic"
    assert d == pytest.approx(ks_statistic(first, second))
    assert p == pytest.approx(stats.ks_2samp(first, second, method="exact").pvalue, rel=0.06)


@FAST
@given(st.one_of(scores, rounded_scores), st.one_of(scores, rounded_scores))
def test_the_wasserstein_distance_matches_scipy(first, second):
    assert wasserstein_distance(first, second) == pytest.approx(
        stats.wasserstein_distance(first, second), rel=1e-9, abs=1e-12
    )


def test_one_value_each():
    assert ks_2samp([1.0], [2.0]) == (1.0, 1.0, "exact")
    assert wasserstein_distance([1.0], [2.5]) == 1.5


# --- comparing answers ------------------------------------------------------------------------------------------


def test_identical_answers_agree_fully_and_are_zero_apart():
    answers = parse_answers('{"predictions": [{"score": 0.4, "predicted_label": 0}, {"score": 0.8, '
                            '"predicted_label": 1}]}', "application/json")  # fmt: skip
    result = compare_answers(answers, answers)
    assert result.labels.rate == 1.0 and result.labels.high == 1.0 and result.labels.low < 1.0
    assert result.scores.mean_abs_difference == 0.0 and result.scores.ks_statistic == 0.0
    assert result.scores.wasserstein == 0.0 and result.examples == () and result.shape_mismatches == 0


def test_disagreements_are_counted_measured_and_shown():
    baseline = [Answer(str(i % 2), (0.1 * (i % 10),)) for i in range(100)]
    new = [Answer(str((i + (i % 10 == 3)) % 2), (0.1 * (i % 10) + (0.05 if i % 4 == 0 else 0.0),)) for i in range(100)]
    result = compare_answers(baseline, new, confidence=0.95)
    assert (result.labels.agree, result.labels.total) == (90, 100)
    assert (result.labels.low, result.labels.high) == pytest.approx(proportion_confint(90, 100, 0.05, "wilson"))
    assert result.scores.pairs == 100
    assert result.scores.mean_abs_difference == pytest.approx(25 * 0.05 / 100)
    assert result.scores.max_abs_difference == pytest.approx(0.05)
    firsts, seconds = [a.scores[0] for a in baseline], [a.scores[0] for a in new]
    assert result.scores.wasserstein == pytest.approx(stats.wasserstein_distance(seconds, firsts))
    assert result.scores.ks_statistic == pytest.approx(stats.ks_2samp(seconds, firsts).statistic)
    assert [e.index for e in result.examples] == [3, 13, 23, 33, 43]
    assert result.examples[0].why == "labels differ" and result.examples[0].new.shown() == "0 (0.3)"


def test_score_gaps_fill_the_examples_after_label_disagreements():
    baseline = [Answer(None, (0.5,)), Answer(None, (0.5,)), Answer(None, (0.5,))]
    new = [Answer(None, (0.6,)), Answer(None, (0.5,)), Answer(None, (0.9,))]
    result = compare_answers(baseline, new, examples=2)
    assert [(e.index, e.why) for e in result.examples] == [(2, "scores differ by up to 0.4"),
                                                           (0, "scores differ by up to 0.1")]  # fmt: skip
    assert result.labels is None


def test_answers_of_different_shapes_are_mismatches_not_crashes():
    baseline = [Answer("1", (0.9,)), Answer(None, (0.2, 0.8)), Answer(None, (0.5,))]
    new = [Answer(None, (0.9,)), Answer(None, (0.2, 0.7, 0.1)), Answer(None, (0.5,))]
    result = compare_answers(baseline, new)
    assert result.shape_mismatches == 2
    assert (result.labels.agree, result.labels.total) == (0, 1)
    assert result.scores.pairs == 2  # the first and last records' scores; the second has no counterpart
    assert {e.why for e in result.examples} == {"only one has a label", "different numbers of scores"}


def test_answers_that_cannot_be_paired_are_refused():
    with pytest.raises(StatsInputError, match="the baseline gave 2 records and the new model 1"):
        compare_answers([Answer("a"), Answer("b")], [Answer("a")])
    with pytest.raises(StatsInputError, match="no answers to compare"):
        compare_answers([], [])


def test_the_agreement_interval_behaves_at_the_extremes():
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0 < high < 0.1
    assert math.isclose(wilson_interval(50, 50)[1], 1.0)
    with pytest.raises(StatsInputError):
        wilson_interval(3, 0)
