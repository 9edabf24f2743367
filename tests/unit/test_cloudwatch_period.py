"""The one Period a whole-window query asks for is one CloudWatch answers for its StartTime's age: 1-minute data
is kept 15 days, 5-minute data 63 days; a finer Period for an older start gets no datapoints at all."""

from datetime import UTC, datetime, timedelta

import pytest
from rollout import clock
from rollout.aws.cloudwatch import whole_period

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_now():
    clock.use(lambda: NOW)
    yield
    clock.use(None)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (timedelta(seconds=10), 60),  # at least a minute
        (timedelta(minutes=10, seconds=1), 660),  # whole minutes, rounded up, within 15 days
        (timedelta(days=14, minutes=7), 14 * 86_400 + 7 * 60),
        (timedelta(days=16, minutes=7), 16 * 86_400 + 5 * 60),  # 5-minute multiples, rounded down
        (timedelta(days=30), 30 * 86_400),
        (timedelta(days=64, minutes=59), 64 * 86_400),  # hourly, rounded down
    ],
)
def test_the_period_is_whole_minutes_or_the_coarser_resolution_of_an_old_start(window, expected):
    period = whole_period(NOW - window, NOW)
    assert period == expected
    assert NOW - timedelta(seconds=period) >= NOW - window - timedelta(seconds=60), "never much before the start"
