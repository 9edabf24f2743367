"""DynamoDB conditional writes are atomic on AWS; local mode must make them so across the simulator's threads."""

import threading
import time

import moto.dynamodb.models.table as moto_table
import pytest
from rollout.aws import table

THREADS = 8
ROUNDS = 10


@pytest.fixture(autouse=True)
def slow_conditions(monkeypatch):
    """A loaded machine: moto evaluates a condition a little slowly, between reading the item and writing it, so
    without atomic requests two writers both see the lock free (this is what makes the test able to fail)."""
    original = moto_table.get_filter_expression

    def slow(*args, **kwargs):
        time.sleep(0.002)
        return original(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", slow)


def race(contenders):
    """Start every contender at the same moment; return what each got."""
    start = threading.Barrier(len(contenders))
    results = [None] * len(contenders)

    def run(index, contender):
        start.wait()
        results[index] = contender()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_exactly_one_of_many_simultaneous_rollouts_takes_the_endpoint_lock(world):
    now = world.clock.now()
    for round_ in range(ROUNDS):
        endpoint = f"endpoint-{round_}"
        holders = race(
            [
                lambda me=f"rollout-{i}", endpoint=endpoint: table.acquire_lock(
                    world.stack.table_name, endpoint, me, "arn:package", f"arn:execution:{me}", now, 86400
                )
                for i in range(THREADS)
            ]
        )
        winners = [i for i, holder in enumerate(holders) if holder is None]
        assert len(winners) == 1, f"round {round_}: {len(winners)} rollouts hold the lock of {endpoint}"
        assert all(h.rollout_id == f"rollout-{winners[0]}" for h in holders if h is not None and h.package_arn)


def test_exactly_one_of_many_simultaneous_deliveries_claims_the_approval(world):
    now = world.clock.now()
    for round_ in range(ROUNDS):
        owners = race(
            [
                lambda me=f"rollout-{i}", round_=round_: table.claim_approval(
                    world.stack.table_name, "churn-prod", f"arn:package/{round_}", "approved-at", me, now, 86400
                )
                for i in range(THREADS)
            ]
        )
        assert len(set(owners)) == 1, f"round {round_}: the claim went to {sorted(set(owners))}"
