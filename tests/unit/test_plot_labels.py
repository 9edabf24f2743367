"""The figure written above a verdict on the plot: what decided it, in a few characters."""

from rollout_local.plot import decided_by


def test_a_sequential_stop_is_told_by_its_always_valid_p_value():
    assert decided_by({"verdict": "pass", "figures": {"sequential_p": 4.88e-39, "p_within": 1e-30}}) == "seq. p=4.9e-39"


def test_an_inconclusive_check_says_what_it_needs():
    assert decided_by({"verdict": "inconclusive", "figures": {"more_invocations": 605}}) == "needs 605 more"
    assert decided_by({"verdict": "inconclusive", "figures": {"more_minutes": 7}}) == "needs 7 more min"
    threshold = "new variant served 30 invocations, fewer than min_invocations=50"
    assert decided_by({"verdict": "inconclusive", "detail": threshold, "figures": {}}) == "30 of 50 inv."


def test_a_statistical_verdict_is_told_by_the_p_value_that_decided_it():
    assert decided_by({"verdict": "pass", "figures": {"p_within": 0.02537}}) == "p=0.025"
    worse = (
        "ModelLatency p99 slower than the baseline beyond the tolerance: median new 300 vs baseline 120 over 10 and "
        "10 minutes (tolerance x1.2), p=0.000123"
    )
    figures = {"p_worse": 0.9, "p_slower": 0.000123}
    assert decided_by({"verdict": "fail", "detail": worse, "figures": figures}) == "p=0.00012"


def test_a_threshold_failure_is_told_by_the_value_that_crossed_it_and_an_alarm_free_pass_by_nothing():
    failed = "5XX rate 10.20% > max_error_rate 2.00%"
    assert decided_by({"verdict": "fail", "detail": failed, "figures": {}}) == "5XX rate 10.20%"
    latency = "ModelLatency p99 310.0 ms > max_latency_ms 250"
    assert decided_by({"verdict": "fail", "detail": latency, "figures": {}}) == "p99 310.0 ms"
    assert decided_by({"verdict": "fail", "detail": "alarm churn-5xx is in ALARM", "figures": {}}) == "alarm churn-5xx"
    assert decided_by({"verdict": "pass", "detail": "no alarm in ALARM", "figures": {}}) is None
