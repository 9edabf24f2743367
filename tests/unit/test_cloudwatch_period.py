"""A whole-window query is one bucket CloudWatch answers for its StartTime's age: 1-minute data is kept 15 days,
5-minute data 63 days (a finer Period for an older start gets no datapoints at all), and CloudWatch rounds StartTime
down to its grid (the minute, the 5 minutes, the hour), so the query starts on that grid itself."""

from datetime import UTC, datetime, timedelta

import pytest
from rollout import clock
from rollout.aws.cloudwatch import whole_window

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_now():
    clock.use(lambda: NOW)
    yield
    clock.use(None)


def _grid(at: datetime) -> int:
    age = NOW - at
    return 3600 if age > timedelta(days=63) else 300 if age > timedelta(days=15) else 60


@pytest.mark.parametrize(
    ("window", "first", "period"),
    [
        (timedelta(seconds=10), datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 60),  # the minute holding the start
        (timedelta(minutes=10, seconds=1), datetime(2026, 3, 1, 11, 50, tzinfo=UTC), 660),
        (timedelta(days=14, minutes=7), datetime(2026, 2, 15, 11, 53, tzinfo=UTC), 14 * 86_400 + 8 * 60),
        # older than 15 days: the next 5-minute mark, never before the start (a replay's minute stays out)
        (timedelta(days=16, minutes=7), datetime(2026, 2, 13, 11, 55, tzinfo=UTC), 16 * 86_400 + 600),
        (timedelta(days=30), datetime(2026, 1, 30, 12, 5, tzinfo=UTC), 30 * 86_400),
        (timedelta(days=64, minutes=59), datetime(2025, 12, 27, 12, 0, tzinfo=UTC), 64 * 86_400 + 3600),
    ],
)
def test_the_window_starts_on_cloudwatch_s_grid_and_is_one_bucket(window, first, period):
    got = whole_window(NOW - window, NOW)
    assert got == (first, period)
    start, seconds = got
    grid = _grid(start)
    assert start.timestamp() % grid == 0, "CloudWatch's rounding of StartTime changes nothing"
    assert seconds % grid == 0, "a Period CloudWatch answers for the start's age"
    assert start + timedelta(seconds=seconds) >= NOW, "one bucket reaches the end: no partial second bucket"
    if grid > 60:
        assert start >= NOW - window, "an old window never starts before the caller's start"


def test_near_the_15_day_boundary_the_coarser_grid_is_chosen():
    """CloudWatch measures the age when the request arrives: a start a few seconds short of 15 days is treated as
    older, so the Period still gets datapoints."""
    start, seconds = whole_window(NOW - timedelta(days=15) + timedelta(seconds=20), NOW)
    assert start.timestamp() % 300 == 0 and seconds % 300 == 0


def test_a_window_with_no_whole_interval_yet_is_no_query():
    """Older than 15 days and shorter than the wait for the next 5-minute mark: nothing to ask."""
    start = datetime(2026, 2, 10, 12, 1, tzinfo=UTC)
    assert whole_window(start, start + timedelta(minutes=2)) is None


@pytest.mark.parametrize(
    ("age", "period"),
    [(timedelta(days=2), 60), (timedelta(days=20), 300), (timedelta(days=70), 3600)],
)
def test_the_statistical_judge_s_series_is_of_periods_cloudwatch_still_keeps(age, period):
    """Per-minute series over a window older than 15 (63) days would get no datapoints at all: its periods are 5
    minutes (an hour) instead, from the next mark, never before the start."""
    from rollout.aws.cloudwatch import _whole_minutes

    start = NOW - age + timedelta(seconds=7)
    first, last, got = _whole_minutes(start, NOW)
    assert got == period
    assert first.timestamp() % period == 0 and last.timestamp() % period == 0 and last <= NOW
    assert first >= start or period == 60  # a minute series starts at the minute holding the start, as before
