"""People in the loop: gates (approve, reject, time out), abort at any time, promote-now."""

from tests.helpers import scenario

# the principal AWS authenticated for the scenario's default person (alice, in the role RolloutOperator)
ALICE = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 300}
# the canary's 100% step is judged at about +15:00; a gate before promotion opens then


def policy(**fields):
    return {"endpoint_name": "churn-prod", "strategy": CANARY, **fields}


def kinds(report):
    return [e.detail_type for e in report.events]


def test_a_gate_holds_the_rollout_until_a_person_approves(run):
    report, _sim = run(
        scenario(
            policy=policy(gates={"confirm_before_promotion": True}),
            operator=[{"at_seconds": 1500, "action": "approve", "reason": "dashboards fine"}],
        )
    )
    assert report.outcome == "succeeded"
    assert "Rollout Waiting For Approval" in kinds(report) and "Rollout Gate Approved" in kinds(report)
    promote = next(e for e in report.timeline if e.state == "Promote")
    # promotion follows the approval at once, after the functions in between have run (Promote's cold start
    # included: about a second)
    assert 1500 < promote.t < 1503
    assert report.operator[0]["done"] and f"approved by {ALICE}: dashboards fine" in report.operator[0]["message"]


def test_a_rejected_gate_rolls_back(run):
    report, _ = run(
        scenario(
            policy=policy(gates={"confirm_before_promotion": True}),
            operator=[{"at_seconds": 1200, "action": "reject", "reason": "latency creeping up"}],
        )
    )
    assert report.outcome == "rolled_back"
    assert f"GateRejectedError: rejected by {ALICE}: latency creeping up" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_a_gate_timeout_does_what_the_policy_says(run):
    rolled, _ = run(scenario(policy=policy(gates={"confirm_before_promotion": True, "timeout_seconds": 600})))
    assert rolled.outcome == "rolled_back" and "GateTimedOutError" in rolled.reason and "600 s" in rolled.reason
    proceeded, _ = run(
        scenario(
            policy=policy(gates={"confirm_before_promotion": True, "timeout_seconds": 600, "on_timeout": "proceed"})
        )
    )
    assert proceeded.outcome == "succeeded"
    assert any("timed out after 600 s; proceeding" in e.note for e in proceeded.timeline)


def test_an_alarm_while_a_gate_waits_still_rolls_back(run):
    report, _ = run(
        scenario(
            policy=policy(gates={"confirm_before_promotion": True}, analysis={"alarms": ["conversion"]}),
            alarms=[
                {
                    "name": "conversion",
                    "script": [
                        {"at_seconds": 0, "state": "OK"},
                        {"at_seconds": 1200, "state": "ALARM", "reason": "fell"},
                    ],
                }
            ],
        )
    )
    assert report.outcome == "rolled_back" and "conversion" in report.reason
    rollback = next(e for e in report.timeline if e.state == "Roll Back")
    # a gate never blocks a rollback: the alarm's event is delivered (0.5 s), the alarm listener (a cold start,
    # about 1 s) fails the gate's task, Evaluate Health judges it, and Roll Back starts within seconds
    assert rollback.t == 1202.95


def test_a_gate_before_start_and_after_a_step(run):
    steps = {
        "type": "steps",
        "steps": [
            {"weight_percent": 25, "bake_seconds": 60, "confirm": True},
            {"weight_percent": 100, "bake_seconds": 0},
        ],
    }
    report, _sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": steps, "gates": {"confirm_before_start": True}},
            operator=[{"at_seconds": 300, "action": "approve"}, {"at_seconds": 1500, "action": "approve"}],
        )
    )
    assert report.outcome == "succeeded"
    gates = [e.detail["gate"] for e in report.events if e.detail_type == "Rollout Waiting For Approval"]
    assert gates == ["before start", "after step 1"]
    # the approval at 300 s ends the gate's wait at once (the steering function wakes the waiting task); the
    # simulation is deterministic, so the time is exact: the functions in between take 2.55 s
    assert next(e for e in report.timeline if e.state == "Start Update").t == 302.55


def test_abort_mid_bake_rolls_back_and_the_record_says_who_and_why(run):
    report, _sim = run(
        scenario(
            policy=policy(strategy={**CANARY, "bake_seconds": 900}),
            operator=[{"at_seconds": 720, "action": "abort", "by": "bob@example.com", "reason": "wrong feature set"}],
        )
    )
    assert report.outcome == "rolled_back"
    assert report.records[0]["reason"] == f"AbortedError: aborted by {ALICE} (--by bob@example.com): wrong feature set"
    assert report.events[-1].detail_type == "Rollout Aborted"
    rolled = next(e for e in report.timeline if e.state == "Roll Back").t
    assert rolled == 721.25, "the waiting bake ends at once: Evaluate Health judges the abort, then Roll Back"
    assert report.endpoint.config_name == "churn-prod-config-v0"


def test_promote_now_skips_the_remaining_steps_after_the_current_one_passes(run):
    linear = {"type": "linear", "step_percent": 20, "interval_seconds": 300}
    report, _sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": linear},
            operator=[{"at_seconds": 960, "action": "promote"}],
        )
    )
    assert report.outcome == "succeeded"
    shifted = [e.detail["weight_percent"] for e in report.events if e.detail_type == "Rollout Step Shifted"]
    assert shifted == [20.0, 40.0], "step 2 finishes its bake, then promotion; 60/80/100 never happen"
    assert "Rollout Promoted" in kinds(report)


def test_a_rejected_start_gate_rolls_back_without_ever_touching_the_endpoint(run):
    report, sim = run(
        scenario(
            policy=policy(gates={"confirm_before_start": True}),
            operator=[{"at_seconds": 120, "action": "reject", "reason": "not today"}],
        )
    )
    assert report.outcome == "rolled_back" and f"rejected by {ALICE}: not today" in report.reason
    assert report.metrics.api_calls.get("sagemaker:UpdateEndpoint", 0) == 0
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}, "the prepared configs are cleaned up"
