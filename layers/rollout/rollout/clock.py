"""The one source of "now" for the layer's impure steps. The local simulator swaps it for virtual time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _wall_clock


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _source()


def use(source: Callable[[], datetime] | None) -> None:
    """Make ``source`` the clock (``None`` restores the wall clock). Used by the local simulator."""
    global _source
    _source = source or _wall_clock
