"""The statistical judge end to end (analysis.judge statistical): a canary that waits for evidence instead of
passing or failing on noise, and A/B tests that stop early only on a sequential test."""

import itertools
import json

from tests.helpers import scenario

GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}
STATISTICAL = {"judge": "statistical", "error_rate_tolerance": 0.005}


def verdicts(report):
    return [e.detail for e in report.events if e.detail_type == "Rollout Step Verdict"]


def test_a_low_traffic_canary_stays_inconclusive_says_what_it_needs_then_passes_when_traffic_arrives(run):
    report, _sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
                "analysis": {**STATISTICAL, "check_interval_seconds": 120, "max_inconclusive": 5},
            },
            # 3 requests a minute reach the canary; at 1100 s the callers arrive (120 a minute on the canary)
            traffic={"requests_per_second": 0.5, "changes": [{"after_seconds": 1100, "requests_per_second": 20}]},
            model_behaviour={"baseline": GOOD, "new": GOOD},
        )
    )
    assert report.outcome == "succeeded", report.reason
    told = verdicts(report)
    waiting = [d for d in told if d["verdict"] == "inconclusive"]
    assert waiting, "the bake ended inconclusive before the traffic came"
    first = waiting[0]
    assert first["figures"]["new_invocations"] < 100 and first["figures"]["more_invocations"] > 300
    assert f"about {first['figures']['more_invocations']} more invocations" in first["detail"]
    assert "extending the bake" in first["detail"]
    passed = next(d for d in told if d["verdict"] == "pass" and d["step"] == 1)
    assert passed["figures"]["new_invocations"] > first["figures"]["new_invocations"] + 300
    assert passed["figures"]["p_within"] <= 0.05 and "error rate within the tolerance" in passed["detail"]
    steps = json.loads(report.records[0]["steps"])
    assert steps[0]["verdict"] == "pass" and steps[0]["figures"]["new_invocations"] > 300


def test_the_same_canary_without_traffic_is_rolled_back_as_still_inconclusive(run):
    report, _sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
                "analysis": {**STATISTICAL, "check_interval_seconds": 60, "max_inconclusive": 2},
            },
            traffic={"requests_per_second": 0.5},
            model_behaviour={"baseline": GOOD, "new": GOOD},
        )
    )
    assert report.outcome == "rolled_back"
    assert "still inconclusive, on_inconclusive=fail" in report.reason and "more invocations" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"


def ab(new, baseline, duration, **policy):
    return scenario(
        policy={
            "endpoint_name": "churn-prod",
            "strategy": {"type": "ab_test", "duration_seconds": duration, "min_invocations": 500, "stop_early": True},
            "analysis": {"judge": "statistical"},
            **policy,
        },
        traffic={"requests_per_second": 20},
        model_behaviour={"baseline": baseline, "new": new},
    )


def test_an_ab_test_is_stopped_early_by_the_sequential_test(run):
    report, _sim = run(ab({"error_rate": 0.0005, "latency_ms": 40}, {"error_rate": 0.02, "latency_ms": 40}, 3600))
    assert report.outcome == "succeeded", report.reason
    result = report.experiment
    assert result is not None and result["stopped_early"] and result["winner"] == "new"
    assert result["p_value"] <= 0.05
    assert "stopped early after" in report.reason and "always-valid p=" in report.reason
    (execution,) = report.executions
    # a full test ends after its hour and the promoted model's own bake (post_promotion_bake_seconds 300)
    assert execution.ended is not None and execution.ended < 3600, "sooner than the test's hour"
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1")


def test_an_ab_test_refuses_to_stop_on_noise(run):
    # 0.20% against 0.22%: the threshold judge would call the new model the winner; the sequential test does not
    report, _sim = run(ab({"error_rate": 0.002, "latency_ms": 40}, {"error_rate": 0.0022, "latency_ms": 40}, 1800))
    assert report.outcome == "rolled_back", report.reason
    result = report.experiment
    assert result is not None and not result["stopped_early"] and result["winner"] == "none"
    assert result["new"]["error_rate"] < result["baseline"]["error_rate"], "the noise favours the new model"
    assert result["new"]["invocations"] >= 15000, "it ran its whole half hour"
    assert "no significant difference" in result["reason"] and result["p_value"] > 0.05
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_an_ab_test_that_may_stop_early_is_looked_at_while_young_and_stops_within_minutes(run):
    # 2% against 0.05% at 10 requests a second a side: the sequential test decides on the first minutes CloudWatch
    # publishes; with looks after 1, 2, 4, 8 minutes the test ends minutes in, not at its first 15-minute check
    report, _sim = run(ab({"error_rate": 0.0005, "latency_ms": 40}, {"error_rate": 0.02, "latency_ms": 40}, 3600))
    assert report.outcome == "succeeded" and report.experiment["stopped_early"], report.reason
    began = next(e.t for e in report.timeline if e.state == "Bake")
    (stop,) = [e for e in verdicts(report) if e["figures"].get("sequential_p") is not None]
    stopped = next(e.t for e in report.events if e.detail_type == "Rollout Step Verdict" and e.detail == stop)
    assert stopped - began < 600, f"stopped {stopped - began:.0f} s into the test"
    looked = [e.t for e in report.timeline if e.state == "Evaluate Health" and began < e.t <= stopped + 1]
    assert 2 <= len(looked) <= 5, looked
    gaps = [round(later - earlier) for earlier, later in itertools.pairwise(looked)]
    assert gaps == sorted(gaps), f"looks spread out as the test ages: {gaps}"
