"""Canary, linear and steps end to end: real ASL, real handlers, simulated traffic, metrics and alarms."""

import json

from tests.helpers import scenario

GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}
BAD = {"error_rate": 0.08, "latency_ms": 42, "p99_latency_ms": 125}
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}
CHECKS = {"max_error_rate": 0.02, "max_latency_ratio": 1.5, "min_invocations": 100}
TWO_VARIANTS = {
    "name": "churn-prod",
    "variants": [
        {"name": "a", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1},
        {"name": "b", "instance_type": "ml.m5.large", "instance_count": 1, "weight": 1},
    ],
}


def policy(**fields):
    return {"endpoint_name": "churn-prod", **fields}


def weight_changes(sim):
    return [what for _, op, _, what in sim.sagemaker.changes if op == "UpdateEndpointWeightsAndCapacities"]


def entered(sim, state):
    events = sim.sfn.get_execution_history(executionArn=sim.executions[0], maxResults=1000)["events"]
    return [
        (e["timestamp"] - sim.clock.start).total_seconds()
        for e in events
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
    ]


def test_a_healthy_canary_is_promoted(run):
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis=CHECKS),
            traffic={"requests_per_second": 20},
            model_behaviour={"baseline": GOOD, "new": GOOD},
        )
    )
    assert report.outcome == "succeeded", report.reason
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1") and variant.instances == 2
    assert [list(c.values())[-1] for c in weight_changes(sim)] == [10.0, 100.0]
    steps = json.loads(report.records[0]["steps"])
    # the 100% step has no bake (final_bake_seconds 0): it is not judged, so the record claims no verdict for it;
    # the promoted model is judged once more after the promotion (post_promotion_bake_seconds)
    assert [(s["step"], s["weight_percent"], s["verdict"]) for s in steps] == [(1, 10.0, "pass"), (3, 100.0, "pass")]
    assert variant.name == "blue", "the promoted variant keeps the name users' alarms and clients know"
    assert "churn-prod-config-v0" in sim.sagemaker.configs, "the baseline config is kept for a manual revert"
    assert not any("-s-v1-" in c for c in sim.sagemaker.configs), "the intermediate shift config is cleaned up"
    assert report.metrics.bad_requests_served < report.metrics.requests_served * 0.002


def test_a_bad_canary_is_rolled_back_at_its_first_step(run):
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis=CHECKS),
            traffic={"requests_per_second": 20},
            model_behaviour={"baseline": GOOD, "new": BAD},
        )
    )
    assert report.outcome == "rolled_back"
    # the rollout's own 5XX-rate alarm on the new variant fires first, with the datapoint that breached
    assert "step 1/2 (10%)" in report.reason and "-5xx-rate is in ALARM" in report.reason
    assert "breached 0.02" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert [(v.name, v.weight) for v in report.endpoint.variants] == [("blue", 1.0)]
    first_cut = weight_changes(sim)[1]
    assert list(first_cut.values())[-1] == 0.0, "the rollback cuts the new variant's traffic before anything else"
    # 10% of 20 rps at 8% errors is about 10 bad requests a minute; the first bad minute reaches CloudWatch (and the
    # alarm) two minutes after it ends (the metric delay), so about four minutes of them at most
    assert report.metrics.bad_requests_served <= 40
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}


def test_linear_fails_at_its_third_step(run):
    # steps at 20/40/60/80/100%, 300 s each: the third bake runs from about +21:00 to +26:00
    report, sim = run(
        scenario(
            policy=policy(
                strategy={"type": "linear", "step_percent": 20, "interval_seconds": 300},
                analysis={"alarms": ["checkout-conversion-low"]},
            ),
            traffic={"requests_per_second": 10},
            alarms=[
                {
                    "name": "checkout-conversion-low",
                    "script": [
                        {"at_seconds": 0, "state": "OK"},
                        {"at_seconds": 1380, "state": "ALARM", "reason": "conversion fell"},
                    ],
                }
            ],
        )
    )
    assert report.outcome == "rolled_back"
    assert "step 3/5 (60%)" in report.reason and "checkout-conversion-low" in report.reason
    assert [list(c.values())[-1] for c in weight_changes(sim)] == [20.0, 40.0, 60.0, 0.0]
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert report.metrics.alarm_to_rollback_seconds is not None and report.metrics.alarm_to_rollback_seconds <= 5


def test_no_traffic_is_inconclusive_and_the_policy_decides(run):
    quiet = {"max_error_rate": 0.02, "min_invocations": 100, "max_inconclusive": 1, "check_interval_seconds": 120}
    strict, _ = run(scenario(policy=policy(strategy=CANARY, analysis=quiet)))
    assert (
        strict.outcome == "rolled_back" and "inconclusive" in strict.reason and "on_inconclusive=fail" in strict.reason
    )
    lenient, _ = run(scenario(policy=policy(strategy=CANARY, analysis={**quiet, "on_inconclusive": "pass"})))
    assert lenient.outcome == "succeeded"
    assert any("extending the bake" in e.note for e in lenient.timeline)


def test_an_alarm_already_firing_refuses_the_rollout_at_once(run):
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis={"alarms": ["checkout-conversion-low"]}),
            alarms=[{"name": "checkout-conversion-low", "script": [{"at_seconds": 0, "state": "ALARM"}]}],
        )
    )
    assert report.outcome == "rejected" and "checkout-conversion-low" in report.reason
    assert entered(sim, "Bake") == [] and entered(sim, "Start Update") == [], "refused before anything is touched"


def test_an_alarm_mid_bake_starts_the_rollback_within_seconds(run):
    report, _sim = run(
        scenario(
            policy=policy(
                strategy={**CANARY, "bake_seconds": 900},
                analysis={"alarms": ["checkout-conversion-low"], "check_interval_seconds": 300},
            ),
            traffic={"requests_per_second": 10},
            alarms=[
                {
                    "name": "checkout-conversion-low",
                    "script": [
                        {"at_seconds": 0, "state": "OK"},
                        {"at_seconds": 900, "state": "ALARM", "reason": "conversion fell"},
                    ],
                }
            ],
        )
    )
    assert report.outcome == "rolled_back"
    assert report.metrics.alarm_to_rollback_seconds is not None and report.metrics.alarm_to_rollback_seconds <= 5
    assert report.metrics.api_calls["sfn:SendTaskFailure"] == 1, "the alarm listener ended the bake"
    assert report.event_errors == []


def test_throttling_during_a_shift_is_retried_and_the_rollout_succeeds(run):
    throttled = {"api": "sagemaker:UpdateEndpointWeightsAndCapacities", "error": "ThrottlingException", "times": 7}
    report, _sim = run(scenario(policy=policy(strategy=CANARY), faults=[throttled]))
    assert report.outcome == "succeeded", report.reason
    assert report.metrics.api_calls["sagemaker:UpdateEndpointWeightsAndCapacities"] == 9  # 7 throttled + 2 shifts
    assert "ThrottledError" in {e.note.split(":")[0] for e in report.timeline}


def test_a_multi_variant_baseline_keeps_its_proportions_while_the_new_variant_grows(run):
    report, sim = run(
        scenario(
            endpoint={**TWO_VARIANTS, "live_weights": {"a": 3, "b": 1}},
            policy=policy(
                strategy={
                    "type": "steps",
                    "steps": [{"weight_percent": 20, "bake_seconds": 60}, {"weight_percent": 100, "bake_seconds": 0}],
                }
            ),
        )
    )
    assert report.outcome == "succeeded", report.reason
    first_shift = weight_changes(sim)[1]  # [0] is the scenario's own live-weight change
    assert first_shift["a"] == 60.0 and first_shift["b"] == 20.0 and list(first_shift.values())[-1] == 20.0
    (variant,) = report.endpoint.variants
    assert (variant.instance_type, variant.instances) == ("ml.m5.xlarge", 2), "sized like the largest variant"


def test_rollback_restores_exactly_the_pre_rollout_config_and_live_weights(run):
    report, _sim = run(
        scenario(
            endpoint={**TWO_VARIANTS, "live_weights": {"a": 3, "b": 1}},
            policy=policy(strategy=CANARY, analysis=CHECKS),
            traffic={"requests_per_second": 40},
            model_behaviour={"baseline": GOOD, "new": BAD},
        )
    )
    assert report.outcome == "rolled_back"
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert {(v.name, v.model, v.weight, v.instances) for v in report.endpoint.variants} == {
        ("a", "churn-prod-a-model", 3.0, 2),
        ("b", "churn-prod-b-model", 1.0, 1),
    }


def test_a_rolled_back_package_can_be_rejected_in_the_registry(run):
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis=CHECKS, on_rollback="reject_package"),
            traffic={"requests_per_second": 20},
            model_behaviour={"new": BAD},
        )
    )
    assert report.outcome == "rolled_back"
    package = sim.sagemaker.packages["arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"]
    assert package["ModelApprovalStatus"] == "Rejected" and "5xx-rate is in ALARM" in package["ApprovalDescription"]


AUTOSCALED = {
    "name": "churn-prod",
    "variants": [
        {
            "name": "blue",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 2,
            "autoscaling": {"min_capacity": 2, "max_capacity": 6, "target_invocations_per_instance": 50},
        }
    ],
}


def scaling_of(sim, variant):
    aas = sim.session.client("application-autoscaling")
    rid = f"endpoint/churn-prod/variant/{variant}"
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in targets], [p["PolicyName"] for p in policies]


def test_an_autoscaled_baseline_keeps_its_scaling_through_the_promotion(run):
    report, sim = run(scenario(endpoint=AUTOSCALED, policy=policy(strategy=CANARY)))
    assert report.outcome == "succeeded", report.reason
    (variant,) = report.endpoint.variants
    assert variant.name == "blue", "the promoted variant keeps its name (SageMaker allows a new model in it)"
    assert scaling_of(sim, "blue") == ([(2, 6)], ["blue-invocations"]), "kept: only its model changed"
    assert "application-autoscaling:DeregisterScalableTarget" not in report.metrics.api_calls


def test_a_rolled_back_canary_leaves_the_baselines_scaling_alone(run):
    report, sim = run(
        scenario(
            endpoint=AUTOSCALED,
            policy=policy(strategy=CANARY, analysis=CHECKS),
            traffic={"requests_per_second": 20},
            model_behaviour={"new": BAD},
        )
    )
    assert report.outcome == "rolled_back"
    assert scaling_of(sim, "blue") == ([(2, 6)], ["blue-invocations"])
