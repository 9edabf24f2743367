"""The virtual clock runs its participants one at a time, in a defined order (issue 14, item 5)."""

import threading
import time

from rollout_local.emulator.clock import VirtualClock


def run_participants(clock, bodies):
    """Start one participant thread per body (entered by the starter, as the simulator does); wait for all."""
    threads = []
    clock.enter()  # the starter holds time while it starts them
    for body in bodies:
        clock.enter()

        def run(body=body):
            try:
                clock.take_turn()
                body()
            finally:
                clock.exit()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()
    clock.exit()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "the clock let a participant hang"


def test_waiters_due_at_the_same_instant_run_one_at_a_time_in_the_order_they_parked():
    clock, log = VirtualClock(), []

    def body(name):
        def go():
            clock.sleep(60)
            log.append(("start", name, clock.elapsed()))
            time.sleep(0.01)  # real time: another thread running now would interleave its entries
            log.append(("end", name, clock.elapsed()))

        return go

    run_participants(clock, [body(n) for n in "abcde"])
    assert log == [(edge, n, 60.0) for n in "abcde" for edge in ("start", "end")]


def test_the_earlier_wake_up_runs_first_and_the_world_closes_its_minute_before_others_act():
    clock, log = VirtualClock(), []

    def sleeper(name, seconds, first=False):
        def go():
            clock.sleep(seconds, first=first)
            log.append((name, clock.elapsed()))

        return go

    run_participants(clock, [sleeper("late", 120), sleeper("other", 60), sleeper("world", 60, first=True)])
    assert log == [("world", 60.0), ("other", 60.0), ("late", 120.0)]


def test_a_woken_waiter_runs_after_its_waker_has_parked_and_before_time_moves_on():
    clock, log, event = VirtualClock(), [], threading.Event()

    def waiter():
        log.append(("woken", clock.wait_event(event, 3600), clock.elapsed()))

    def waker():
        clock.sleep(30)
        event.set()
        clock.wake(event)
        log.append(("waker goes on", clock.elapsed()))
        clock.sleep(1)
        log.append(("waker again", clock.elapsed()))

    run_participants(clock, [waiter, waker])
    assert log == [("waker goes on", 30.0), ("woken", True, 30.0), ("waker again", 31.0)]


def test_the_same_concurrent_story_gives_the_same_order_every_time():
    def story():
        clock, log = VirtualClock(), []

        def body(name):
            def go():
                for step in range(3):
                    clock.sleep(10)
                    log.append((name, step, clock.elapsed()))

            return go

        run_participants(clock, [body(n) for n in range(8)])
        return log

    first = story()
    assert all(story() == first for _ in range(5))
    assert first == [(n, step, 10.0 * (step + 1)) for step in range(3) for n in range(8)]


def test_closing_the_clock_unwinds_every_participant_and_stops_time():
    from rollout_local.emulator.clock import SimulationClosed

    clock, ended = VirtualClock(), []
    threads = []
    clock.enter()  # the starter holds time while it starts them
    for name in ("ticker", "waiter"):
        clock.enter()

        def run(name=name):
            try:
                clock.take_turn()
                if name == "waiter":
                    clock.wait_event(threading.Event(), None)  # a callback nobody will send
                while True:  # the world: it would tick forever
                    clock.sleep(60)
            except SimulationClosed:
                ended.append(name)
            finally:
                clock.exit()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()
    clock.exit()
    deadline = time.monotonic() + 5
    while clock.elapsed() < 600 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert clock.close(timeout=5) == 0, "every participant left"
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    assert sorted(ended) == ["ticker", "waiter"]
    stopped = clock.elapsed()
    time.sleep(0.05)
    assert clock.elapsed() == stopped, "no time passes in a closed simulation"
    try:
        clock.sleep(1)
    except SimulationClosed:
        pass
    else:
        raise AssertionError("a closed clock parks nobody")
