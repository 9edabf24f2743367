"""The standard (all-at-once) strategy end to end: real ASL in moto, real handlers, emulated SageMaker."""

import json

import pytest

from tests.helpers import sample_event, scenario

PACKAGE_1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"
MUTATING = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint")


def states_entered(simulation, arn=None):
    arn = arn or simulation.executions[0]
    events = simulation.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def no_sagemaker_changes(report):
    return not any(report.metrics.api_calls.get(f"sagemaker:{op}") for op in MUTATING)


def test_an_approval_rolls_the_new_model_out(run):
    report, sim = run(scenario())
    assert report.outcome == "succeeded"
    endpoint = report.endpoint
    assert endpoint.status == "InService" and endpoint.config_name != "churn-prod-config-v0"
    (variant,) = endpoint.variants
    assert (variant.name, variant.model_package, variant.weight, variant.instances, variant.instance_type) == (
        "blue",
        PACKAGE_1,
        1.0,
        2,
        "ml.m5.xlarge",
    )
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1
    # the 480 s update, then (the policy's only step has no bake: the update was the promotion) the 300 s
    # post-promotion bake that judges the new model, plus the functions' own time: each function's first run is a
    # cold start (about 1 s), then about 0.05 s of work and 0.05 s per AWS call (aws_timings defaults)
    assert 485 + 300 < report.metrics.simulated_seconds < 500 + 300
    assert report.records[0]["outcome"] == "succeeded" and report.records[0]["strategy"] == "all_at_once"
    entered = states_entered(sim)
    assert entered[:7] == [
        "Receive Input",
        "Resolve Rollout",
        "Continued?",
        "Acquire Endpoint Lock",
        "Lock Acquired?",
        "Snapshot Endpoint",
        "Prepare Target",
    ]
    assert entered[-3:] == ["Record Outcome", "Rollout Finished?", "Rollout Succeeded"]
    assert "churn-prod-config-v0" in sim.sagemaker.configs, "the previous config is kept for a manual revert"
    lock_items = [
        i
        for i in sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]
        if i["sk"]["S"] == "LOCK"
    ]
    assert lock_items == []


def test_polling_is_gentle(run):
    report, _ = run(scenario())
    # an 8-minute update, checked every 30 s: one DescribeEndpoint per check, no config lookups while Updating;
    # then the post-promotion bake's checks (one look at the endpoint and its config each, every 60 s for 300 s)
    assert report.metrics.api_calls["sagemaker:DescribeEndpoint"] <= 8 * 60 / 30 + 3 + 300 / 60
    assert report.metrics.api_calls["sagemaker:DescribeEndpointConfig"] <= 6 + 300 / 60


def test_a_first_deployment_creates_the_endpoint(run):
    report, _sim = run(
        scenario(
            endpoint=None,
            policy={"endpoint_name": "churn-prod", "capacity": {"instance_type": "ml.m5.large", "instance_count": 1}},
        )
    )
    assert report.outcome == "succeeded"
    assert report.metrics.api_calls["sagemaker:CreateEndpoint"] == 1
    (variant,) = report.endpoint.variants
    assert (variant.name, variant.instances, variant.instance_type) == ("AllTraffic", 1, "ml.m5.large")


def test_a_failed_update_puts_the_endpoint_back_on_its_exact_previous_config(run):
    report, sim = run(scenario(faults=[{"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Failed"}]))
    assert report.outcome == "rolled_back"
    assert "failed the ping health check" in report.reason
    assert report.endpoint.status == "InService" and report.endpoint.config_name == "churn-prod-config-v0"
    (variant,) = report.endpoint.variants
    assert (variant.model, variant.weight, variant.instances) == ("churn-prod-blue-model", 1.0, 2)
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}, "the rollout's own config is cleaned up"
    assert sim.sfn.describe_execution(executionArn=sim.executions[0])["status"] == "FAILED"
    assert "Roll Back" in states_entered(sim)


def test_an_update_sagemaker_reverted_itself_is_reported_as_rolled_back(run):
    report, _ = run(
        scenario(
            faults=[
                {
                    "api": "sagemaker:UpdateEndpoint",
                    "endpoint_status_after": "InService",
                    "failure_reason": "Model download failed",
                }
            ]
        )
    )
    assert (
        report.outcome == "rolled_back"
        and "SageMaker kept churn-prod-config-v0: Model download failed" in report.reason
    )
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1, "nothing to undo: SageMaker already did"
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_an_update_that_runs_past_its_timeout_is_rolled_back_once_it_settles(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "update_timeout_seconds": 1800},
            faults=[{"api": "sagemaker:UpdateEndpoint", "duration_seconds": 2400}],
        )
    )
    assert report.outcome == "rolled_back" and "UpdateTimedOutError" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0" and report.endpoint.status == "InService"
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 2  # forward, then back


def test_a_duplicate_approval_event_starts_no_second_rollout(run):
    report, _sim = run(
        scenario(approval={"group": "churn", "event": "events/model-package-approved.json", "duplicates": 1})
    )
    assert sorted(e.outcome for e in report.executions) == ["duplicate", "succeeded"]
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1
    assert report.outcome == "succeeded"


def start_second_approval_while_first_runs(sim, policy_override=None):
    first_input = sim.prepare_approval()
    with sim.holding_time():
        first = sim.start(first_input)
        # the functions take simulated time: let it pass in small steps until the first rollout holds the lock
        while "Prepare Target" not in states_entered(sim, first):
            sim.clock.sleep(0.5)
        second_package = sim.create_package("churn")
        second_input = sim.approval_event(json.loads(json.dumps(first_input)), second_package)
        if policy_override:
            sim.put_policy("churn", policy_override)
        second = sim.start(second_input)
    sim.wait()
    return first, second, second_package


def test_a_busy_endpoint_queues_the_next_rollout_then_runs_it(run):
    from rollout_local.report import build_report
    from rollout_local.simulator import Simulation

    with Simulation(scenario()) as sim:
        _first, second, second_package = start_second_approval_while_first_runs(sim)
        report = build_report(sim)
        assert [e.outcome for e in report.executions] == ["succeeded", "succeeded"]
        assert "Wait For Lock" in states_entered(sim, second)
        assert report.endpoint.variants[0].model_package == second_package
        assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 2


def test_a_busy_endpoint_refuses_the_next_rollout_when_the_policy_says_reject(run):
    from rollout_local.report import build_report
    from rollout_local.simulator import Simulation

    with Simulation(scenario(policy={"endpoint_name": "churn-prod", "on_busy": "reject"})) as sim:
        first, second, _ = start_second_approval_while_first_runs(sim)
        report = build_report(sim)
        by_name = {e.name: e for e in report.executions}
        assert by_name[first.rsplit(":", 1)[-1]].outcome == "succeeded"
        refused = by_name[second.rsplit(":", 1)[-1]]
        assert (
            refused.outcome == "rejected"
            and "busy with rollout" in refused.reason
            and "on_busy=reject" in refused.reason
        )
        assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1


BAD_INPUTS = {
    "package not approved": (
        {
            "approval": {
                "group": "churn",
                "event": "events/model-package-approved.json",
                "package_status": "PendingManualApproval",
            }
        },
        "PackageNotApprovedError",
    ),
    "package missing": (
        {"approval": {"group": "churn", "event": "events/model-package-approved.json", "package_exists": False}},
        "PackageNotFoundError",
    ),
    "endpoint not in service": (
        {"endpoint": {"name": "churn-prod", "status": "Updating", "variants": [{"name": "blue"}]}},
        "EndpointNotInServiceError",
    ),
    "endpoint config missing": (
        {"endpoint": {"name": "churn-prod", "config_missing": True, "variants": [{"name": "blue"}]}},
        "EndpointConfigNotFoundError",
    ),
    "invalid endpoint name": ({"policy": {"endpoint_name": "churn_prod"}}, "InvalidNameError"),
    "invalid policy": ({"policy": {"endpoint_name": "churn-prod", "poll_interval_seconds": 1}}, "PolicyError"),
    "no policy anywhere": ({"policy": None}, "PolicyError"),
    "malformed event": (
        {
            "approval": {
                "group": "churn",
                "package_exists": False,
                "event": {
                    "id": "x",
                    "source": "aws.sagemaker",
                    "detail-type": "SageMaker Model Package State Change",
                    "detail": {"ModelApprovalStatus": "Approved", "ModelPackageGroupName": "churn"},
                },
            }
        },
        "MalformedEventError",
    ),
    "malformed manual start": (
        {"approval": {"group": "churn", "manual": {"model_package_arn": "nope"}}},
        "MalformedEventError",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_rejected_with_a_specific_error_and_changes_nothing(run, case):
    overrides, error = BAD_INPUTS[case]
    report, sim = run(scenario(**overrides))
    assert report.outcome == "rejected", report.reason
    assert report.reason.startswith(error), report.reason
    assert no_sagemaker_changes(report)
    if sim.scenario.endpoint is not None and not sim.scenario.endpoint.config_missing:
        assert report.endpoint.config_name == "churn-prod-config-v0"
    described = sim.sfn.describe_execution(executionArn=sim.executions[0])
    assert described["status"] == "FAILED" and described["error"] == "RolloutRejected"
    assert report.records and report.records[0]["outcome"] == "rejected"


def test_a_manual_start_with_its_own_policy_works(run):
    # the operator lets manual starts and package metadata choose the polling rate (a field that makes a rollout
    # no more careful: it must be listed)
    report, _sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "allow_package_overrides": ["poll_interval_seconds"]},
            approval={
                "group": "churn",
                "manual": {"endpoint_name": "churn-prod", "policy": {"poll_interval_seconds": 60}},
            },
        )
    )
    assert report.outcome == "succeeded"
    assert report.records[0]["source"] == "manual"
    assert report.metrics.api_calls["sagemaker:DescribeEndpoint"] <= 8 + 3


def test_package_metadata_picks_an_endpoint_among_the_groups_allowed_endpoints(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-staging", "allowed_endpoints": ["churn-staging", "churn-prod"]},
            approval={
                "group": "churn",
                "event": "events/model-package-approved.json",
                "metadata": {"rollout:endpoint_name": "churn-prod"},
            },
        )
    )
    assert report.outcome == "succeeded" and report.endpoint.variants[0].model_package == PACKAGE_1


def test_an_event_the_rule_does_not_match_starts_nothing(run):
    event = sample_event("model-package-approved.json")
    event["detail"]["ModelApprovalStatus"] = "Rejected"
    report, sim = run(scenario(approval={"group": "churn", "event": event}))
    assert report.outcome == "ignored" and sim.executions == []


def test_throttling_is_retried_and_never_judged_a_failure(run):
    # 12 throttled DescribeEndpoint calls: more than the SDK's 5 attempts, so the state machine's Retry steps in
    throttled = {"api": "sagemaker:DescribeEndpoint", "error": "ThrottlingException", "times": 12, "after_calls": 3}
    report, sim = run(scenario(faults=[throttled]))
    assert report.outcome == "succeeded"
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 1
    assert report.metrics.wall_seconds < 30, "SDK and state machine backoff both run on virtual time"
    failures = [
        e
        for e in sim.sfn.get_execution_history(executionArn=sim.executions[0], maxResults=1000)["events"]
        if e["type"] == "TaskFailed"
    ]
    assert failures and all(e["taskFailedEventDetails"]["error"] == "ThrottledError" for e in failures)


@pytest.mark.parametrize("raw", [["a", "list"], "approve me", None, 42], ids=["list", "string", "null", "number"])
def test_inputs_that_are_not_objects_end_as_recorded_rejections(raw):
    from rollout_local.report import build_report
    from rollout_local.simulator import Simulation

    with Simulation(scenario()) as sim:
        sim.prepare_approval()
        with sim.holding_time():
            arn = sim.start(raw)
            sim.start_world()
        sim.wait()
        described = sim.sfn.describe_execution(executionArn=arn)
        assert described["status"] == "FAILED" and described["error"] == "RolloutRejected"
        report = build_report(sim)
        (record,) = report.records
        assert record["outcome"] == "rejected" and record["reason"].startswith("MalformedEventError: execution input")
        assert no_sagemaker_changes(report)


def test_a_refused_approval_event_is_filed_under_the_endpoint_its_policy_names(run):
    report, _ = run(
        scenario(
            approval={
                "group": "churn",
                "event": "events/model-package-approved.json",
                "package_status": "PendingManualApproval",
            }
        )
    )
    (record,) = report.records
    assert record["outcome"] == "rejected" and record["endpoint_name"] == "churn-prod"
