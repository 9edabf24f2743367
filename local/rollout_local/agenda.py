"""The outside world's agenda: calls run at exact simulated times, on one participant thread of the virtual clock.

Timeline entries and EventBridge deliveries are scheduled here. Calls due at the same instant run in the order
they were scheduled, so a scenario plays out the same way every time. ``spawn`` runs a call on a thread of its
own (an asynchronous Lambda invocation by EventBridge takes its own time without holding up the agenda).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import traceback
from collections.abc import Callable
from datetime import datetime

from rollout_local.emulator.clock import SimulationClosed, VirtualClock


class Agenda:
    """A clock participant that runs scheduled calls at their simulated time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.errors: list[str] = []  # calls that raised (a bug in the simulator, reported, never swallowed)
        self._lock = threading.Lock()
        self._heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self._weak: set[int] = set()  # entries that do not keep the story going (see ``at``)
        self._seq = itertools.count()
        self._busy = 0  # calls running now, spawned ones included
        self._signal = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def at(self, when: datetime, call: Callable[[], None], weak: bool = False) -> None:
        """Run ``call`` at ``when`` (at once if that has passed). A ``weak`` call runs only if the story is still
        going then: it does not keep the simulation alive by itself (an emulator's wake-up for a transition)."""
        with self._lock:
            seq = next(self._seq)
            heapq.heappush(self._heap, (when, seq, call))
            if weak:
                self._weak.add(seq)
        self._nudge()

    def spawn(self, call: Callable[[], None]) -> None:
        """Run ``call`` now on its own participant thread; it counts as pending until it returns."""
        with self._lock:
            self._busy += 1
        self.clock.enter()  # before the thread exists, so time cannot pass without it

        def run() -> None:
            try:
                self.clock.take_turn()  # runs when its spawner has parked (one participant at a time)
                self._run_one(call)
            except SimulationClosed:
                pass  # the simulation was closed while the call waited: it ends with its world
            finally:
                self.clock.exit()

        threading.Thread(target=run, daemon=True).start()

    def pending(self) -> bool:
        """Is anything scheduled, or still running?"""
        with self._lock:
            return self._strong() or self._busy > 0

    def _strong(self) -> bool:
        return any(seq not in self._weak for _, seq, _ in self._heap)

    def start(self) -> None:
        """Start the agenda's thread; call while holding time, so nothing due now is skipped."""
        if self._thread is not None:
            return
        self.clock.enter()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="agenda")
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Run what is due, then end the thread (the simulation is over)."""
        if self._thread is None:
            return
        self._stopping = True
        self._nudge()
        self._thread.join(timeout)

    def _nudge(self) -> None:
        self._signal.set()
        self.clock.wake(self._signal)

    def _loop(self) -> None:
        try:
            self.clock.take_turn()
            while True:
                self._signal.clear()
                now = self.clock.now()
                with self._lock:
                    due = []
                    while self._heap and self._heap[0][0] <= now:
                        _, seq, call = heapq.heappop(self._heap)
                        self._weak.discard(seq)
                        due.append(call)
                    self._busy += len(due)
                for call in due:
                    self._run_one(call)
                if due:
                    continue  # a call may have scheduled more for this instant
                with self._lock:
                    if self._stopping and not self._strong():
                        return
                    timeout = (self._heap[0][0] - now).total_seconds() if self._heap else None
                self.clock.wait_event(self._signal, timeout)
        except SimulationClosed:
            pass  # the simulation was closed: nothing more of its agenda runs
        finally:
            self.clock.exit()

    def _run_one(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            self.errors.append(traceback.format_exc(limit=4))
        finally:
            with self._lock:
                self._busy -= 1
