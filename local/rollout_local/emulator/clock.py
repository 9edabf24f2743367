"""Virtual time: a discrete-event clock shared by every simulated execution.

Executions run in moto's worker threads. A thread that would sleep (a Wait state, a retry interval, a
callback task waiting for its token) parks on this clock instead; when every participating thread is parked,
the clock jumps to the earliest wake-up. So a one-hour rollout takes milliseconds, concurrent rollouts and
the simulated world interleave exactly as their timers say, and every timestamp is on one timeline.

Participants run one at a time: a parked one is released only when every other has parked or left, in the
order of its wake-up time, then of its rank (the world's minute closes first), then of the moment it parked;
a new thread waits its turn the same way (``take_turn``). So waiters due at the same instant never race, and
the same scenario gives the same timeline on every run, however the operating system schedules the threads.

Each parked participant waits on a condition of its own (sharing the clock's lock), so moving time wakes only
the thread whose turn it is, however many executions are parked. ``progress`` counts every park and every
step of time: a simulation whose count stands still for long in wall time is stuck (see ``Simulation.wait``).

A simulation that is closed with participants still parked (a test that stopped looking before the story ended,
or a stalled one) ``close``s its clock: every parked participant wakes with ``SimulationClosed`` and unwinds, and
the closer waits until they have left. moto's stores are process-wide, so a participant of a closed simulation
that went on running would act in the next simulation's world (a lock deleted, an event announced, by a ghost).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NEVER = datetime.max.replace(tzinfo=UTC)


class SimulationClosed(BaseException):
    """Raised in a participant parked on a closed clock: its simulation is over, the thread unwinds. A
    BaseException, so that no service code or moto's interpreter (which catch Exception) can swallow it."""


@dataclass
class _Waiter:
    released: bool = False
    cond: threading.Condition | None = field(default=None)  # the parked thread waits on it

    def release(self) -> None:
        """Mark released and wake the parked thread (the clock's lock is held)."""
        self.released = True
        if self.cond is not None:
            self.cond.notify()


class VirtualClock:
    def __init__(self, start: datetime = EPOCH) -> None:
        self.start = start
        self._now = start
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._active = 0
        self.progress = 0  # parks and steps of time so far (read without the lock: a hint, never a decision)
        self._waking = 0
        # (due, rank, order of parking, waiter), the first released first; released ones are skipped
        self._heap: list[tuple[datetime, int, int, _Waiter]] = []
        self._events: dict[int, _Waiter] = {}
        self._seq = itertools.count()
        self._closed = False
        self._unwinding = 0  # threads woken by close that have not yet left their park

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        return (self.now() - self.start).total_seconds()

    def enter(self) -> None:
        """A thread joins the simulation (it will run, so time must not pass without it)."""
        with self._cond:
            self._active += 1

    def exit(self) -> None:
        """A participating thread is done."""
        with self._cond:
            self._active -= 1
            self._advance()
            self._cond.notify_all()  # a closer may be waiting for the participants to leave

    def close(self, timeout: float) -> int:
        """End the simulation's time: every parked participant wakes with ``SimulationClosed`` (and so does one
        that tries to park later); wait up to ``timeout`` wall seconds for them to leave. Returns how many are
        still inside (running something that never parks again: a bug to report, not to hide)."""
        with self._cond:
            if self._closed:  # closed already: only wait for whoever is still leaving
                self._cond.wait_for(lambda: self._active <= 0 and self._unwinding <= 0, timeout)
                return max(0, self._active, self._unwinding)
            self._closed = True
            parked = {id(w[3]): w[3] for w in self._heap if not w[3].released}
            parked.update({id(w): w for w in self._events.values() if not w.released})
            for waiter in parked.values():
                waiter.release()
            # every parked thread, and every one released but not yet awake, must wake and leave: a thread that
            # stands in for another (moto's program thread, for its execution's) leaves only when it has woken
            self._unwinding = len(parked) + self._waking
            self._heap.clear()
            self._events.clear()
            self._cond.wait_for(lambda: self._active <= 0 and self._unwinding <= 0, timeout)
            return max(0, self._active, self._unwinding)

    @property
    def closed(self) -> bool:
        return self._closed

    def advance(self, seconds: float) -> None:
        """Move time forward from outside the simulation (setting up a world, for example)."""
        with self._cond:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float, first: bool = False) -> None:
        """Park the calling participant for ``seconds`` of simulated time; ``first``: before every other
        participant due at the same instant (the world, whose minute closes before anyone acts at its end)."""
        with self._cond:
            waiter = _Waiter()
            self._due(self._now + timedelta(seconds=max(0.0, seconds)), waiter, 0 if first else 1)
            self._park(waiter)

    def take_turn(self) -> None:
        """A new participant thread (entered by its starter) waits until the others have parked: its turn."""
        self.sleep(0)

    def wait_event(self, event: threading.Event, timeout: float | None) -> bool:
        """Park until ``event`` is set (see ``wake``) or ``timeout`` simulated seconds pass."""
        with self._cond:
            if event.is_set():
                return True
            waiter = _Waiter()
            if timeout is not None:
                self._due(self._now + timedelta(seconds=max(0.0, timeout)), waiter)
            self._events[id(event)] = waiter
            self._park(waiter)
            self._events.pop(id(event), None)
            return event.is_set()

    def wake(self, event: threading.Event) -> None:
        """``event`` was set: the participant waiting on it is due now, before time moves on (it runs when the
        ones already due have had their turn and the caller has parked)."""
        with self._cond:
            waiter = self._events.pop(id(event), None)
            if waiter is not None and not waiter.released:
                self._due(self._now, waiter)
                self._advance()  # the caller may be outside the simulation, with every participant parked

    def describe(self) -> str:
        """The clock's state in words (for a stalled simulation's error)."""
        with self._cond:
            due = [w for w in self._heap if not w[3].released]
            first = f", first due +{(min(w[0] for w in due) - self.start).total_seconds():.0f} s" if due else ""
            waiting = len(self._events)
            return f"{self._active} running, {self._waking} waking, {len(due)} due{first}, {waiting} on events"

    def _due(self, when: datetime, waiter: _Waiter, rank: int = 1) -> None:
        heapq.heappush(self._heap, (when, rank, next(self._seq), waiter))

    def _park(self, waiter: _Waiter) -> None:
        if self._closed:
            raise SimulationClosed("the simulation is closed")
        self.progress += 1
        waiter.cond = threading.Condition(self._lock)
        self._active -= 1
        self._advance()
        while not waiter.released:
            waiter.cond.wait()
        self._active += 1
        if self._closed:  # woken by close: leave (the participant's own exit() balances the count)
            self._unwinding -= 1
            self._cond.notify_all()
            raise SimulationClosed("the simulation is closed")
        self._waking -= 1

    def _advance(self) -> None:
        """When nobody runs, release the first waiter due (moving time to its wake-up): one at a time."""
        while self._heap and self._heap[0][3].released:
            heapq.heappop(self._heap)
        if self._closed or self._active > 0 or self._waking > 0 or not self._heap:
            return
        when, _, _, waiter = heapq.heappop(self._heap)
        self._now = max(self._now, when)
        self.progress += 1
        self._waking += 1
        waiter.release()
