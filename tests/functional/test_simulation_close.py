"""A simulation closed while its story still runs takes its threads with it (moto's stores are process-wide: a
thread that outlived its simulation acted in the next one's world - a lock deleted, an event announced)."""

import threading
import time

import pytest
from rollout_local.simulator import Simulation

from tests.helpers import scenario


def test_closing_a_simulation_mid_rollout_ends_every_thread_it_started():
    before = set(threading.enumerate())
    canary = {"type": "canary", "canary_percent": 10, "bake_seconds": 3600}
    with Simulation(scenario(policy={"endpoint_name": "churn-prod", "strategy": canary})) as sim:
        with sim.holding_time():
            arn = sim.start(sim.prepare_approval())
            sim.start_world()
        sim.wait_until(lambda: sim.clock.elapsed() > 900, "the canary baking")
        assert arn in sim.aws.running, "still baking when the simulation closes"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.01)
    assert [t.name for t in set(threading.enumerate()) - before] == []


def test_one_simulation_at_a_time_in_a_process():
    with Simulation(scenario()) as first:
        with pytest.raises(RuntimeError, match="still open in this process"), Simulation(scenario()):
            pass
        assert first.stack.state_machine_arn, "the open one is untouched"
    with Simulation(scenario()):
        pass  # the next opens once the first is closed
