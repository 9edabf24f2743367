"""Every strategy takes a path SageMaker accepts for the endpoint's kind, or is refused before anything exists.

The emulator refuses what SageMaker refuses (serverless endpoints hold one variant, shadow tests exclude some
endpoints, an instance-based endpoint never becomes serverless, an autoscaled variant keeps its instance type):
each refusal here is the service's, in Snapshot Endpoint, before Prepare Target creates a model or a config.
"""

from unittest import mock

import pytest

from tests.helpers import scenario

SERVERLESS = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "serverless": {"memory_size_mb": 2048, "max_concurrency": 5}}],
}
AUTOSCALED = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "autoscaling": {}}],
}
INF1 = {"name": "churn-prod", "variants": [{"name": "blue", "instance_type": "ml.inf1.xlarge", "instance_count": 2}]}
ASYNC = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2}],
    "config_extras": {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://async/churn"}}},
}
ALARM = {
    "name": "churn-prod-5xx",
    "metric": "Invocation5XXErrors",
    "variant": "blue",
    "statistic": "Sum",
    "threshold": 30,
}
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}
SHADOW = {"type": "shadow", "sampling_percent": 10, "duration_seconds": 600}


def rollout(endpoint, strategy, **policy):
    return scenario(
        endpoint=endpoint,
        policy={"endpoint_name": "churn-prod", "strategy": strategy, **policy},
        alarms=[ALARM],
        traffic={"requests_per_second": 5},
    )


def assert_nothing_touched(report, sim):
    assert report.outcome == "rejected", report.reason
    assert report.reason.startswith("UnsupportedEndpointError")
    assert not sim.sagemaker.changes, "the endpoint was not updated"
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}, "no config was created"
    assert not any("-m-v1-" in name for name in sim.sagemaker.models), "no model was created"
    assert "sagemaker:CreateModel" not in report.metrics.api_calls


@pytest.mark.parametrize(
    "strategy",
    [
        CANARY,
        {"type": "linear", "step_percent": 25, "interval_seconds": 300},
        {"type": "steps", "steps": [{"weight_percent": 50, "bake_seconds": 60}, {"weight_percent": 100}]},
        {"type": "ab_test", "duration_seconds": 3600},
        SHADOW,
        {"type": "blue_green", "auto_rollback_alarms": ["churn-prod-5xx"]},
        {
            "type": "blue_green",
            "auto_rollback_alarms": ["churn-prod-5xx"],
            "rolling": {"max_batch_size": {"type": "CAPACITY_PERCENT", "value": 25}},
        },
    ],
    ids=lambda s: s["type"] + ("-rolling" if "rolling" in s else ""),
)
def test_a_serverless_endpoint_refuses_every_strategy_but_all_at_once_and_names_it(run, strategy):
    report, sim = run(rollout(SERVERLESS, strategy))
    assert_nothing_touched(report, sim)
    assert "churn-prod is serverless (variant blue)" in report.reason
    assert "use strategy all_at_once (with bake_seconds" in report.reason


def test_all_at_once_with_a_bake_updates_a_serverless_endpoint(run):
    report, sim = run(rollout(SERVERLESS, {"type": "all_at_once", "bake_seconds": 600}))
    assert report.outcome == "succeeded", report.reason
    config = sim.sagemaker.configs[report.endpoint.config_name]
    assert [v.get("ServerlessConfig") for v in config["ProductionVariants"]] == [
        {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    ]


def test_without_the_services_refusal_sagemaker_itself_refuses_a_serverless_canary(run):
    # the negative control: the emulator is as strict as SageMaker, so the refusal above is not decoration
    with mock.patch("rollout.steps.baseline.endpoint_refusal", return_value=None):
        report, sim = run(rollout(SERVERLESS, CANARY))
    assert report.outcome != "succeeded"
    assert "single production variant" in report.reason
    assert sim.sagemaker.endpoints["churn-prod"].config_name == "churn-prod-config-v0"
    assert not any("-m-v1-" in name for name in sim.sagemaker.models), "Clean Up removed the model it had made"


@pytest.mark.parametrize(
    ("endpoint", "capacity", "said"),
    [
        (
            {"name": "churn-prod", "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge"}]},
            {"serverless": {"memory_size_mb": 2048, "max_concurrency": 5}},
            "cannot update an instance-based endpoint to a serverless config",
        ),
        (SERVERLESS, {"instance_type": "ml.m5.large", "instance_count": 1}, "never back to serverless"),
        (AUTOSCALED, {"instance_type": "ml.m5.2xlarge"}, "refuses an update that changes its instance type"),
    ],
    ids=["to-serverless", "from-serverless", "autoscaled-instance-type"],
)
def test_a_capacity_change_sagemaker_would_refuse_or_never_undo_is_refused(run, endpoint, capacity, said):
    report, sim = run(rollout(endpoint, {"type": "all_at_once"}, capacity=capacity))
    assert_nothing_touched(report, sim)
    assert said in report.reason


@pytest.mark.parametrize(
    ("endpoint", "excluded"), [(ASYNC, "asynchronous endpoints"), (INF1, "Inf1 instances")], ids=["async", "inf1"]
)
def test_a_shadow_test_is_refused_on_an_endpoint_sagemakers_shadow_tests_exclude(run, endpoint, excluded):
    report, sim = run(rollout(endpoint, SHADOW))
    assert_nothing_touched(report, sim)
    assert f"shadow tests exclude {excluded}" in report.reason
