"""Virtual time: a discrete-event clock shared by every simulated execution.

Executions run in moto's worker threads. A thread that would sleep (a Wait state, a retry interval, a
callback task waiting for its token) parks on this clock instead; when every participating thread is parked,
the clock jumps to the earliest wake-up. So a one-hour rollout takes milliseconds, concurrent rollouts and
the simulated world interleave exactly as their timers say, and every timestamp is on one timeline.

Each parked participant waits on a condition of its own (sharing the clock's lock), so moving time wakes only
the threads whose time has come, however many executions are parked. ``progress`` counts every park and every
step of time: a simulation whose count stands still for long in wall time is stuck (see ``Simulation.wait``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(order=True)
class _Waiter:
    wake: datetime
    seq: int
    released: bool = field(default=False, compare=False)
    cond: threading.Condition | None = field(default=None, compare=False)  # the parked thread waits on it

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
        self._heap: list[_Waiter] = []
        self._events: dict[int, _Waiter] = {}
        self._seq = itertools.count()

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

    def advance(self, seconds: float) -> None:
        """Move time forward from outside the simulation (setting up a world, for example)."""
        with self._cond:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        """Park the calling participant for ``seconds`` of simulated time."""
        with self._cond:
            waiter = _Waiter(self._now + timedelta(seconds=max(0.0, seconds)), next(self._seq))
            heapq.heappush(self._heap, waiter)
            self._park(waiter)

    def wait_event(self, event: threading.Event, timeout: float | None) -> bool:
        """Park until ``event`` is set (see ``wake``) or ``timeout`` simulated seconds pass."""
        with self._cond:
            if event.is_set():
                return True
            wake = NEVER if timeout is None else self._now + timedelta(seconds=max(0.0, timeout))
            waiter = _Waiter(wake, next(self._seq))
            if timeout is not None:
                heapq.heappush(self._heap, waiter)
            self._events[id(event)] = waiter
            self._park(waiter)
            self._events.pop(id(event), None)
            return event.is_set()

    def wake(self, event: threading.Event) -> None:
        """``event`` was set: release the participant waiting on it, now, before time moves on."""
        with self._cond:
            waiter = self._events.pop(id(event), None)
            if waiter is not None and not waiter.released:
                self._waking += 1
                waiter.release()

    def _park(self, waiter: _Waiter) -> None:
        self.progress += 1
        waiter.cond = threading.Condition(self._lock)
        self._active -= 1
        self._advance()
        while not waiter.released:
            waiter.cond.wait()
        self._waking -= 1
        self._active += 1

    def _advance(self) -> None:
        while self._heap and self._heap[0].released:
            heapq.heappop(self._heap)
        if self._active > 0 or self._waking > 0 or not self._heap:
            return
        self._now = max(self._now, self._heap[0].wake)
        self.progress += 1
        while self._heap and self._heap[0].wake <= self._now:
            waiter = heapq.heappop(self._heap)
            if not waiter.released:
                self._waking += 1
                waiter.release()
