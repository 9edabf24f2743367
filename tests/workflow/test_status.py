"""`rollout status` tells the truth at every phase of a simulated rollout, and `--watch` follows it to the end."""

import json

from rollout_cli import operate
from rollout_cli.status import HISTORY_PAGE, Watcher, render
from rollout_local.scenario import Scenario
from rollout_local.simulator import Simulation

from tests.helpers import APPROVAL_EVENT, LIVE_ENDPOINT, ROOT

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}


def watched(policy, behaviour=None, every=20):
    """Run a scenario, looking with `rollout status --watch`'s watcher every ``every`` simulated seconds; the
    frames seen (time since the start, statuses), then the final look after the run."""
    document = {
        "name": "status",
        "endpoint": LIVE_ENDPOINT,
        "approval": {"group": "churn", "event": APPROVAL_EVENT},
        "policy": {"endpoint_name": "churn-prod", **policy},
        "traffic": {"requests_per_second": 20},
        "base_dir": ROOT,
    }
    if behaviour:
        document["model_behaviour"] = behaviour
    frames = []
    with Simulation(Scenario.model_validate(document)) as sim:
        watcher = Watcher(sim.session, sim.stack.state_machine_arn, "churn-prod")

        def look(at):
            return lambda: frames.append((at, sim.clock.now(), watcher.poll(sim.clock.now())))

        for at in range(every, 3600, every):
            sim.at(at, look(at))
        report = sim.run()
        final = watcher.poll()
        records = operate.history(sim.session, sim.stack_info(), "churn-prod")
        events = [json.loads(entry["Detail"]) for _, entry in sim.aws.published]
    return report, frames, final, watcher, records, events


def test_status_at_every_phase_of_a_canary_and_watch_ends_with_the_outcome():
    report, frames, final, watcher, _records, _events = watched({"strategy": CANARY})
    assert report.outcome == "succeeded"
    running = [(at, now, r) for at, now, shown in frames for r in shown if r.running]
    phases = [r.phase for _, _, r in running]
    assert "baking" in phases and len(set(phases)) >= 3, phases
    for _, _now, r in running:
        assert r.shares == {} or abs(sum(r.shares.values()) - 100) < 0.01, "shares are percentages of the traffic"
        assert r.read_events <= HISTORY_PAGE, "the state is found in the newest page of the history"
        if r.phase == "baking":
            assert (r.step, r.steps, r.step_percent) in ((1, 2, 10.0), (2, 2, 100.0))
            assert r.bake_seconds == 600 and 0 <= r.bake_seconds_left <= 600
            if r.step == 1:
                assert r.shares[r.new_variant] == 10.0 and r.shares["blue"] == 90.0
                assert "10% planned" in render(r) and "left of 10m00s" in render(r)
    bakes = [(now, r.bake_seconds_left) for _, now, r in running if r.phase == "baking" and r.step == 1]
    assert len(bakes) >= 10
    (first_at, first_left), (last_at, last_left) = bakes[0], bakes[-1]
    assert first_left - last_left == (last_at - first_at).total_seconds(), "the time left is the bake's, to the second"
    progress = [r.progress for _, _, r in running]
    assert progress == sorted(progress) and 0 < progress[-1] <= 1
    (end,) = final
    assert watcher.done and watcher.all_succeeded
    assert (end.outcome, end.progress) == ("succeeded", 1.0) and "serves" in end.reason
    assert render(end).startswith("churn-prod: churn v") and "SUCCEEDED" in render(end)


def test_status_during_a_rollback_shows_its_reason_and_the_live_shares_and_watch_ends_rolled_back():
    bad = {
        "baseline": {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120},
        "new": {"error_rate": 0.08, "latency_ms": 42, "p99_latency_ms": 125},
    }
    analysis = {"max_error_rate": 0.02, "min_invocations": 100}
    report, frames, final, watcher, records, events = watched({"strategy": CANARY, "analysis": analysis}, bad, every=10)
    assert report.outcome == "rolled_back"
    rolling = [r for _, _, shown in frames for r in shown if r.running and r.phase == "rolling_back"]
    assert rolling, "a look during the rollback"
    for r in rolling:
        assert "5xx" in r.rollback_reason.lower() and r.bake_seconds_left is None
        text = render(r)
        assert "ROLLING BACK" in text and f"reason: {r.rollback_reason}" in text and "planned" not in text
    (end,) = final
    assert end.outcome == "rolled_back" and "5xx" in end.reason.lower()
    assert watcher.done and not watcher.all_succeeded
    failed = [r for _, _, shown in frames for r in shown if r.checks and r.checks[-1].verdict == "fail"]
    assert failed, "the failing check is in the state status reads"
    # the record keeps the failing step's verdict, with its figures (issue 15, item 2)
    (record,) = records
    (step,) = record["steps"]
    assert (step["step"], step["weight_percent"], step["verdict"]) == (1, 10.0, "fail")
    # the rollout's own 5XX alarm failed it, with the datapoint that breached
    assert step["alarm"].endswith("-5xx-rate") and "breached 0.02" in step["reason"] and step["checks"] >= 1
    verdicts = [e for e in events if e.get("event") == "Rollout Step Verdict"]
    assert verdicts and verdicts[-1]["verdict"] == "fail" and verdicts[-1]["figures"]["alarm"] == step["alarm"]


def test_the_record_of_a_successful_canary_keeps_every_steps_verdict():
    analysis = {"max_error_rate": 0.05, "max_latency_ratio": 2}
    report, _frames, _final, _watcher, records, _events = watched({"strategy": CANARY, "analysis": analysis}, every=600)
    assert report.outcome == "succeeded"
    (record,) = records
    assert [(s["step"], s["weight_percent"], s["verdict"]) for s in record["steps"]] == [
        (1, 10.0, "pass"),
        (3, 100.0, "pass"),  # the 100% step has no bake (not judged); the promoted model is judged after (step 3)
    ]
    assert all(s["invocations"] >= 100 and s["error_rate"] < 0.05 and s["latency_ms"] > 0 for s in record["steps"])
    assert all(s["baseline_latency_ms"] > 0 for s in record["steps"][:1]), (
        "a canary step is judged against the baseline"
    )
