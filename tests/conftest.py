"""Suite-wide settings of every test process.

Ordering for xdist: the longest tests start first, the many short unit tests fill in at the end. ``-n auto`` hands
tests to the workers in collection order; a long test collected last would start when the other worker has nothing
left, and the run would wait for it alone. The order of tests changes nothing else: every test builds its own world.

The cyclic garbage collector: a simulation allocates millions of short-lived objects (moto's responses, botocore's
parsed requests, pydantic models), and with the default thresholds the collector scanned the whole heap - every
module imported, moto's parsed ASL, botocore's service models - again and again: about a sixth of the workflow
tests' CPU. What was imported before the first test is frozen (never scanned again, never garbage), and the young
generation is collected every 50,000 allocations instead of 700. Cycles are still collected; no test sees a
difference but its speed.
"""

import gc

import pytest

gc.set_threshold(50_000, 20, 20)

# the heaviest directories first: a workflow test runs a whole rollout, a unit test a function
_WEIGHT = {"workflow": 0, "functional": 1, "unit": 2}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: a test that simulates days (runs first, so it never ends a run alone)")
    # pytest collects the whole heap five times at the end of a run, for unraisable exceptions of finalizers still
    # pending (about a second a worker here); one collection runs every finalizer of the garbage left. Those of
    # the run itself are reported as they happen, as before
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key
    except ImportError:  # another pytest: its own default
        return
    config.stash[gc_collect_iterations_key] = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first, then workflow, functional and unit tests (a stable sort: files keep their order)."""

    def weight(item: pytest.Item) -> tuple[int, int]:
        suite = item.path.parent.name
        return (0 if item.get_closest_marker("long") else 1, _WEIGHT.get(suite, 1))

    items.sort(key=weight)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every test module is imported (moto, botocore, the layer, local mode). When tests will simulate, one empty
    simulation opens and closes first, so what every simulation shares for the life of the process exists too
    (botocore's parsed service models and client classes, moto's parsed ASL, the simulator's clients); then what
    exists now is frozen."""
    if any(item.path.parent.name in ("workflow", "functional") for item in session.items):
        from rollout_local.scenario import load_scenario
        from rollout_local.simulator import Simulation

        from tests.helpers import ROOT

        with Simulation(load_scenario(ROOT / "scenarios" / "canary-happy-path.yaml")):
            pass
    gc.collect()
    gc.freeze()
