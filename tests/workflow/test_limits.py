"""Negative controls for AWS's quotas and limits on the real workflow, and the time AWS takes."""

import itertools
from collections import Counter

from rollout.aws import table

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 6 * 3600}


def history(sim, index=0):
    return sim.sfn.get_execution_history(executionArn=sim.executions[index], maxResults=1000)["events"]


def entered(events):
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_a_long_bake_past_a_lowered_history_quota_fails_the_execution_outright(run):
    # a 6-hour bake checked every 15 minutes needs more than 300 events: the quota ends the execution mid-bake
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY, "analysis": {"check_interval_seconds": 60}},
            limits={"history_events": 300},
        )
    )
    events = history(sim)
    assert len(events) == 300 and events[-1]["type"] == "ExecutionFailed"
    described = sim.sfn.describe_execution(executionArn=sim.executions[0])
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    assert report.outcome == "failed" and "maximum number of history events (300)" in report.reason
    states = entered(events)
    assert "Roll Back" not in states and "Record Outcome" not in states, "no Catch runs past the quota"
    # what AWS would leave behind: the endpoint split between the two models, the lock held, no outcome
    assert sorted(v.weight for v in report.endpoint.variants) == [10.0, 90.0]
    assert [r["outcome"] for r in report.records] == ["running"], "the service never recorded an outcome"
    ddb = sim.session.client("dynamodb")
    assert table.lock_holder(sim.stack.table_name, "churn-prod", ddb) == report.records[0]["rollout_id"]
    # each bake check costs the same events (the lead's continuation design needs the figure)
    bakes = [i for i, e in enumerate(events) if e["type"] == "TaskStateEntered" and _name(e) == "Bake"]
    cycles = {b - a for a, b in itertools.pairwise(bakes)}
    assert cycles == {13}, "Bake 6 (with its timeout), Evaluate Health 5, one Choice 2"


def _name(event):
    return event["stateEnteredEventDetails"]["name"]


def test_the_same_bake_under_the_real_quota_succeeds(run):
    report, sim = run(
        scenario(policy={"endpoint_name": "churn-prod", "strategy": CANARY, "analysis": {"check_interval_seconds": 60}})
    )
    assert report.outcome == "succeeded"
    assert 300 < len(history(sim)) < 25_000


def test_a_function_that_runs_past_its_timeout_fails_its_step_and_the_rollout_rolls_back(run):
    report, sim = run(scenario(faults=[{"function": "CheckEndpointFunction", "kind": "timeout"}]))
    assert report.outcome == "rolled_back"
    assert "Sandbox.Timedout" in report.reason and "Task timed out after 60.00 seconds" in report.reason
    failed = [e for e in history(sim) if e["type"] == "TaskFailed"]
    assert failed[0]["taskFailedEventDetails"]["error"] == "Sandbox.Timedout"
    scheduled = next(e for e in history(sim) if e["type"] == "TaskScheduled" and "CheckEndpoint" in str(e))
    assert (failed[0]["timestamp"] - scheduled["timestamp"]).total_seconds() >= 60, "it ran its whole Timeout"
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_a_function_slower_than_its_timeout_is_stopped_by_lambda(run):
    report, _sim = run(scenario(aws_timings={"function_run_seconds": {"PrepareTargetFunction": 75}}))
    assert report.outcome == "failed", "Prepare Target may have left a half-made target: a person must look"
    assert "Sandbox.Timedout" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0", "nothing was changed"


def test_a_function_that_raises_is_reported_with_its_error_type(run):
    report, sim = run(
        scenario(faults=[{"function": "PrepareTargetFunction", "kind": "raises", "error_type": "MemoryError"}])
    )
    assert "MemoryError" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    errors = Counter(e["taskFailedEventDetails"]["error"] for e in history(sim) if e["type"] == "TaskFailed")
    assert errors == {"MemoryError": 1}, "a function error is not retried by the workflow"


def test_an_alarm_driven_rollback_cuts_traffic_seconds_after_the_alarm(run):
    report, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 20, "bake_seconds": 900},
                "analysis": {"alarms": ["checkout-conversion-low"], "check_interval_seconds": 300},
            },
            traffic={"requests_per_second": 10},
            alarms=[
                {
                    "name": "checkout-conversion-low",
                    "script": [{"at_seconds": 0, "state": "OK"}, {"at_seconds": 900, "state": "ALARM"}],
                }
            ],
        )
    )
    assert report.outcome == "rolled_back"
    # alarm -> EventBridge delivery (0.5 s) -> alarm listener (cold start 1 s, its table query and SendTaskFailure)
    # -> Evaluate Health (its alarm and metric reads) -> Roll Back (cold start 1 s, a few reads) -> the first
    # UpdateEndpointWeightsAndCapacities: about 3 s with the default aws_timings, as on AWS (a few seconds)
    seconds = report.metrics.alarm_to_rollback_seconds
    assert seconds is not None and 2.5 <= seconds <= 6
    listener = [i for i in sim.aws.invocations if i.function == "AlarmListenerFunction"]
    assert len(listener) == 1 and listener[0].error is None


def test_a_long_multi_line_reason_still_rolls_back_and_rejects_the_package_on_one_line(run):
    # SageMaker's ApprovalDescription must match ".*" (no line break) and the reason travels into the state
    # (256 KiB): a person's abort reason is kept to one line and 1,000 characters wherever the service uses it (the
    # steering API takes at most 4,000 characters; a longer one is refused: see the next test), and an alarm's
    # multi-line reason reaches ApprovalDescription on one line (an abort never rejects the package: only a health
    # failure of the new model does)
    reason = "dashboards look wrong:\nlatency up\tand errors " + "x" * 3_900
    aborted, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "on_rollback": "reject_package",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
            },
            operator=[{"at_seconds": 900, "action": "abort", "reason": reason}],
        )
    )
    assert aborted.outcome == "rolled_back", aborted.reason
    assert aborted.operator[0]["done"]
    assert len(aborted.records[0]["reason"]) < 1200
    package = sim.sm.describe_model_package(ModelPackageName=aborted.records[0]["package_arn"])
    assert package["ModelApprovalStatus"] == "Approved", "an abort is not a health failure of the model"
    alarmed, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "on_rollback": "reject_package",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
                "analysis": {"alarms": ["conversion"]},
            },
            alarms=[{"name": "conversion", "script": [{"at_seconds": 0, "state": "OK"}]}],
            timeline=[
                {
                    "at_seconds": 870,
                    "action": "set_alarm",
                    "alarm": "conversion",
                    "state": "ALARM",
                    "reason": "dashboards look wrong:\nlatency up\tand errors",
                }
            ],
        )
    )
    assert alarmed.outcome == "rolled_back", alarmed.reason
    package = sim.sm.describe_model_package(ModelPackageName=alarmed.records[0]["package_arn"])
    assert package["ModelApprovalStatus"] == "Rejected"
    description = package["ApprovalDescription"]
    assert "\n" not in description and len(description) <= 1024 and "latency up and errors" in description


def test_a_reason_longer_than_the_steering_api_takes_is_refused_and_changes_nothing(run):
    reason = "x" * 300_000
    report, _sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
            },
            operator=[{"at_seconds": 900, "action": "abort", "reason": reason}],
        )
    )
    (answer,) = report.operator
    assert (answer["done"], answer["status"]) == (False, 400)
    assert answer["message"] == "invalid request body: String should have at most 4000 characters"
    assert report.outcome == "succeeded", f"the refused abort changed nothing: {report.reason}"
