"""A long rollout goes on in a fresh execution before its history reaches Step Functions' 25,000-event quota."""

import json
import os

from rollout_local.simulator import Simulation

from tests.helpers import scenario

CANARY = {
    "endpoint_name": "churn-prod",
    "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 3 * 3600},
    "analysis": {"max_error_rate": 0.05, "min_invocations": 10, "check_interval_seconds": 60},
}


def history(sim, arn):
    return sim.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def entered(events):
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


LOW_QUOTA = {"history_events": 250}  # AWS's is 25,000: lowered, the same story in a few hundred events


def test_without_continuing_the_same_rollout_dies_at_the_quota(monkeypatch):
    # the negative control: the quota is real, and this rollout needs more than one execution's worth of history
    with Simulation(scenario(policy=CANARY, traffic={"requests_per_second": 5}, limits=LOW_QUOTA)) as sim:
        monkeypatch.setitem(os.environ, "CONTINUE_AFTER_EVENTS", "100000")
        report = sim.run()
        (execution,) = report.executions
        assert execution.status == "FAILED" and execution.outcome == "failed"
        assert "maximum number of history events" in (execution.reason or "")


def test_a_rollout_past_the_threshold_continues_in_fresh_executions_and_finishes(monkeypatch):
    with Simulation(scenario(policy=CANARY, traffic={"requests_per_second": 5}, limits=LOW_QUOTA)) as sim:
        monkeypatch.setitem(os.environ, "CONTINUE_AFTER_EVENTS", "150")
        report = sim.run()
        assert report.outcome == "succeeded", report.reason
        chain = [e.name for e in report.executions]
        assert len(chain) >= 3, "a 3-hour bake checked every 15 minutes passes 150 estimated events more than once"
        assert [e.outcome for e in report.executions[:-1]] == ["continued"] * (len(chain) - 1)
        assert report.executions[-1].outcome == "succeeded"
        for number, arn in enumerate(sim.executions, start=1):
            events = history(sim, arn)
            assert len(events) < 150 + 40, "each execution stops soon after the threshold"
            if number > 1:
                started = json.loads(events[0]["executionStartedEventDetails"]["input"])
                assert started["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == sim.executions[number - 2]
                assert started["continue"]["generation"] == number - 1
                assert entered(events)[:4] == ["Receive Input", "Resolve Rollout", "Continued?", "Resume?"]
        first = entered(history(sim, sim.executions[0]))
        assert first.count("Acquire Endpoint Lock") == 1 and first[-1] == "Rollout Continued"
        (record,) = report.records
        assert record["outcome"] == "succeeded" and record["rollout_id"] == chain[0]
        assert record["execution_arn"] == sim.executions[-1]
        started = [e for e in report.events if e.detail_type == "Rollout Started"]
        assert len(started) == 1, "a continued rollout is not announced again"
        items = sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]
        assert not [i for i in items if i["sk"]["S"] == "LOCK"], "the lock is released by the last execution"


def test_a_continuation_needs_the_lock_it_claims_to_hold():
    with Simulation(scenario()) as sim:
        sim.prepare_approval()
        forged = {"continue": {"rollout_id": "someone-else"}}
        arn = sim.start(forged)
        with sim.holding_time():
            sim.start_world()
        sim.wait()
        assert sim.sfn.describe_execution(executionArn=arn)["status"] == "FAILED"
        assert not sim.sagemaker.changes, "nothing was touched"
