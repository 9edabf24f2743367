"""Pre-traffic verification end to end: requests the endpoint captured are replayed to the new variant (weight 0)
and the baseline with TargetVariant; a new model that fails or answers differently never serves a caller."""

from tests.helpers import CAPTURING_ENDPOINT as ENDPOINT
from tests.helpers import scenario

GOOD = {"error_rate": 0.0, "latency_ms": 40}


def make(new, verification=None):
    return scenario(
        endpoint=ENDPOINT,
        stack={"CaptureBucketName": "churn-captures"},
        policy={
            "endpoint_name": "churn-prod",
            "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 300},
            "verification": {"sample_size": 100, "min_label_agreement": 0.95, **(verification or {})},
        },
        traffic={"requests_per_second": 5},
        model_behaviour={"baseline": GOOD, "new": new},
    )


def verified(report):
    (event,) = [e.detail for e in report.events if e.detail_type == "Rollout Variant Verified"]
    return event


def new_weights(sim):
    return [
        w
        for _, op, _, what in sim.sagemaker.changes
        if op == "UpdateEndpointWeightsAndCapacities"
        for v, w in what.items()
        if v != "blue"
    ]


def test_a_new_model_that_fails_on_replay_never_receives_traffic(run):
    report, sim = run(make({"error_rate": 0.5, "latency_ms": 40}))
    assert report.outcome == "rolled_back", report.reason
    event = verified(report)
    assert event["verdict"] == "fail" and event["verification"]["new_errors"] > 20
    assert event["verification"]["baseline_errors"] == 0 and event["verification"]["requests"] == 100
    assert "the new variant failed" in report.reason
    assert new_weights(sim) == [], "no caller was ever routed to the new variant"
    assert report.metrics.bad_requests_served == 0
    assert report.endpoint.config_name == "churn-prod-config-v0"
    invoked = {variant for _, _, variant, _ in sim.world.invocations}
    assert "blue" in invoked and len(invoked) == 2, "the baseline and the new variant, by TargetVariant"


def test_a_new_model_that_answers_differently_beyond_the_threshold_fails_verification(run):
    report, sim = run(make({**GOOD, "answers": {"disagreement_rate": 0.2}}))
    assert report.outcome == "rolled_back", report.reason
    event = verified(report)["verification"]
    assert event["label_agreement"] < 0.9 and "min_label_agreement" in report.reason
    assert event["examples"] and event["examples"][0]["why"] == "labels differ"
    assert new_weights(sim) == []


def test_a_new_model_within_the_threshold_passes_verification_and_rolls_out(run):
    report, sim = run(make({**GOOD, "answers": {"disagreement_rate": 0.01, "score_shift": 0.01}}))
    assert report.outcome == "succeeded", report.reason
    event = verified(report)
    assert event["verdict"] == "pass" and event["verification"]["label_agreement"] >= 0.95
    assert event["verification"]["score_mean_abs_difference"] <= 0.05
    assert new_weights(sim)[0] == 10.0, "traffic came only after the verification passed"


def shadow(new, **fields):
    return scenario(
        endpoint=ENDPOINT,
        stack={"CaptureBucketName": "churn-captures"},
        policy={
            "endpoint_name": "churn-prod",
            "strategy": {
                "type": "shadow",
                "sampling_percent": 50,
                "duration_seconds": 900,
                "min_invocations": 100,
                "min_label_agreement": 0.95,
                "max_score_difference": 0.05,
                **fields,
            },
        },
        traffic={"requests_per_second": 5},
        model_behaviour={"baseline": GOOD, "new": new},
    )


def test_a_shadow_test_fails_on_its_answers_alone(run):
    report, _sim = run(shadow({**GOOD, "answers": {"disagreement_rate": 0.3}}))
    assert report.outcome == "rolled_back", report.reason
    result = report.experiment
    assert result is not None and result["winner"] == "baseline" and result["decision"] == "discard"
    assert "shadow failed on its answers" in report.reason and "min_label_agreement" in report.reason
    assert result["new"]["errors"] == 0, "errors and latency alone would have passed it"
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_a_shadow_test_whose_answers_agree_passes_with_their_figures(run):
    report, _sim = run(shadow({**GOOD, "answers": {"disagreement_rate": 0.01}}, on_pass="discard"))
    assert report.outcome == "succeeded", report.reason
    assert "answers: verification passed" in report.reason and "label agreement" in report.reason


def test_the_replay_is_in_cloudwatch_but_never_judged_as_the_canarys_traffic(run):
    # the weights change in 5 s, so the bake begins in the minute of the replay's last request: a window read in
    # whole minutes from there would count the replay (54 requests to each variant) as the canary's callers
    report, sim = run(
        scenario(
            endpoint=ENDPOINT,
            stack={"CaptureBucketName": "churn-captures"},
            timings={"update_weights_seconds": 5},
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 300},
                "verification": {"sample_size": 100, "min_label_agreement": 0.9},
                "analysis": {"judge": "statistical", "check_interval_seconds": 60, "max_inconclusive": 2},
            },
            traffic={"requests_per_second": 0.5},  # 3 requests a minute reach the canary
            model_behaviour={"baseline": GOOD, "new": GOOD},
        )
    )
    event = verified(report)
    replayed, replayed_until = event["verification"]["requests"], event["verification"]["replayed_until"]
    assert replayed > 20 and replayed_until is not None
    new_variant = next(v for (_, v) in sim.world.minutes if v != "blue")
    counted = max(m.invocations for m in sim.world.minutes[("churn-prod", new_variant)].values())
    assert counted >= replayed, "CloudWatch counts every replayed InvokeEndpoint in the new variant's minute"
    judged = [e.detail["figures"] for e in report.events if e.detail_type == "Rollout Step Verdict"]
    assert judged, report.reason
    assert all(f["new_invocations"] < replayed and f["new_invocations"] % 3 == 0 for f in judged), judged
    assert all(f["baseline_invocations"] % 27 == 0 for f in judged), "callers' minutes only, no replay"
    assert report.outcome == "rolled_back" and "still inconclusive" in report.reason, "3 a minute decide nothing"
