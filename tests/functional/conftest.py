from collections.abc import Iterator

import pytest
from rollout_local.simulator import Simulation

from tests.helpers import scenario


@pytest.fixture
def world() -> Iterator[Simulation]:
    """The standard scenario's account, approval registered and policy stored, no execution started."""
    with Simulation(scenario()) as simulation:
        simulation.prepare_approval()
        yield simulation
