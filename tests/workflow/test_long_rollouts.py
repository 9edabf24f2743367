"""Long rollouts in local mode (issue 9): a 7-day gate and a 30-day A/B test run to their end within the history
quota - in one execution or a continued chain - and end as their policy says."""

import pytest

from tests.helpers import scenario

HISTORY_QUOTA = 25_000
DAY = 86_400


def histories(sim):
    found = []
    for arn in sim.executions:
        events, kwargs = [], {"executionArn": arn, "maxResults": 1000}
        while True:
            page = sim.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        found.append(events)
    return found


def assert_within_the_quota(report, sim):
    """Every execution ended on its own terms: succeeded, or handed on (continued), none failed on the quota."""
    sizes = [len(events) for events in histories(sim)]
    assert all(size < HISTORY_QUOTA for size in sizes), sizes
    assert [e.status for e in report.executions if e.outcome != "continued"] == ["SUCCEEDED"]
    assert all(e.status == "SUCCEEDED" for e in report.executions)


@pytest.mark.long
def test_a_7_day_gate_waits_its_whole_timeout_then_does_what_the_policy_says(run):
    gates = {"confirm_before_promotion": True, "timeout_seconds": 7 * DAY, "on_timeout": "proceed"}
    report, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 300},
                "gates": gates,
            },
            traffic={"requests_per_second": 5},
        )
    )
    assert report.outcome == "succeeded", report.reason
    assert_within_the_quota(report, sim)
    assert any("timed out after 604800 s; proceeding" in e.note for e in report.timeline)
    promote = next(e for e in report.timeline if e.state == "Promote")
    assert 7 * DAY < promote.t < 7 * DAY + 3600, "promoted once the gate's week was over, not before"


@pytest.mark.long
def test_a_30_day_ab_test_runs_its_month_and_promotes_the_winner(run):
    report, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {
                    "type": "ab_test",
                    "duration_seconds": 30 * DAY,
                    "metric": {"kind": "error_rate"},
                    "min_invocations": 1000,
                    "min_improvement": 0.1,
                    "decision": "promote_winner",
                },
                "analysis": {"max_error_rate": 0.05, "min_invocations": 100},
            },
            traffic={"requests_per_second": 5},
            model_behaviour={"baseline": {"error_rate": 0.02}, "new": {"error_rate": 0.005}},
        )
    )
    assert report.outcome == "succeeded", report.reason
    assert_within_the_quota(report, sim)
    assert report.experiment is not None and report.experiment["winner"] == "new"
    assert report.metrics.simulated_seconds > 30 * DAY
