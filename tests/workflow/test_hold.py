"""Pause and resume through the steering API: the rollout holds its weight, checks go on, the bake resumes."""

from rollout_cli.status import Watcher, render

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 1200}
PEOPLE = [
    {"name": "alice", "role": "RolloutOperator", "policies": ["steer", "read"]},
    {
        "name": "pat",
        "role": "Pauser",
        "policies": ["read"],
        "statements": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "${SteeringApiArn}/POST/endpoints/*/pause"}
        ],
    },
]


def test_pause_holds_the_weight_until_resume_and_the_bake_goes_on_where_it_stopped(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": CANARY},
            traffic={"requests_per_second": 20},
            people=PEOPLE,
            timeline=[
                {"at_seconds": 700, "action": "operator", "command": "resume", "as": "alice"},
                {"at_seconds": 900, "action": "operator", "command": "pause", "as": "pat", "reason": "game day"},
                {"at_seconds": 960, "action": "operator", "command": "pause", "as": "alice"},
                {"at_seconds": 1000, "action": "operator", "command": "resume", "as": "pat"},
                {"at_seconds": 4500, "action": "operator", "command": "resume", "as": "alice", "reason": "done"},
            ],
        )
    )
    assert report.outcome == "succeeded", report.reason
    not_paused, paused, again, refused, resumed = report.operator
    assert (not_paused["status"], not_paused["done"]) == (409, False) and "is not paused" in not_paused["message"]
    assert paused["done"] and "paused by arn:aws:sts::123456789012:assumed-role/Pauser/pat" in paused["message"]
    assert (again["status"], again["done"]) == (409, False) and "paused already" in again["message"]
    assert refused["status"] == 403, "pat may pause but not resume: one IAM action per verb"
    assert resumed["done"] and "resumed by" in resumed["message"]
    shift = [e.t for e in report.timeline if e.state == "Shift Traffic"]
    assert len(shift) == 2 and shift[1] > 4500, "step 2 waited for the resume"
    start_bake = next(e.t for e in report.timeline if e.state == "Bake")
    # the bake's 1200 s: what ran before the pause took hold, the rest after the resume
    assert shift[1] - 4500 < 1200 - (900 - start_bake) + 120
    held = [shares for t, shares in sim.world.shares if 1100 <= (t - sim.clock.start).total_seconds() <= 4400]
    assert held and all(round(100 * min(s["churn-prod"].values())) == 10 for s in held), "the weight held at 10%"


def test_status_of_a_paused_rollout_says_who_paused_it(run):
    looks = []
    sim_scenario = scenario(
        policy={"endpoint_name": "churn-prod", "strategy": CANARY},
        traffic={"requests_per_second": 20},
        people=PEOPLE[:1],
        timeline=[
            {"at_seconds": 900, "action": "operator", "command": "pause", "as": "alice", "reason": "look"},
            {"at_seconds": 2400, "action": "operator", "command": "resume", "as": "alice"},
        ],
    )
    from rollout_local.simulator import Simulation

    with Simulation(sim_scenario) as sim:
        watcher = Watcher(sim.session, sim.stack.state_machine_arn, "churn-prod")
        sim.at(1800, lambda: looks.extend(watcher.poll(sim.clock.now())))
        report = sim.run()
    assert report.outcome == "succeeded"
    (look,) = looks
    assert look.paused.endswith("alice: look") and "PAUSED by" in render(look)
    assert 0 < look.bake_seconds_left < 1200, "the bake's time left stands still while paused"
