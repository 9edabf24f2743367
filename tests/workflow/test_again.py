"""Retry and undo through the steering API: a fresh rollout, started for a person, judged like any other."""

from tests.helpers import scenario

ALICE = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
QUICK = {"type": "all_at_once"}
BAD = {
    "baseline": {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120},
    "new": {"error_rate": 0.08, "latency_ms": 42, "p99_latency_ms": 125},
}


def rollouts(report):
    return [e for e in report.executions if e.outcome != "continued"]


def test_undo_rolls_out_the_previous_good_rollouts_model_and_refuses_when_there_is_none(run):
    report, _sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": QUICK},
            timeline=[
                {"at_seconds": 5, "action": "operator", "command": "undo"},  # still running
                {"at_seconds": 2000, "action": "operator", "command": "undo"},  # one good rollout: nothing earlier
                {"at_seconds": 2100, "action": "approve", "group": "churn"},
                {"at_seconds": 5000, "action": "operator", "command": "undo", "reason": "v2 looks off"},
                {"at_seconds": 5010, "action": "operator", "command": "undo"},  # while the undo runs
            ],
        )
    )
    running, nothing, undone, twice = report.operator
    assert (running["status"], running["done"]) == (409, False) and "is running: abort it first" in running["message"]
    assert nothing["status"] == 409 and "no earlier successful rollout" in nothing["message"]
    assert (
        undone["done"] and "undo by arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice" in undone["message"]
    )
    assert twice["status"] == 409 and f"rollout {undone['rollout_id']} of churn-prod is running" in twice["message"]
    first, second, third = rollouts(report)
    assert [r.package_ref for r in (first, second, third)] == ["churn/1", "churn/2", "churn/1"]
    assert third.outcome == "succeeded", third.reason
    (variant,) = report.endpoint.variants
    assert variant.model_package.endswith("model-package/churn/1"), "the endpoint serves the previous good model"
    assert third.name == undone["rollout_id"]


def test_retry_rolls_out_the_rolled_back_package_again(run):
    report, _sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
                "analysis": {"max_error_rate": 0.02, "min_invocations": 100},
            },
            traffic={"requests_per_second": 20},
            model_behaviour=BAD,
            timeline=[{"at_seconds": 4000, "action": "operator", "command": "retry", "by": "alice@example.com"}],
        )
    )
    (retried,) = report.operator
    assert retried["done"] and retried["rollout_id"].startswith("retry-")
    first, second = rollouts(report)
    assert first.outcome == second.outcome == "rolled_back", "the same bad model fails again, safely"
    assert first.package == second.package and second.name == retried["rollout_id"]
    # the retried rollout's record says who asked, as the steering API authenticated them (the first: nobody)
    from rollout_cli import operate

    records = {r["rollout_id"]: r for r in operate.history(_sim.session, _sim.stack_info(), "churn-prod")}
    assert records[second.name]["requested_by"] == f"{ALICE} (--by alice@example.com)"
    assert "requested_by" not in records[first.name]
