"""A/B and shadow tests end to end: both models measured over the test, a decision with its reason in the
record and the report, guard rails that still roll back, and the endpoint left exactly as the decision says."""

import pytest

from tests.helpers import scenario

GOOD = {"error_rate": 0.002, "latency_ms": 40}
BETTER = {"error_rate": 0.0005, "latency_ms": 40}
WORSE = {"error_rate": 0.02, "latency_ms": 40}
FAILING = {"error_rate": 0.1, "latency_ms": 40}
SLOW = {"error_rate": 0.002, "latency_ms": 90}
LIVE = [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1}]


def ab(**fields):
    return {"type": "ab_test", "duration_seconds": 900, "min_invocations": 1000, **fields}


def shadow(**fields):
    return {"type": "shadow", "sampling_percent": 50, "duration_seconds": 1200, "min_invocations": 1000, **fields}


def make(strategy, new, baseline=GOOD, rps=20, **overrides):
    policy = {"endpoint_name": "churn-prod", "strategy": strategy, **overrides.pop("policy", {})}
    return scenario(
        policy=policy,
        traffic={"requests_per_second": rps},
        model_behaviour={"baseline": baseline, "new": new},
        **overrides,
    )


def experiment(report):
    assert report.experiment is not None, report.reason
    return report.experiment


# --- A/B ------------------------------------------------------------------------------------------------


def test_an_ab_test_with_a_clear_winner_promotes_it(run):
    report, sim = run(make(ab(min_improvement=0.1), new=BETTER, baseline=WORSE))
    assert report.outcome == "succeeded", report.reason
    result = experiment(report)
    assert (result["winner"], result["decision"]) == ("new", "promote")
    assert result["baseline"]["invocations"] >= 1000 and result["new"]["invocations"] >= 1000
    assert result["new"]["error_rate"] < result["baseline"]["error_rate"]
    assert "new model wins on 5XX error rate" in report.reason
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1")
    shifts = [w for _, op, _, w in sim.sagemaker.changes if op == "UpdateEndpointWeightsAndCapacities"]
    assert shifts == [{"blue": 50.0, next(iter(shifts[0].keys() - {"blue"})): 50.0}], "equal weights by default"
    concluded = [e for e in report.events if e.detail_type == "Rollout Experiment Concluded"]
    assert concluded and concluded[0].detail["winner"] == "new"


def test_an_ab_test_the_baseline_wins_goes_back_to_the_baseline(run):
    report, _sim = run(make(ab(), new=WORSE, baseline=BETTER))
    assert report.outcome == "rolled_back"
    assert experiment(report)["winner"] == "baseline" and "baseline wins" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert [v.weight for v in report.endpoint.variants] == [1.0]


def test_an_ab_test_without_enough_invocations_decides_nothing_and_keeps_the_baseline(run):
    report, _sim = run(make(ab(new_weight=1, baseline_weight=3), new=BETTER, rps=1))
    assert report.outcome == "rolled_back"
    result = experiment(report)
    assert result["winner"] == "none"
    assert "not enough traffic to decide" in result["reason"] and "min_invocations=1000" in result["reason"]
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_an_alarm_ends_an_ab_test_with_a_rollback(run):
    kpi = {"name": "checkout-rate", "script": [{"at_seconds": 600, "state": "ALARM", "reason": "checkouts fell"}]}
    report, _sim = run(make(ab(), new=BETTER, alarms=[kpi], policy={"analysis": {"alarms": ["checkout-rate"]}}))
    assert report.outcome == "rolled_back"
    assert "checkout-rate" in report.reason
    assert report.experiment is None, "the test never reached its decision"
    rolled = next(e.t for e in report.timeline if e.state == "Roll Back")
    assert rolled < 900, "the alarm ended the test early"
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_a_failing_built_in_check_ends_an_ab_test_with_a_rollback(run):
    checks = {"analysis": {"max_error_rate": 0.05, "min_invocations": 100}}
    report, _sim = run(make(ab(), new=FAILING, policy=checks))
    assert report.outcome == "rolled_back"
    assert "-5xx-rate is in ALARM" in report.reason, "the per-rollout alarm on max_error_rate"
    # 50% of 20 rps at 10% errors is 60 bad requests a minute; the alarm sees a minute two minutes after it ends
    # (the metric delay), so the per-rollout alarm stops the test within about four minutes
    assert report.metrics.bad_requests_served <= 300, "the per-rollout alarm stopped the test within minutes"


def test_keep_both_leaves_both_models_serving_at_the_test_weights(run):
    report, sim = run(make(ab(decision="keep_both", new_weight=1, baseline_weight=4), new=BETTER))
    assert report.outcome == "succeeded", report.reason
    assert experiment(report)["decision"] == "keep_both"
    weights = {v.name: v.weight for v in report.endpoint.variants}
    assert weights["blue"] == 80.0 and sorted(weights.values()) == [20.0, 80.0]
    assert report.endpoint.config_name.startswith("churn-prod-s-v1-"), "the test's config stays live"
    assert not any("-p-v1-" in c for c in sim.sagemaker.configs), "the unused promotion config is cleaned up"


def test_decision_rollback_measures_then_restores_the_baseline(run):
    report, _sim = run(make(ab(decision="rollback"), new=BETTER, baseline=WORSE))
    assert report.outcome == "succeeded", "the test ran as the policy asked"
    assert experiment(report)["winner"] == "new" and "decision rollback" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_an_ab_test_on_a_business_metric_where_higher_is_better(run):
    metric = {
        "kind": "cloudwatch",
        "namespace": "Business",
        "metric_name": "Conversions",
        "direction": "higher_is_better",
    }
    report, _sim = run(
        make(
            ab(metric=metric),
            new={**GOOD, "metrics": {"Conversions": 0.12}},
            baseline={**GOOD, "metrics": {"Conversions": 0.10}},
        )
    )
    assert report.outcome == "succeeded", report.reason
    result = experiment(report)
    assert result["winner"] == "new" and result["new"]["value"] == pytest.approx(0.12)
    assert result["baseline"]["value"] == pytest.approx(0.10)


# --- shadow ---------------------------------------------------------------------------------------------


def test_a_shadow_that_passes_is_promoted(run):
    report, sim = run(make(shadow(on_pass="promote"), new=GOOD))
    assert report.outcome == "succeeded", report.reason
    result = experiment(report)
    assert (result["kind"], result["decision"], result["passed"]) == ("shadow", "promote", True)
    assert result["new"]["invocations"] == pytest.approx(result["baseline"]["invocations"] / 2, rel=0.05)
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1") and variant.instances == 2 and not variant.shadow
    assert report.metrics.shadow_requests >= 1000
    assert next(name for name, _ in sim_configs(sim)).startswith("churn-prod-s-v1-")
    assert not any("-s-v1-" in c for c in sim.sagemaker.configs), "the shadow config is cleaned up"


def sim_configs(sim):
    names = [name for _, op, _, name in sim.sagemaker.changes if op == "UpdateEndpoint"]
    return [(name, sim.sagemaker.configs.get(name)) for name in names]


def test_a_failing_shadow_is_discarded_and_no_caller_saw_its_errors(run):
    report, sim = run(make(shadow(), new=FAILING))
    assert report.outcome == "rolled_back"
    assert "shadow test" in report.reason and "max_error_rate_increase" in report.reason
    assert report.metrics.bad_requests_served == 0, "a shadow's answers never reach a caller"
    assert report.metrics.shadow_errors > 0
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert [(v.name, v.shadow) for v in report.endpoint.variants] == [("blue", False)]
    updated = [name for name, _ in sim_configs(sim)]
    assert updated[0].startswith("churn-prod-s-v1-") and updated[-1] == "churn-prod-config-v0"
    assert not any(name.startswith("churn-prod-p-v1-") for name in updated), "a failing shadow is never promoted"


def test_a_slow_shadow_fails_the_latency_comparison(run):
    report, _sim = run(make(shadow(), new=SLOW))
    assert report.outcome == "rolled_back"
    assert "max_latency_ratio 1.5" in report.reason


def test_a_shadow_that_passes_can_be_kept_running(run):
    report, sim = run(make(shadow(on_pass="keep", sampling_percent=20), new=GOOD))
    assert report.outcome == "succeeded", report.reason
    assert experiment(report)["decision"] == "keep"
    assert report.endpoint.config_name.startswith("churn-prod-s-v1-")
    variants = {v.name: v for v in report.endpoint.variants}
    (shadow_variant,) = [v for v in variants.values() if v.shadow]
    assert shadow_variant.model_package.endswith("model-package/churn/1")
    assert variants["blue"].model == "churn-prod-blue-model"
    config = sim.sagemaker.configs[report.endpoint.config_name]
    assert len(config["ProductionVariants"]) == 1 and len(config["ShadowProductionVariants"]) == 1
    result = experiment(report)
    share = result["new"]["invocations"] / result["baseline"]["invocations"]
    assert share == pytest.approx(0.2, rel=0.05), "20% of production's requests were copied to the shadow"


def test_a_shadow_that_passes_can_be_discarded(run):
    report, _sim = run(make(shadow(on_pass="discard"), new=GOOD))
    assert report.outcome == "succeeded", report.reason
    assert experiment(report)["decision"] == "discard"
    assert report.endpoint.config_name == "churn-prod-config-v0"


# --- refusals -------------------------------------------------------------------------------------------

TWO_VARIANTS = {
    "name": "churn-prod",
    "variants": [
        {"name": "a", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1},
        {"name": "b", "instance_type": "ml.m5.large", "instance_count": 1, "weight": 1},
    ],
}


@pytest.mark.parametrize(
    ("strategy", "endpoint", "expected"),
    [
        (ab(new_weight=0), None, "new_weight"),
        (ab(duration_seconds=30), None, "greater than or equal to 60"),
        (ab(metric={"kind": "cloudwatch"}), None, "metric_name is required for kind=cloudwatch"),
        (ab(), {"name": "elsewhere", "variants": LIVE}, "does not exist: an A/B test compares"),
        (shadow(sampling_percent=0), None, "sampling_percent"),
        (shadow(on_fail="keep"), None, "on_fail"),
        (shadow(), TWO_VARIANTS, "has 2 production variants; a shadow test needs exactly one"),
        (shadow(), {"name": "elsewhere", "variants": LIVE}, "does not exist: a shadow test compares"),
    ],
)
def test_invalid_test_settings_are_refused_before_anything_is_touched(run, strategy, endpoint, expected):
    overrides = {"endpoint": endpoint} if endpoint else {}
    report, sim = run(make(strategy, new=GOOD, **overrides))
    assert report.outcome == "rejected"
    assert expected in report.reason
    assert not sim.sagemaker.changes, "nothing was updated"
    assert not any(c.startswith("churn-prod-") and "-v1-" in c for c in sim.sagemaker.configs)
