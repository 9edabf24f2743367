"""Pre-traffic verification's judge: errors, latency and answers of the same requests from both variants."""

from rollout.models.policy import Verification
from rollout.verification import Replayed, Reply, judge_replay, judged_from

POLICY = Verification(min_requests=5, min_label_agreement=0.9, max_score_difference=0.05, max_latency_ratio=2.0)


def csv(label, score, latency=40.0):
    return Reply(f"{label},{score}".encode(), "text/csv", latency)


def failed(latency=40.0):
    return Reply(b"", "", latency, "ModelError: Received server error (500)")


def replay(pairs):
    return [Replayed(f"{i},1,2".encode(), old, new) for i, (old, new) in enumerate(pairs)]


def test_identical_answers_pass_with_their_figures():
    result = judge_replay(POLICY, replay([(csv("churn", 0.7), csv("churn", 0.7))] * 10), "s3://b/p", "blue")
    assert result.passed, result.reason
    assert (result.requests, result.label_agreement, result.score_mean_abs_difference) == (10, 1.0, 0.0)
    assert result.examples == () and result.sample_source == "s3://b/p"


def test_errors_of_the_new_variant_fail_it_with_an_example():
    pairs = [(csv("churn", 0.7), failed())] * 3 + [(csv("stay", 0.2), csv("stay", 0.2))] * 7
    result = judge_replay(POLICY, replay(pairs), "s3://b/p", "blue")
    assert not result.passed and result.new_errors == 3 and result.baseline_errors == 0
    assert "the new variant failed 3 of 10 requests" in result.reason
    assert result.examples[0].why == "the new variant failed" and "ModelError" in result.examples[0].new


def test_errors_both_variants_share_are_not_held_against_the_new_one():
    pairs = [(failed(), failed())] * 2 + [(csv("stay", 0.2), csv("stay", 0.2))] * 8
    assert judge_replay(POLICY, replay(pairs), "s3://b/p", "blue").passed


def test_label_disagreement_beyond_the_threshold_fails_and_keeps_examples():
    pairs = [(csv("churn", 0.7), csv("stay", 0.3))] * 2 + [(csv("stay", 0.2), csv("stay", 0.2))] * 8
    result = judge_replay(POLICY, replay(pairs), "s3://b/p", "blue")
    assert not result.passed and result.label_agreement == 0.8 and "min_label_agreement" in result.reason
    assert [e.why for e in result.examples] == ["labels differ", "labels differ"]
    assert result.examples[0].request == "0,1,2"


def test_shifted_scores_and_slow_answers_fail():
    shifted = judge_replay(POLICY, replay([(csv("stay", 0.2), csv("stay", 0.3))] * 10), "s3://b/p", "blue")
    assert not shifted.passed and "max_score_difference" in shifted.reason
    slow = judge_replay(POLICY, replay([(csv("stay", 0.2), csv("stay", 0.2, 100.0))] * 10), "s3://b/p", "blue")
    assert not slow.passed and "2.50x the baseline's" in slow.reason


def test_too_few_requests_or_unreadable_answers_fail():
    few = judge_replay(POLICY, replay([(csv("stay", 0.2), csv("stay", 0.2))] * 2), "s3://b/p", "blue")
    assert not few.passed and "fewer than min_requests=5" in few.reason
    garbled = [(csv("stay", 0.2), Reply(b"<html>", "text/html", 40.0))] * 10
    unreadable = judge_replay(POLICY, replay(garbled), "s3://b/p", "blue")
    assert not unreadable.passed and "could not be read" in unreadable.reason


def test_a_check_never_judges_the_minute_of_the_replay():
    from datetime import UTC, datetime

    result = judge_replay(Verification(), replay([(csv("stay", 0.2), csv("stay", 0.2))] * 30), "s3://b/p/", "blue")
    bake = datetime(2026, 1, 5, 9, 16, 40, tzinfo=UTC)
    assert judged_from(bake, None) == bake and judged_from(bake, result) == bake, "no replay time: the bake's"
    same_minute = result.model_copy(update={"replayed_until": datetime(2026, 1, 5, 9, 16, 31, tzinfo=UTC)})
    assert judged_from(bake, same_minute) == datetime(2026, 1, 5, 9, 17, tzinfo=UTC), "the next whole minute"
    long_before = result.model_copy(update={"replayed_until": datetime(2026, 1, 5, 9, 15, 59, tzinfo=UTC)})
    assert judged_from(bake, long_before) == bake
