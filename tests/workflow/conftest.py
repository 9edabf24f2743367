from collections.abc import Callable, Iterator

import pytest
from rollout_local.report import Report
from rollout_local.scenario import Scenario
from rollout_local.simulator import Simulation


@pytest.fixture
def run() -> Iterator[Callable[[Scenario], tuple[Report, Simulation]]]:
    """Run a scenario through the real state machine; keep the world open for the test to inspect."""
    opened: list[Simulation] = []

    def _run(scenario: Scenario) -> tuple[Report, Simulation]:
        while opened:  # one emulated account at a time: close the previous world before the next
            opened.pop().__exit__(None, None, None)
        simulation = Simulation(scenario).__enter__()
        opened.append(simulation)
        report = simulation.run()
        # IAM is on in every workflow test: a refused call is a missing grant even where the rollout survives it
        assert simulation.aws.iam is not None
        assert simulation.aws.iam.denials == [], [d.message for d in simulation.aws.iam.denials]
        assert simulation.aws.iam.unknown == []
        return report, simulation

    yield _run
    for simulation in opened:
        simulation.__exit__(None, None, None)
