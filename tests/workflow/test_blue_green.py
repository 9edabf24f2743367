"""Blue/green and rolling updates under SageMaker's own deployment guardrails, end to end: the service starts
UpdateEndpoint with a DeploymentConfig, follows it, and reports what SageMaker did - including its own rollback."""

import pytest

from tests.helpers import scenario

GOOD = {"error_rate": 0.001, "latency_ms": 40}
BAD = {"error_rate": 0.2, "latency_ms": 40}
FOUR = {
    "name": "churn-prod",
    "variants": [{"name": "AllTraffic", "instance_type": "ml.m5.xlarge", "instance_count": 4, "weight": 1}],
}
ALARM = {
    "name": "churn-prod-5xx",
    "metric": "Invocation5XXErrors",
    "variant": "AllTraffic",
    "statistic": "Sum",
    "threshold": 30,
    "treat_missing_data": "notBreaching",
}
ROUTINGS = {
    "ALL_AT_ONCE": ({"type": "ALL_AT_ONCE", "wait_interval_seconds": 300}, [1.0]),
    "CANARY": (
        {"type": "CANARY", "canary_size": {"type": "INSTANCE_COUNT", "value": 1}, "wait_interval_seconds": 300},
        [0.25, 1.0],
    ),
    "LINEAR": (
        {"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 25}, "wait_interval_seconds": 120},
        [0.25, 0.5, 0.75, 1.0],
    ),
}


def blue_green(routing=None, **fields):
    strategy = {"type": "blue_green", "auto_rollback_alarms": ["churn-prod-5xx"], **fields}
    if routing is not None:
        strategy["traffic_routing"] = routing
    return {"endpoint_name": "churn-prod", "strategy": strategy}


def guarded(policy, new=GOOD, endpoint=FOUR, **overrides):
    return scenario(
        endpoint=endpoint,
        policy=policy,
        alarms=[ALARM],
        traffic={"requests_per_second": 20},
        model_behaviour={"baseline": GOOD, "new": new},
        **overrides,
    )


def green_shares(sim):
    """The distinct shares of traffic the green fleet served, in order."""
    shares = []
    for _, endpoints in sim.world.shares:
        share = round(endpoints.get("churn-prod", {}).get("AllTraffic (green)", 0.0), 6)
        if share and (not shares or shares[-1] != share):
            shares.append(share)
    return shares


def updates(sim):
    return [what for _, op, _, what in sim.sagemaker.changes if op == "UpdateEndpoint"]


@pytest.mark.parametrize("routing", list(ROUTINGS))
def test_a_healthy_blue_green_update_succeeds_with_traffic_moved_as_routed(run, routing):
    config, expected = ROUTINGS[routing]
    report, sim = run(guarded(blue_green(config, termination_wait_seconds=120)))
    assert report.outcome == "succeeded", report.reason
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1") and variant.instances == 4
    assert updates(sim) == [f"{report.endpoint.config_name} ({routing})"], "one UpdateEndpoint, SageMaker does the rest"
    assert green_shares(sim) == expected
    update = next(e.t for e in report.timeline if e.state == "Start Update")
    done = next(e.t for e in report.timeline if e.state == "Clean Up")
    polls = report.metrics.api_calls["sagemaker:DescribeEndpoint"]
    assert polls <= (done - update) / 60 + 6, "a guardrail deployment is polled once a minute, not every 30 s"
    start = next(e for e in report.timeline if e.state == "Start Update")
    assert f"blue/green {routing}" in start.note and "rolls back on churn-prod-5xx" in start.note
    stages = [e.note for e in report.timeline if e.state == "Check Endpoint" and "AllTraffic Baking" in e.note]
    assert stages and "the new fleet serves" in stages[0], "each poll says what SageMaker is doing"


@pytest.mark.parametrize("routing", list(ROUTINGS))
def test_sagemakers_alarm_driven_rollback_is_detected_and_reported_with_the_alarm(run, routing):
    config, _ = ROUTINGS[routing]
    report, sim = run(guarded(blue_green(config), new=BAD))
    assert report.outcome == "rolled_back"
    assert "SageMaker's deployment guardrails rolled churn-prod back to churn-prod-config-v0" in report.reason
    assert "alarm churn-prod-5xx went to ALARM" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert [v.model for v in report.endpoint.variants] == ["churn-prod-AllTraffic-model"]
    assert len(updates(sim)) == 1, "SageMaker rolled back by itself: the service had nothing to undo"
    assert any(op == "GuardrailRollback" for _, op, _, _ in sim.sagemaker.changes)
    assert any(e.state == "SageMaker guardrails" for e in report.timeline)
    assert green_shares(sim)[-1] < 1.0 or routing == "ALL_AT_ONCE"
    assert not any("-c-v1-" in c for c in sim.sagemaker.configs), "the unused target config is cleaned up"


@pytest.mark.parametrize("routing", list(ROUTINGS))
def test_a_deployment_past_its_execution_timeout_is_rolled_back_by_sagemaker_and_reported(run, routing):
    config, _ = ROUTINGS[routing]
    config = {**config, "wait_interval_seconds": 60}
    slow = {"api": "sagemaker:UpdateEndpoint", "duration_seconds": 1800}  # the green fleet takes 30 min
    report, _sim = run(guarded(blue_green(config, max_execution_timeout_seconds=600), faults=[slow]))
    assert report.outcome == "rolled_back"
    assert "ran past max_execution_timeout_seconds=600" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    rollback_seen = next(e.t for e in report.timeline if e.state == "Roll Back")
    # SageMaker stops the update at 600 s and rolls its fleet back; the endpoint's state change wakes the wait.
    # The simulation is deterministic, so the instant is exact (the same for every routing)
    assert rollback_seen == 668.05, "noticed when SageMaker's rollback ends, not at a later poll"


def test_a_deployment_that_hangs_past_the_timeout_is_reported_not_waited_on_forever(run):
    config = {**ROUTINGS["CANARY"][0], "wait_interval_seconds": 60}
    hung = {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Updating"}
    policy = blue_green(config, max_execution_timeout_seconds=600)
    policy["update_timeout_seconds"] = 600
    report, _sim = run(guarded(policy, faults=[hung]))
    assert report.outcome == "needs_attention", report.reason
    assert "did not finish within rollback_deadline_seconds=3600 (the endpoint is Updating" in report.reason
    stuck = next(e for e in report.timeline if e.state == "Check Endpoint" and "UpdateTimedOutError" in e.note)
    assert "max_execution_timeout_seconds=600 passed" in stuck.note
    assert stuck.t == 1508.75, "seen at the first look after max_execution_timeout_seconds + its 900 s grace"
    # the last word is that a person must look (a "Rollout Failed" once seen after it came from a thread of an
    # earlier test's simulation that outlived it: closing a simulation now ends its threads, see VirtualClock.close)
    assert [e.detail_type for e in report.events][-1] == "Rollout Needs Attention"


def test_a_rolling_update_replaces_the_fleet_in_batches(run):
    rolling = {"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}, "wait_interval_seconds": 120}
    report, sim = run(guarded(blue_green(rolling=rolling)))
    assert report.outcome == "succeeded", report.reason
    assert green_shares(sim) == [0.25, 0.5, 0.75, 1.0]
    assert updates(sim) == [f"{report.endpoint.config_name} (ROLLING)"]


def test_a_rolling_update_with_a_bad_model_is_rolled_back_by_sagemaker(run):
    rolling = {
        "max_batch_size": {"type": "CAPACITY_PERCENT", "value": 25},
        "wait_interval_seconds": 300,
        "rollback_max_batch_size": {"type": "CAPACITY_PERCENT", "value": 50},
    }
    report, _sim = run(guarded(blue_green(rolling=rolling), new=BAD))
    assert report.outcome == "rolled_back"
    assert "alarm churn-prod-5xx went to ALARM" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"


@pytest.mark.parametrize(
    ("strategy", "endpoint", "expected"),
    [
        (
            {"traffic_routing": {"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 60}}},
            FOUR,
            "canary_size may be at most 50% of the fleet, got 60%",
        ),
        (
            {"traffic_routing": {"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 5}}},
            FOUR,
            "linear_step_size must be 10% to 50% of the fleet",
        ),
        (
            {"traffic_routing": {"type": "CANARY", "canary_size": {"type": "INSTANCE_COUNT", "value": 3}}},
            FOUR,
            "canary_size=3 instance(s) is 75% of variant AllTraffic's 4 instance(s)",
        ),
        (
            {"traffic_routing": {"type": "ALL_AT_ONCE", "wait_interval_seconds": 4000}},
            FOUR,
            "less than or equal to 3600",
        ),
        ({"max_execution_timeout_seconds": 300}, FOUR, "greater than or equal to 600"),
        (
            {
                "traffic_routing": {"type": "ALL_AT_ONCE", "wait_interval_seconds": 3000},
                "termination_wait_seconds": 600,
            },
            FOUR,
            "must be larger than the waits it contains",
        ),
        ({"auto_rollback_alarms": []}, FOUR, "blue_green needs alarms for SageMaker to roll back on"),
        ({"auto_rollback_alarms": ["no-such-alarm"]}, FOUR, "names alarm(s) that do not exist: no-such-alarm"),
        (
            {"rolling": {"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}}},
            {
                "name": "churn-prod",
                "variants": [
                    {"name": "a", "instance_type": "ml.m5.xlarge", "instance_count": 2},
                    {"name": "b", "instance_type": "ml.m5.xlarge", "instance_count": 2},
                ],
            },
            "rolling updates support single-variant endpoints only",
        ),
        (
            {"traffic_routing": {"type": "ALL_AT_ONCE"}},
            {"name": "churn-prod", "variants": [{"name": "AllTraffic", "instance_type": "ml.inf1.xlarge"}]},
            "do not support Inf1 instances",
        ),
    ],
)
def test_invalid_blue_green_settings_are_refused_before_anything_is_touched(run, strategy, endpoint, expected):
    policy = {
        "endpoint_name": "churn-prod",
        "strategy": {"type": "blue_green", "auto_rollback_alarms": ["churn-prod-5xx"]},
    }
    policy["strategy"].update(strategy)
    report, sim = run(guarded(policy, endpoint=endpoint))
    assert report.outcome == "rejected"
    assert expected in report.reason
    assert not sim.sagemaker.changes, "nothing was updated"
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}, "no config was created"


@pytest.mark.parametrize(
    ("strategy", "share"),
    [
        (blue_green(ROUTINGS["CANARY"][0]), 0.25),
        (
            blue_green(
                rolling={"max_batch_size": {"type": "INSTANCE_COUNT", "value": 1}, "wait_interval_seconds": 120}
            ),
            0.25,
        ),
    ],
)
def test_a_guarded_update_whose_rollback_fails_leaves_the_endpoint_serving_and_says_exactly_how(run, strategy, share):
    reason = "The new fleet failed its health checks."
    fault = {
        "api": "sagemaker:UpdateEndpoint",
        "endpoint_status_after": "UpdateRollbackFailed",
        "failure_reason": reason,
    }
    report, sim = run(guarded(strategy, faults=[fault]))
    assert report.outcome == "needs_attention", report.reason
    assert report.endpoint.exists and report.endpoint.status == "UpdateRollbackFailed"
    routes = {route.fleet: route.share for route in sim.sagemaker.traffic_routes()["churn-prod"]}
    assert routes == {"green": share, "": 1 - share}, "it still serves, from both fleets"
    (record,) = report.records
    target_config = record["target_config"]
    (model,) = (name for name in sim.sagemaker.models if name.startswith("churn-prod-m-v1"))
    items = sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]
    assert not [item for item in items if item["sk"]["S"] == "LOCK"], "the lock was released"
    (hold,) = [item for item in items if item["sk"]["S"] == "HOLD"]
    assert hold["rollout_id"]["S"] == record["rollout_id"], "the endpoint is held until a person releases it"
    for api in ("DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel", "UpdateEndpointWeightsAndCapacities"):
        assert report.metrics.api_calls.get(f"sagemaker:{api}", 0) == 0, f"the rollout called {api}"
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1
    assert {"churn-prod-config-v0", target_config} <= set(sim.sagemaker.configs) and model in sim.sagemaker.models
    for said in (
        "endpoint churn-prod is UpdateRollbackFailed",
        f"a mix of churn-prod-config-v0 (before the rollout) and {target_config} (this rollout's)",
        f"FailureReason: {reason}",
        "nothing was deleted",
        "--endpoint-config-name churn-prod-config-v0",
    ):
        assert said in report.reason
    assert report.reason.startswith("RollbackFailedError")
    seen = next(e for e in report.timeline if e.state == "Check Endpoint" and "UpdateFailedError" in e.note)
    assert f"update of churn-prod to {target_config} failed, and so did SageMaker's automatic rollback" in seen.note
    assert not any(e.state == "Roll Back" and "deleting" in e.note for e in report.timeline)
