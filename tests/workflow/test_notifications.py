"""Being told: every rollout event on EventBridge (documented detail) and as a short SNS message."""

from rollout_local.emulator.sent import published

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 120}


def messages(sim):
    return published(sim.stack.topic_arn)


def test_a_canary_tells_every_step_in_order(run):
    report, sim = run(scenario(policy={"endpoint_name": "churn-prod", "strategy": CANARY}))
    assert report.outcome == "succeeded"
    kinds = [(e.detail_type, e.detail["step"], e.detail.get("verdict")) for e in report.events]
    assert kinds == [
        ("Rollout Started", None, None),
        ("Rollout Step Shifted", 1, None),
        ("Rollout Step Verdict", 1, "pass"),
        ("Rollout Step Shifted", 2, None),  # the 100% step has no bake (0 s): no verdict to tell
        ("Rollout Promoted", 2, None),
        ("Rollout Step Verdict", 2, "pass"),  # after the promotion (post_promotion_bake_seconds)
        ("Rollout Succeeded", 2, None),
    ]
    shifted = report.events[1].detail
    assert shifted["endpoint_name"] == "churn-prod" and shifted["model_package_version"] == 1
    assert shifted["weights"]["blue"] == 90.0 and shifted["weight_percent"] == 10.0
    assert "churn v1 -> churn-prod: step 1/2 (10%) - traffic shifted." in messages(sim)


def test_a_rollback_is_told_with_its_reason(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY, "analysis": {"alarms": ["conversion"]}},
            alarms=[
                {
                    "name": "conversion",
                    "script": [
                        {"at_seconds": 0, "state": "OK"},
                        {"at_seconds": 570, "state": "ALARM", "reason": "fell"},
                    ],
                }
            ],
        )
    )
    last = report.events[-1]
    assert last.detail_type == "Rollout Rolled Back" and "conversion" in last.detail["reason"]
    assert any(m.startswith("churn v1 -> churn-prod: rolled back step 1/2 (10%). Reason:") for m in messages(sim))


def test_a_rejection_is_told_even_without_a_state(run):
    report, sim = run(scenario(policy={"endpoint_name": "churn_prod"}))
    (event,) = report.events
    assert event.detail_type == "Rollout Rejected" and "InvalidNameError" in event.detail["reason"]
    assert any("rollout rejected, nothing changed" in m for m in messages(sim))
