"""Blue/green, A/B and shadow: the policy's limits, the DeploymentConfig, the endpoint shapes each refuses,
and who wins an A/B test. Pure: no AWS."""

import pytest
from pydantic import ValidationError
from rollout.experiment import ab_decision, ab_winner
from rollout.models.endpoint import EndpointSnapshot, VariantScaling, VariantSnapshot
from rollout.models.policy import (
    AbTest,
    AllAtOnce,
    BlueGreen,
    Canary,
    Capacity,
    Linear,
    Policy,
    ServerlessCapacity,
    Shadow,
    Step,
    Steps,
)
from rollout.models.progress import SideFigures
from rollout.plan.configs import shadow_config
from rollout.plan.guardrails import deployment_config
from rollout.plan.refusals import LiveFeatures, endpoint_refusal
from rollout.plan.steps import expand


def endpoint(*variants: VariantSnapshot, shadows: tuple[VariantSnapshot, ...] = ()) -> EndpointSnapshot:
    return EndpointSnapshot(
        name="churn-prod", exists=True, status="InService", config_name="c0", variants=variants, shadow_variants=shadows
    )


def variant(name="AllTraffic", count=4, instance_type="ml.m5.xlarge", serverless=None) -> VariantSnapshot:
    return VariantSnapshot(
        name=name,
        model_name="m",
        weight=1,
        instance_type=None if serverless else instance_type,
        instance_count=None if serverless else count,
        serverless=serverless,
    )


def blue_green(**fields) -> BlueGreen:
    return BlueGreen.model_validate({"auto_rollback_alarms": ["a"], **fields})


# --- blue/green -----------------------------------------------------------------------------------------


def test_a_canary_blue_green_becomes_the_deployment_config_sagemaker_takes():
    strategy = blue_green(
        traffic_routing={"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 10}},
        termination_wait_seconds=120,
        max_execution_timeout_seconds=1800,
    )
    assert deployment_config(strategy, ("a", "b")) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "MaximumExecutionTimeoutInSeconds": 1800,
            "TerminationWaitInSeconds": 120,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}, {"AlarmName": "b"}]},
    }


def test_a_rolling_update_becomes_a_rolling_update_policy():
    strategy = blue_green(
        rolling={
            "max_batch_size": {"type": "INSTANCE_COUNT", "value": 1},
            "wait_interval_seconds": 60,
            "rollback_max_batch_size": {"type": "CAPACITY_PERCENT", "value": 50},
        }
    )
    config = deployment_config(strategy, ("a",))
    assert config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 60,
        "MaximumExecutionTimeoutInSeconds": 3600,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
    }
    assert "BlueGreenUpdatePolicy" not in config


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"traffic_routing": {"type": "CANARY"}}, "CANARY routing takes canary_size"),
        (
            {"traffic_routing": {"type": "ALL_AT_ONCE", "canary_size": {"type": "INSTANCE_COUNT", "value": 1}}},
            "ALL_AT_ONCE routing takes neither",
        ),
        (
            {"traffic_routing": {"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 60}}},
            "linear_step_size must be 10% to 50%",
        ),
        ({"rolling": {"max_batch_size": {"type": "CAPACITY_PERCENT", "value": 2}}}, "5% to 50%"),
        (
            {"rolling": {"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}}, "termination_wait_seconds": 60},
            "termination_wait_seconds belongs to blue/green",
        ),
        (
            {
                "rolling": {"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}},
                "traffic_routing": {"type": "ALL_AT_ONCE"},
            },
            "not both",
        ),
        ({"auto_rollback_alarms": [f"a{i}" for i in range(11)]}, "at most 10 items"),
    ],
)
def test_blue_green_settings_outside_sagemakers_limits_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        blue_green(**fields)


def test_blue_green_takes_the_analysis_alarms_when_it_names_none_and_needs_some():
    policy = Policy.model_validate(
        {"endpoint_name": "e", "strategy": {"type": "blue_green"}, "analysis": {"alarms": ["x"]}}
    )
    assert policy.rollback_alarms == ("x",)
    with pytest.raises(ValidationError, match="blue_green needs alarms"):
        Policy.model_validate({"endpoint_name": "e", "strategy": {"type": "blue_green"}})


@pytest.mark.parametrize(
    ("strategy", "live", "refusal"),
    [
        (blue_green(), endpoint(variant(instance_type="ml.inf1.xlarge")), "Inf1"),
        (
            blue_green(rolling={"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}}),
            endpoint(variant("a"), variant("b")),
            "single-variant endpoints only",
        ),
        (
            blue_green(rolling={"max_batch_size": {"type": "CAPACITY_PERCENT", "value": 50}}),
            endpoint(variant(serverless=ServerlessCapacity(memory_size_mb=2048, max_concurrency=5))),
            "serverless",
        ),
        (
            blue_green(rolling={"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}}),
            endpoint(variant(count=1)),
            "100% of variant AllTraffic's 1 instance(s)",
        ),
        (
            blue_green(traffic_routing={"type": "LINEAR", "linear_step_size": {"type": "INSTANCE_COUNT", "value": 1}}),
            endpoint(variant(count=20)),
            "5% of variant AllTraffic's 20 instance(s); SageMaker requires 10% to 50%",
        ),
        (
            Shadow(sampling_percent=10, duration_seconds=600),
            endpoint(variant("a"), shadows=(variant("s"),)),
            "already runs shadow variant s",
        ),
    ],
)
def test_endpoint_shapes_a_strategy_cannot_serve_are_refused_with_what_would_work(strategy, live, refusal):
    reason = endpoint_refusal(strategy, live)
    assert reason is not None and refusal in reason


SERVERLESS = ServerlessCapacity(memory_size_mb=2048, max_concurrency=5)
CANARY = Canary(canary_percent=10, bake_seconds=600)
EVERY_STRATEGY = [
    AllAtOnce(bake_seconds=600),
    CANARY,
    Linear(step_percent=25, interval_seconds=300),
    Steps(steps=[Step(weight_percent=50, bake_seconds=60), Step(weight_percent=100)]),
    AbTest(duration_seconds=3600),
    Shadow(sampling_percent=10, duration_seconds=600),
    blue_green(),
    blue_green(rolling={"max_batch_size": {"type": "CAPACITY_PERCENT", "value": 25}}),
]


@pytest.mark.parametrize("strategy", EVERY_STRATEGY, ids=lambda s: s.type)
def test_on_a_serverless_endpoint_only_all_at_once_runs_and_the_others_name_it(strategy):
    reason = endpoint_refusal(strategy, endpoint(variant(serverless=SERVERLESS)))
    if isinstance(strategy, AllAtOnce):
        assert reason is None
    else:
        assert reason is not None and "is serverless (variant AllTraffic)" in reason
        assert "use strategy all_at_once (with bake_seconds" in reason


@pytest.mark.parametrize("strategy", EVERY_STRATEGY, ids=lambda s: s.type)
def test_a_rollout_whose_rollback_sagemaker_would_refuse_is_refused(strategy):
    to_serverless = endpoint_refusal(strategy, endpoint(variant()), Capacity(serverless=SERVERLESS))
    assert to_serverless is not None and "cannot update an instance-based endpoint to a serverless" in to_serverless
    to_instances = endpoint_refusal(
        strategy, endpoint(variant(serverless=SERVERLESS)), Capacity(instance_type="ml.m5.large", instance_count=1)
    )
    assert to_instances is not None and "never back to serverless" in to_instances
    resized = endpoint_refusal(AllAtOnce(), endpoint(variant(serverless=SERVERLESS)), Capacity(serverless=SERVERLESS))
    assert resized is None


def test_an_autoscaled_variant_keeps_its_instance_type_in_an_update_in_place():
    scaled = endpoint(variant()).model_copy(
        update={"scaling": (VariantScaling(variant="AllTraffic", min_capacity=1, max_capacity=4),)}
    )
    bigger = Capacity(instance_type="ml.m5.2xlarge")
    for strategy in (AllAtOnce(), blue_green()):
        reason = endpoint_refusal(strategy, scaled, bigger)
        assert reason is not None and "ml.m5.xlarge to ml.m5.2xlarge" in reason and "canary/linear" in reason
    assert endpoint_refusal(CANARY, scaled, bigger) is None, "the new model gets a variant of its own"
    assert endpoint_refusal(AllAtOnce(), scaled, Capacity(instance_type="ml.m5.xlarge")) is None
    assert endpoint_refusal(AllAtOnce(), endpoint(variant()), bigger) is None, "no scaling, no rule"


@pytest.mark.parametrize(
    ("live", "features", "excluded"),
    [
        (endpoint(variant()), LiveFeatures(asynchronous=True), "asynchronous endpoints"),
        (endpoint(variant(instance_type="ml.inf1.xlarge")), LiveFeatures(), "Inf1 instances"),
        (endpoint(variant()), LiveFeatures(multi_container_models=("m",)), "multi-container endpoints"),
        (endpoint(variant()), LiveFeatures(multi_model_models=("m",)), "multi-model endpoints"),
    ],
)
def test_a_shadow_test_is_refused_on_the_endpoints_sagemaker_excludes(live, features, excluded):
    reason = endpoint_refusal(Shadow(sampling_percent=10, duration_seconds=600), live, None, features)
    assert reason is not None and f"shadow tests exclude {excluded}" in reason and "ab_test or canary" in reason
    assert endpoint_refusal(CANARY, live, None, features) is None, "a canary runs on these endpoints"


def test_shapes_that_fit_are_not_refused():
    assert endpoint_refusal(blue_green(), endpoint(variant("a"), variant("b"))) is None
    canary = blue_green(traffic_routing={"type": "CANARY", "canary_size": {"type": "INSTANCE_COUNT", "value": 2}})
    assert endpoint_refusal(canary, endpoint(variant(count=4))) is None
    assert endpoint_refusal(Shadow(sampling_percent=5, duration_seconds=60), endpoint(variant())) is None


# --- experiments ----------------------------------------------------------------------------------------


def side(invocations=5000, value=0.01) -> SideFigures:
    return SideFigures(
        variants=("v",), invocations=invocations, errors=0, error_rate=value, latency_ms=None, value=value
    )


def test_the_side_with_the_better_value_wins_by_the_metrics_direction():
    lower = AbTest(duration_seconds=600)
    assert ab_winner(lower, side(value=0.02), side(value=0.01)).winner == "new"
    higher = AbTest.model_validate(
        {
            "duration_seconds": 600,
            "metric": {"kind": "cloudwatch", "metric_name": "Clicks", "direction": "higher_is_better"},
        }
    )
    assert ab_winner(higher, side(value=0.02), side(value=0.01)).winner == "baseline"


def test_too_little_traffic_or_too_small_a_margin_decides_nothing():
    test = AbTest(duration_seconds=600, min_invocations=1000, min_improvement=0.1)
    short = ab_winner(test, side(invocations=400), side(value=0.001))
    assert short.winner == "none" and "baseline served 400 invocations" in short.reason
    close = ab_winner(test, side(value=0.0100), side(value=0.0095))
    assert close.winner == "none" and "min_improvement" in close.reason
    assert ab_winner(test, side(value=0.01), side(value=None)).winner == "none"


def test_the_decision_follows_the_policy():
    promote = AbTest(duration_seconds=600)
    assert [ab_decision(promote, w) for w in ("new", "baseline", "none")] == ["promote", "rollback", "rollback"]
    assert ab_decision(AbTest(duration_seconds=600, decision="keep_both"), "baseline") == "keep_both"
    assert ab_decision(AbTest(duration_seconds=600, decision="rollback"), "new") == "rollback"


def test_weights_are_relative_and_equal_by_default():
    assert AbTest(duration_seconds=600).new_percent == 50
    assert AbTest(duration_seconds=600, baseline_weight=3, new_weight=1).new_percent == 25
    assert expand(AbTest(duration_seconds=600, new_weight=1, baseline_weight=9))[0].weight_percent == 10


def test_a_shadow_config_copies_the_sampled_share_by_the_shadows_relative_weight():
    baseline = endpoint(variant("blue", count=2))
    config = {
        "EndpointConfigName": "c0",
        "ProductionVariants": [
            {
                "VariantName": "blue",
                "ModelName": "m",
                "InitialVariantWeight": 1.0,
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 2,
            }
        ],
        "DataCaptureConfig": {"EnableCapture": True},
    }
    policy = Policy.model_validate(
        {
            "endpoint_name": "churn-prod",
            "strategy": {"type": "shadow", "sampling_percent": 20, "duration_seconds": 600, "instance_count": 1},
        }
    )
    assert isinstance(policy.strategy, Shadow)
    request = shadow_config(policy, policy.strategy, baseline, config, "new-model", "v3", "c-s")
    assert [v["VariantName"] for v in request["ProductionVariants"]] == ["blue"]
    (shadow,) = request["ShadowProductionVariants"]
    assert shadow["ModelName"] == "new-model" and shadow["InitialVariantWeight"] == 0.2
    assert shadow["InitialInstanceCount"] == 1 and request["DataCaptureConfig"] == {"EnableCapture": True}
    assert policy.judging.max_error_rate_increase == 0.01 and policy.judging.max_latency_ratio == 1.5
