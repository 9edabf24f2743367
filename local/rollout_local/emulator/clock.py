"""Virtual time: a discrete-event clock shared by every simulated execution.

Executions run in moto's worker threads. A thread that would sleep (a Wait state, a retry interval) parks on
this clock instead; when every participating thread is parked, the clock jumps to the earliest wake-up. So a
one-hour rollout takes milliseconds, two concurrent rollouts interleave exactly as their timers say, and every
timestamp (history, records, endpoint transitions) is on the same simulated timeline.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class VirtualClock:
    def __init__(self, start: datetime = EPOCH) -> None:
        self.start = start
        self._now = start
        self._cond = threading.Condition()
        self._active = 0
        self._waking = 0
        self._wakes: list[tuple[datetime, int]] = []
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

    def sleep(self, seconds: float) -> None:
        """Park the calling participant for ``seconds`` of simulated time."""
        with self._cond:
            wake = self._now + timedelta(seconds=max(0.0, seconds))
            entry = (wake, next(self._seq))
            heapq.heappush(self._wakes, entry)
            self._active -= 1
            self._advance()
            while entry in self._wakes or self._now < wake:
                self._cond.wait()
            self._waking -= 1
            self._active += 1

    def advance(self, seconds: float) -> None:
        """Move time forward from outside the simulation (setting up a world, for example)."""
        with self._cond:
            self._now += timedelta(seconds=seconds)

    def _advance(self) -> None:
        if self._active > 0 or self._waking > 0 or not self._wakes:
            return
        self._now = max(self._now, self._wakes[0][0])
        while self._wakes and self._wakes[0][0] <= self._now:
            heapq.heappop(self._wakes)
            self._waking += 1
        self._cond.notify_all()
