"""The scenario timeline: the outside world acting at exact simulated times, through the real state machine."""

import json

import pytest

from tests.helpers import LIVE_ENDPOINT, scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 900}
SECOND_ENDPOINT = {
    "name": "fraud-prod",
    "variants": [{"name": "main", "instance_type": "ml.m5.large", "instance_count": 1, "weight": 1}],
}
TWO_VARIANTS = {
    "name": "churn-prod",
    "variants": [
        {"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1},
        {"name": "green", "instance_type": "ml.m5.xlarge", "instance_count": 1, "weight": 1},
    ],
}


def quiet_world(**overrides):
    """No approval: only the timeline happens (to watch one action's effect alone)."""
    return scenario(approval=None, policy=None, **overrides)


def changes(sim, operation):
    start = sim.clock.start
    return [((at - start).total_seconds(), what) for at, op, _, what in sim.sagemaker.changes if op == operation]


def by_ref(report):
    return {e.package_ref: e for e in report.executions}


def test_someone_elses_weight_change_happens_at_its_time(run):
    report, sim = run(
        quiet_world(
            endpoint=TWO_VARIANTS,
            traffic={"requests_per_second": 10},
            timeline=[
                {"at_seconds": 300, "action": "update_weights", "endpoint": "churn-prod", "weights": {"green": 0}}
            ],
        )
    )
    assert changes(sim, "UpdateEndpointWeightsAndCapacities") == [(300.0, {"green": 0.0})]
    assert [(a.t, a.action, a.error) for a in report.actions] == [(300.0, "update_weights", None)]
    (endpoint,) = report.endpoints
    assert {v.name: v.weight for v in endpoint.variants} == {"blue": 1.0, "green": 0.0}
    shares = {(t - sim.clock.start).total_seconds(): s["churn-prod"] for t, s in sim.world.shares}
    assert shares[180.0]["green"] == pytest.approx(0.5), "before the change both variants serve"
    assert report.outcome == "ignored" and report.executions == []


def test_someone_elses_update_endpoint_to_a_new_config_and_deletions(run):
    report, sim = run(
        quiet_world(
            endpoints=[LIVE_ENDPOINT, SECOND_ENDPOINT],
            endpoint=None,
            timeline=[
                {
                    "at_seconds": 120,
                    "action": "update_endpoint",
                    "endpoint": "churn-prod",
                    "variants": [{"name": "hotfix", "instance_type": "ml.m5.xlarge", "instance_count": 3}],
                },
                {"at_seconds": 1200, "action": "delete_config", "config": "churn-prod-config-v0"},
                {"at_seconds": 1260, "action": "delete_endpoint", "endpoint": "fraud-prod"},
                {"at_seconds": 1400, "action": "delete_config", "endpoint": "fraud-prod"},
            ],
        )
    )
    assert changes(sim, "UpdateEndpoint") == [(120.0, "churn-prod-config-t0")]
    churn, fraud = report.endpoints
    assert churn.config_name == "churn-prod-config-t0" and [(v.name, v.instances) for v in churn.variants] == [
        ("hotfix", 3)
    ]
    assert not fraud.exists, "deleted by someone else"
    assert "churn-prod-config-v0" not in sim.sagemaker.configs
    refused = report.actions[-1]
    assert refused.t == 1400 and refused.error and "Could not find endpoint" in refused.error, (
        "an action AWS refuses is reported, not raised"
    )


def test_set_alarm_mid_bake_rolls_the_rollout_back_through_the_alarm_listener(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY, "analysis": {"alarms": ["conversion"]}},
            alarms=[{"name": "conversion", "script": [{"at_seconds": 0, "state": "OK"}]}],
            timeline=[{"at_seconds": 700, "action": "set_alarm", "alarm": "conversion", "state": "ALARM"}],
        )
    )
    assert report.outcome == "rolled_back" and "conversion" in report.reason
    rollback = next(e.t for e in report.timeline if e.state == "Roll Back")
    assert 700 < rollback < 705, "the listener ends the bake within seconds (event delivery, Lambda time)"
    listened = [i for i in sim.aws.invocations if i.function == "AlarmListenerFunction"]
    # one invocation: delivered 0.5 s after the change, its cold start and run (it is recorded when it ends)
    assert [(i.at - sim.clock.start).total_seconds() for i in listened] == [pytest.approx(701.65)]
    transitions = [(t.new, (t.at - sim.clock.start).total_seconds()) for t in sim.world.transitions]
    assert ("ALARM", 700.0) in transitions and ("OK", 705.0) in transitions, (
        "SetAlarmState holds only until the alarm is evaluated again, a few seconds later (as in CloudWatch)"
    )
    assert report.event_errors == []


def test_a_second_approval_on_another_endpoint_runs_at_the_same_time(run):
    report, _ = run(
        scenario(
            endpoint=None,
            endpoints=[LIVE_ENDPOINT, SECOND_ENDPOINT],
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            policies={"fraud": {"endpoint_name": "fraud-prod", "strategy": CANARY}},
            timeline=[{"at_seconds": 60, "action": "approve", "group": "fraud"}],
        )
    )
    churn, fraud = by_ref(report)["churn/1"], by_ref(report)["fraud/1"]
    assert (churn.endpoint, fraud.endpoint) == ("churn-prod", "fraud-prod")
    assert fraud.started == 60.5 and fraud.started < churn.ended and churn.started < fraud.ended, "they overlap"
    assert report.outcome == "succeeded" and report.reason == "all 2 rollouts succeeded"
    served = {e.name: {v.model_package for v in e.variants} for e in report.endpoints}
    assert served == {
        "churn-prod": {"arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"},
        "fraud-prod": {"arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1"},
    }


def states(execution):
    return [e.state for e in execution.timeline]


def test_a_newer_version_approved_on_a_busy_endpoint_queues_behind_the_first(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            timeline=[{"at_seconds": 120, "action": "approve", "group": "churn"}],
        )
    )
    first, second = by_ref(report)["churn/1"], by_ref(report)["churn/2"]
    assert second.started == 120.5 and "Wait For Lock" in states(second), "EventBridge delivers 0.5 s later"
    assert next(e.t for e in second.timeline if e.state == "Snapshot Endpoint") >= first.ended
    assert (first.outcome, second.outcome) == ("succeeded", "succeeded")
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/2")


def test_a_rejection_is_an_event_that_starts_no_rollout(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            timeline=[{"at_seconds": 300, "action": "set_approval", "package": "churn/1", "status": "Rejected"}],
        )
    )
    put = [p for p in sim.bus.log if p.source == "aws.sagemaker"]
    rejected = [p for p in put if (p.at - sim.clock.start).total_seconds() == 300]
    assert len(rejected) == 1 and rejected[0].rules == ["PackageListenerFunction"], "not the state machine's rule"
    assert sim.sagemaker.packages[rejected[0].resources[0]]["ModelApprovalStatus"] == "Rejected"
    assert len(report.executions) == 1, "a rejection starts no rollout"
    assert report.outcome == "rolled_back" and report.reason.startswith("ApprovalRevokedError"), report.reason


def test_a_lifecycle_event_of_an_old_approved_version_reaches_the_state_machine(run):
    report, sim = run(
        scenario(
            timeline=[
                {"at_seconds": 600, "action": "approve", "group": "churn"},
                {
                    "at_seconds": 1800,
                    "action": "package_event",
                    "package": "churn/1",
                    "metadata": {"stage": "archived"},
                },
            ]
        )
    )
    late = [p for p in sim.bus.log if (p.at - sim.clock.start).total_seconds() == 1800 and p.source == "aws.sagemaker"]
    assert [p.rules for p in late] == [["state machine"]], "the same detail-type, with ModelApprovalStatus Approved"
    third = report.executions[-1]
    assert third.started == 1800.5 and third.package_ref == "churn/1", "an execution of the old version started"
    assert [e.package_ref for e in report.executions] == ["churn/1", "churn/2", "churn/1"]
    assert third.outcome == "rejected" and third.reason.startswith("DowngradeError"), "no silent downgrade"
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/2")


def test_a_timeline_operator_command_steers_the_rollout_like_the_cli(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            timeline=[
                {
                    "at_seconds": 700,
                    "action": "operator",
                    "command": "abort",
                    "endpoint": "churn-prod",
                    "by": "bob@example.com",
                    "reason": "wrong features",
                }
            ],
        )
    )
    assert report.outcome == "rolled_back"
    assert report.reason == (
        "AbortedError: aborted by arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice "
        "(--by bob@example.com): wrong features"
    )
    assert report.operator[0]["t"] == 700 and report.operator[0]["done"]


def test_a_manual_start_from_the_timeline(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "allow_package_overrides": ["poll_interval_seconds"]},
            timeline=[
                {
                    "at_seconds": 700,
                    "action": "operator",
                    "command": "start",
                    "package": "churn/1",
                    "endpoint": "churn-prod",
                    "policy": {"poll_interval_seconds": 60},
                }
            ],
        )
    )
    first, manual = report.executions
    assert manual.started == 700 and manual.package_ref == "churn/1" and manual.endpoint == "churn-prod"
    assert report.operator[0]["rollout_id"] == manual.name
    record = next(r for r in report.records if r["rollout_id"] == manual.name)
    assert (record["source"], record["outcome"]) == ("manual", "succeeded")
    # the first rollout still holds the endpoint at +700 s (its only step has no bake: its post-promotion bake
    # judges the new model for 300 s after the 8-minute update), so the manual one queues (lock_poll_seconds=60),
    # then takes its own 8-minute update and 300 s post-promotion bake, plus the Lambdas' own time
    assert first.ended is not None and first.ended > 700
    assert first.ended + 480 + 300 < manual.ended < first.ended + 60 + 480 + 300 + 30, (first.ended, manual.ended)


def test_rollout_simulate_prints_several_rollouts_and_their_world(capsys):
    from rollout_cli.cli import main

    code = main(["simulate", "scenarios/timeline-busy-day.yaml"])  # judged by its own expect: block
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reason    3 rollouts: 2 succeeded, 1 rolled_back" in out
    table = out.split("rollouts  3\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[4:7] for line in table] == [
        ["churn/1", "->", "churn-prod"],
        ["fraud/1", "->", "fraud-prod"],
        ["churn/2", "->", "churn-prod"],
    ]
    assert "rolled_back HealthCheckFailedError" in table[1] and "alarm fraud-chargebacks" in table[1]
    assert "rollout 3: churn/2 -> churn-prod, succeeded" in out
    assert "... " in out and " more, to +" in out, "polling is folded"
    around = out.split("around the rollouts\n", 1)[1]
    assert "+14:30  timeline: set_alarm" in around
    assert "fraud/1 set to Rejected; SageMaker Model Package State Change -> PackageListenerFunction" in around
    assert "endpoints churn-prod: InService" in out and "          fraud-prod: InService on fraud-prod-config-v0" in out


def test_a_bad_scenario_is_refused_in_one_line_before_anything_runs(tmp_path, capsys):
    from rollout_cli.cli import main

    path = tmp_path / "typo.yaml"
    path.write_text(
        "name: typo\nendpoint: {name: churn-prod, variants: [{name: blue}]}\n"
        "approval: {group: churn, event: events/model-package-approved.json}\n"
        "timeline: [{at_seconds: 60, action: set_approval, package: churn/1, satus: Rejected}]\n"
    )
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith("timeline[0]: missing 'status'; timeline[0]: unknown key 'satus' (did you mean 'status'?)")


@pytest.mark.parametrize("raw", [[], "approve churn", None], ids=["list", "string", "null"])
def test_someone_can_start_the_state_machine_with_any_input(run, raw):
    report, sim = run(quiet_world(timeline=[{"at_seconds": 30, "action": "start_execution", "input": raw}]))
    (execution,) = report.executions
    assert execution.started == 30
    described = sim.sfn.describe_execution(executionArn=sim.executions[0])
    assert json.loads(described["input"]) == raw, "the input reaches the state machine exactly as given"
    assert execution.status != "RUNNING"
