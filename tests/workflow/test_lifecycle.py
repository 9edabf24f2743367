"""Rollouts under races and people: locks that never leak, revoked approvals, newest version wins, duplicates
that are only duplicates, no silent downgrades - through the real state machine, driven by the timeline."""

import pytest

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 900}
QUICK = {"type": "all_at_once"}


def by_ref(report):
    """The rollouts of a scenario by package (group/version), each the last execution of its chain."""
    found = {}
    for execution in report.executions:
        if execution.outcome != "continued":
            found.setdefault(execution.package_ref, []).append(execution)
    return found


def lock_items(sim):
    items = sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]
    return [i for i in items if i["sk"]["S"] in ("LOCK",) or i["sk"]["S"].startswith("QUEUE#")]


def serves(report, version):
    (variant,) = report.endpoint.variants
    return variant.model_package.endswith(f"model-package/churn/{version}")


# --- a lock that cannot leak ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        # the record written right after the lock (the 5th PutItem of Acquire: claim, queue, lock, index, record)
        {"api": "dynamodb:PutItem", "error": "ValidationException", "after_calls": 4},
        # the "Rollout Started" announcement
        {"api": "eventbridge:PutEvents", "error": "ValidationException"},
        # the lock's release, longer than Release Lock's retries last
        # (the first DeleteItem is Acquire's leaving the queue; then 1 + 20 retries of Release Lock all fail)
        {"api": "dynamodb:DeleteItem", "error": "ValidationException", "after_calls": 1, "times": 21},
    ],
    ids=["record-write", "announcement", "lock-release"],
)
def test_a_side_call_failing_after_the_lock_is_taken_never_blocks_the_next_approval(run, fault):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": QUICK, "on_busy": "reject"},
            faults=[fault],
            timeline=[{"at_seconds": 20_000, "action": "approve", "group": "churn"}],
        )
    )
    rollouts = by_ref(report)
    (second,) = rollouts["churn/2"]
    assert second.outcome == "succeeded", second.reason
    assert "busy" not in (second.reason or "")
    assert serves(report, 2)
    assert lock_items(sim) == [], "nothing of the endpoint's lock or queue is left"
    if fault["api"] == "dynamodb:DeleteItem":  # the lock was never released: the ended rollout's lock is stale
        acquired = next(e for e in second.timeline if e.state == "Acquire Endpoint Lock")
        assert "taken over from rollout" in acquired.note and "which ended" in acquired.note


# --- approvals that are taken back ----------------------------------------------------------------------


def test_a_revoked_approval_rolls_back_a_baking_rollout_and_says_who_and_when(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY, "on_rollback": "reject_package"},
            traffic={"requests_per_second": 10},
            timeline=[
                {
                    "at_seconds": 870,
                    "action": "set_approval",
                    "package": "churn/1",
                    "status": "Rejected",
                    "description": "wrong training data",
                }
            ],
        )
    )
    assert report.outcome == "rolled_back"
    assert report.reason.startswith("ApprovalRevokedError: the approval of")
    assert "Rejected" in report.reason and "wrong training data" in report.reason
    rollback = next(e for e in report.timeline if e.state == "Roll Back")
    assert 870 <= rollback.t < 880, "the waiting bake ends within seconds of the revocation"
    assert report.endpoint.config_name == "churn-prod-config-v0"
    package = next(iter(p for a, p in sim.sagemaker.packages.items() if a.endswith("churn/1")))
    assert package["ApprovalDescription"] == "wrong training data", "the registry's own words are kept"


def test_a_revoked_approval_leaves_the_queue_with_the_reason(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            traffic={"requests_per_second": 10},
            timeline=[
                {"at_seconds": 60, "action": "approve", "group": "churn"},
                {"at_seconds": 400, "action": "set_approval", "package": "churn/2", "status": "Rejected"},
            ],
        )
    )
    rollouts = by_ref(report)
    (first,), (second,) = rollouts["churn/1"], rollouts["churn/2"]
    assert first.outcome == "succeeded"
    assert second.outcome == "rejected" and "was revoked while it queued" in second.reason
    assert second.ended < first.ended, "it left the queue at its next try, not when the lock was free"
    assert serves(report, 1)


# --- newest approved version wins ---------------------------------------------------------------------


def test_three_versions_approved_within_a_minute_queue_in_order_and_the_newest_ends_live(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": QUICK},
            timeline=[
                {"at_seconds": 20, "action": "approve", "group": "churn"},
                {"at_seconds": 40, "action": "approve", "group": "churn"},
            ],
        )
    )
    rollouts = by_ref(report)
    (v1,), (v2,), (v3,) = rollouts["churn/1"], rollouts["churn/2"], rollouts["churn/3"]
    assert v1.outcome == "succeeded"
    assert v2.outcome == "superseded" and "churn v3" in v2.reason
    assert v3.outcome == "succeeded" and v3.ended > v1.ended
    assert serves(report, 3)
    superseded = [r for r in report.records if r["outcome"] == "superseded"]
    assert len(superseded) == 1 and superseded[0]["package_version"] == "2"


def test_on_busy_supersede_rolls_the_older_version_back_and_runs_the_newest(run):
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY, "on_busy": "supersede"},
            traffic={"requests_per_second": 10},
            timeline=[
                {"at_seconds": 620, "action": "approve", "group": "churn"},
                {"at_seconds": 640, "action": "approve", "group": "churn"},
            ],
        )
    )
    rollouts = by_ref(report)
    (v1,), (v2,), (v3,) = rollouts["churn/1"], rollouts["churn/2"], rollouts["churn/3"]
    assert v1.outcome == "rolled_back" and v1.reason.startswith("SupersededError: superseded by churn v2")
    assert v1.ended < 640 + 600, "the running rollout was stopped, not waited for"
    assert v2.outcome == "superseded"
    assert v3.outcome == "succeeded" and serves(report, 3)


# --- duplicates are only duplicates ------------------------------------------------------------------


def test_the_same_approval_delivered_twice_starts_one_rollout(run):
    report, _ = run(
        scenario(approval={"group": "churn", "event": "events/model-package-approved.json", "duplicates": 1})
    )
    assert sorted(e.outcome for e in report.executions) == ["duplicate", "succeeded"]


def test_a_package_approved_again_after_its_rollback_rolls_out_again(run):
    report, _ = run(
        scenario(
            faults=[{"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Failed"}],
            timeline=[
                {"at_seconds": 3000, "action": "set_approval", "package": "churn/1", "status": "PendingManualApproval"},
                {"at_seconds": 3100, "action": "set_approval", "package": "churn/1", "status": "Approved"},
            ],
        )
    )
    outcomes = [e.outcome for e in by_ref(report)["churn/1"]]
    assert outcomes == ["rolled_back", "succeeded"], report.reason
    assert serves(report, 1)


# --- no silent downgrades ----------------------------------------------------------------------------


def test_a_lifecycle_event_of_the_version_live_now_deploys_nothing(run):
    report, sim = run(scenario(timeline=[{"at_seconds": 2000, "action": "package_event", "package": "churn/1"}]))
    first, second = report.executions
    assert first.outcome == "succeeded"
    assert second.outcome == "rejected" and second.reason.startswith("AlreadyDeployedError")
    updates = [c for c in sim.sagemaker.changes if c[1] == "UpdateEndpoint"]
    assert len(updates) == 1


def test_a_manual_start_may_roll_back_to_an_older_version_on_purpose(run):
    report, _ = run(
        scenario(
            timeline=[
                {"at_seconds": 1000, "action": "approve", "group": "churn"},
                {
                    "at_seconds": 2000,
                    "action": "start_execution",
                    "input": {"model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"},
                },
                {
                    "at_seconds": 3000,
                    "action": "start_execution",
                    "input": {
                        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1",
                        "allow_downgrade": True,
                    },
                },
            ]
        )
    )
    outcomes = [e.outcome for e in by_ref(report)["churn/1"]]
    assert outcomes == ["succeeded", "rejected", "succeeded"]
    refused = by_ref(report)["churn/1"][1]
    assert refused.reason.startswith("DowngradeError") and "allow_downgrade" in refused.reason
    assert serves(report, 1)
