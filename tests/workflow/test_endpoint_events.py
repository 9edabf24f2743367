"""Waiting for events, not the clock: the endpoint waits are woken by SageMaker's endpoint events, a lost event
costs the fallback's minutes and never the rollout, and repeated or late events are harmless. The figures are
the simulation's own (``metrics.state_transitions``, the timeline's simulated seconds), never wall time."""

from datetime import timedelta

from rollout.decide import FALLBACK_SECONDS
from rollout_local.simulator import Simulation

from tests.helpers import scenario

BAKE = 600
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": BAKE}
TRAFFIC = {"requests_per_second": 20}


def canary(**policy):
    return scenario(policy={"endpoint_name": "churn-prod", "strategy": CANARY, **policy}, traffic=TRAFFIC)


def simulate(chosen, tweak=None):
    """Run a scenario, letting ``tweak`` rewire the simulation first (IAM on, as in every workflow test)."""
    with Simulation(chosen) as sim:
        if tweak is not None:
            tweak(sim)
        report = sim.run()
        assert sim.aws.iam is not None and sim.aws.iam.denials == []
        assert sim.event_errors == [], sim.event_errors
        return report, sim


def states(report, name):
    return [e for e in report.timeline if e.state == name]


def waits(report):
    """(seconds waited, how the wait ended) for every Wait For Endpoint: the next Check Endpoint's time tells."""
    found = []
    entries = report.timeline
    for index, entry in enumerate(entries):
        if entry.state == "Wait For Endpoint":
            check = next(e for e in entries[index + 1 :] if e.state == "Check Endpoint")
            found.append(check.t - entry.t)
    return found


def test_a_one_step_canary_with_a_10_minute_bake_takes_at_most_60_state_transitions(run):
    report, sim = run(canary())
    assert report.outcome == "succeeded"
    assert report.metrics.state_transitions <= 60, report.metrics.state_transitions
    # the weight shifts (60 s in the emulator) were woken by their events, not by the fallback; the updates (480 s)
    # by the fallback once, then by their event
    waited = waits(report)
    assert waited.count(FALLBACK_SECONDS) == 2, waited
    assert sum(1 for w in waited if w <= sim.scenario.timings.update_weights_seconds + 1) == 2, waited
    assert max(waited) <= FALLBACK_SECONDS, waited


def test_orchestration_adds_at_most_2_percent_to_the_configured_bake(run):
    report, _ = run(canary())
    entries = report.timeline
    # the bake of step 1 runs from the Check Endpoint that saw the 10% shift settle to the next Shift Traffic
    shifted = states(report, "Shift Traffic")
    start = next(e for e in entries if e.state == "Check Endpoint" and e.t > shifted[0].t)
    end = shifted[1]
    overhead = (end.t - start.t - BAKE) / BAKE
    assert 0 <= overhead <= 0.02, overhead


def test_a_final_bake_of_0_seconds_is_no_bake_the_rollout_promotes_once_the_endpoint_serves_it(run):
    report, _ = run(canary())
    last_shift = states(report, "Shift Traffic")[-1]
    promote = next(e.t for e in report.timeline if e.state == "Promote")
    after = [e.state for e in report.timeline if last_shift.t <= e.t <= promote]
    # no Bake, no Evaluate Health on an empty window, no extension: Check Endpoint then Promote (the promoted
    # model's own bake, post_promotion_bake_seconds, comes after the promotion)
    assert "Bake" not in after and "Evaluate Health" not in after, after
    check = next(e for e in report.timeline if e.state == "Check Endpoint" and e.t > last_shift.t)
    assert "no bake (bake_seconds=0): next promote" in check.note
    assert after[after.index("Check Endpoint") + 1] == "Promote"


def test_a_lost_endpoint_event_still_ends_the_wait_through_the_fallback():
    def lose_every_event(sim):
        sim.sagemaker.on_event = None  # SageMaker's events never arrive

    report, _ = simulate(canary(), lose_every_event)
    assert report.outcome == "succeeded"
    waited = waits(report)
    # every wait ended by its timeout: minutes, never the rollout
    assert waited and all(FALLBACK_SECONDS - 1 <= w <= FALLBACK_SECONDS + 5 for w in waited), waited


def test_repeated_and_late_endpoint_events_are_harmless():
    clean, _ = simulate(canary())

    def repeat_and_replay(sim):
        def twice_and_late(event):
            sim.publish(event)
            sim.publish(event)  # SageMaker may send more than one event per change
            sim.agenda.at(sim.clock.now() + timedelta(seconds=90), lambda: sim.publish(event))  # and a late one

        sim.sagemaker.on_event = twice_and_late

    noisy, sim = simulate(canary(), repeat_and_replay)
    assert noisy.outcome == clean.outcome == "succeeded"
    assert noisy.endpoint.config_name == clean.endpoint.config_name
    # a stale wake-up costs at most a look and another wait; the bake is never cut short by an endpoint event
    assert noisy.metrics.state_transitions <= clean.metrics.state_transitions + 12
    bake = [e.t for e in noisy.timeline if e.state in ("Bake", "Evaluate Health")]
    assert bake[-1] - bake[0] >= BAKE - 5
    woke = [i for i in sim.aws.invocations if i.function == "EndpointListenerFunction"]
    assert len(woke) >= 3 * 4  # every event thrice, at least four changes


def transitions_per_day(report, first, last):
    """State transitions from the first entry of ``first`` to the last of ``last``, as a rate per simulated day."""
    start = states(report, first)[0].t
    end = states(report, last)[-1].t
    entered = [e for e in report.timeline if start <= e.t <= end]
    return len(entered) * 86_400 / (end - start)


def test_a_long_bake_costs_at_most_300_state_transitions_a_day(run):
    hours = 2
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": {"type": "all_at_once", "bake_seconds": hours * 3600}},
            traffic={"requests_per_second": 2},
        )
    )
    assert report.outcome == "succeeded"
    assert transitions_per_day(report, "Bake", "Evaluate Health") <= 300


def test_a_waiting_gate_costs_at_most_300_state_transitions_a_day(run):
    hours = 2
    gates = {"confirm_before_promotion": True, "timeout_seconds": hours * 3600, "on_timeout": "proceed"}
    report, _ = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": {**CANARY, "bake_seconds": 60}, "gates": gates},
            traffic={"requests_per_second": 2},
        )
    )
    assert report.outcome == "succeeded"
    opened = next(e for e in report.timeline if "waiting for approval at gate" in e.note)
    closed = next(e for e in report.timeline if "timed out after" in e.note)
    entered = [e for e in report.timeline if opened.t <= e.t <= closed.t]
    assert closed.t - opened.t >= hours * 3600 - 5
    assert len(entered) * 86_400 / (closed.t - opened.t) <= 300


def rollback_waits(report):
    """(seconds waited, Roll Back's note after it) for every Wait For Rollback."""
    entries = report.timeline
    found = []
    for index, entry in enumerate(entries):
        if entry.state == "Wait For Rollback":
            look = next(e for e in entries[index + 1 :] if e.state == "Roll Back")
            found.append((look.t - entry.t, look.note))
    return found


def failing_canary(**fields):
    """A canary whose new model fails its first check: it rolls back."""
    return scenario(
        policy={"endpoint_name": "churn-prod", "strategy": CANARY, "analysis": {"max_error_rate": 0.02}},
        traffic=TRAFFIC,
        model_behaviour={"new": {"error_rate": 0.3}},
        **fields,
    )


def test_the_rollback_waits_for_the_endpoint_events_not_the_clock(run):
    report, sim = run(failing_canary())
    assert report.outcome == "rolled_back", report.reason
    waited = rollback_waits(report)
    timings = sim.scenario.timings
    # the traffic cut (a weights update) is woken by its event just after SageMaker settles it; the update back to
    # the baseline (480 s) by the fallback once, then by its event: never a 30 s poll
    (cut, _), (fallback, _), (rest, done) = waited
    settles = timings.update_weights_seconds, timings.update_endpoint_seconds
    assert settles[0] <= cut <= settles[0] + 2, waited
    assert fallback == FALLBACK_SECONDS, waited
    assert settles[1] <= fallback + rest <= settles[1] + 2, waited
    assert "with its old live weights and instances" in done
    rolling_back = [e for e in report.timeline if e.t >= states(report, "Roll Back")[0].t]
    assert len(rolling_back) <= 12, [e.state for e in rolling_back]


def test_after_an_aws_error_the_rollback_backs_off_and_no_event_cuts_the_backoff_short(run):
    # the rollback's UpdateEndpoint (the second) meets 503s: each try of Roll Back fails once more
    fault = {"api": "sagemaker:UpdateEndpoint", "error": "ServiceUnavailable", "times": 10, "after_calls": 1}
    report, _ = run(failing_canary(faults=[fault]))
    assert report.outcome == "rolled_back", report.reason
    backoffs = [w for w, _ in rollback_waits(report)][1:3]  # after the traffic cut: the two failed tries' backoffs
    assert [round(w) for w in backoffs] == [30, 60], rollback_waits(report)


def test_the_endpoint_rule_delivers_only_the_events_of_endpoints_the_stack_may_change(run):
    exact = scenario(
        policy={"endpoint_name": "churn-prod", "strategy": CANARY},
        traffic=TRAFFIC,
        stack={"EndpointNamePattern": "churn-prod"},  # an exact name is a pattern too
    )
    report, sim = run(exact)
    assert report.outcome == "succeeded", report.reason
    waited = waits(report)
    assert sum(1 for w in waited if w <= sim.scenario.timings.update_weights_seconds + 1) == 2, waited
    delivered = [p for p in sim.bus.log if p.detail_type == "SageMaker Endpoint State Change"]
    assert delivered and all(p.rules == ["EndpointListenerFunction"] for p in delivered), delivered
    # another endpoint of the account changes: EventBridge does not even invoke the listener
    listened = sum(1 for i in sim.aws.invocations if i.function == "EndpointListenerFunction")
    foreign = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod-copy"
    sim.publish(
        {
            "version": "0",
            "id": "1",
            "detail-type": "SageMaker Endpoint State Change",
            "source": "aws.sagemaker",
            "account": "123456789012",
            "time": "0",
            "region": "us-east-1",
            "resources": [foreign],
            "detail": {"EndpointName": "churn-prod-copy", "EndpointArn": foreign, "EndpointStatus": "IN_SERVICE"},
        }
    )
    assert sim.bus.log[-1].rules == []
    assert sum(1 for i in sim.aws.invocations if i.function == "EndpointListenerFunction") == listened


def test_a_rollout_whose_steps_have_no_bake_is_judged_by_its_post_promotion_bake_never_on_an_empty_window(run):
    for strategy in (
        {"type": "all_at_once"},  # one step, no bake: the update to the new model alone is the promotion
        {"type": "canary", "canary_percent": 10, "bake_seconds": 0},
        {"type": "linear", "step_percent": 50, "interval_seconds": 0},
    ):
        report, _ = run(scenario(policy={"endpoint_name": "churn-prod", "strategy": strategy}, traffic=TRAFFIC))
        assert report.outcome == "succeeded", (strategy, report.reason)
        checks = states(report, "Evaluate Health")
        # every check is the post-promotion bake's, which begins once the new model serves alone
        assert checks and all(c.note.startswith("after promotion") for c in checks), (strategy, checks)
        judged = next(e for e in report.timeline if "post_promotion_bake_seconds" in e.note)
        assert checks[0].t - judged.t >= 60, (strategy, "the first check waits a check interval for data")
        assert not any("extending the bake" in e.note for e in report.timeline), strategy
        assert "no bake (bake_seconds=0)" in judged.note or states(report, "Promote"), strategy
