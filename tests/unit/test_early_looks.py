"""An A/B test that may stop early is looked at sooner while it is young (its sequential test is valid at any
look): after as long again as it has run, until the spacing reaches the steady check interval."""

from datetime import UTC, datetime, timedelta

from rollout.analysis import check_interval, next_check_seconds, stops_early
from rollout.models.policy import AbTest, Analysis, Canary
from rollout.models.progress import BakeState

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def looks(duration: int, analysis: Analysis, early: bool) -> list[int]:
    """The seconds since the start of every check of a ``duration``-second bake."""
    bake = BakeState(started_at=START, ends_at=START + timedelta(seconds=duration))
    now, seen = START, []
    while now < bake.ends_at:
        now += timedelta(seconds=next_check_seconds(analysis, bake, now, early_looks=early))
        seen.append(int((now - START).total_seconds()))
    return seen


def test_an_hour_long_test_is_looked_at_after_1_2_4_8_minutes_then_every_15():
    analysis = Analysis(judge="statistical")
    assert looks(3600, analysis, early=False) == [900, 1800, 2700, 3600]
    assert looks(3600, analysis, early=True) == [60, 120, 240, 480, 960, 1860, 2760, 3600]


def test_a_month_long_test_doubles_up_to_its_hourly_checks_for_a_handful_more():
    analysis = Analysis(judge="statistical")
    month = 30 * 86_400
    plain, early = looks(month, analysis, early=False), looks(month, analysis, early=True)
    assert check_interval(analysis, month) == 3600
    assert early[:7] == [60, 120, 240, 480, 960, 1920, 3840] and early[7] - early[6] == 3600
    assert len(early) - len(plain) <= 6, "a few checks more in a month (3 state transitions each)"


def test_the_policy_s_shortest_spacing_still_holds_and_only_an_ab_test_that_may_stop_early_looks_early():
    assert looks(3600, Analysis(judge="statistical", check_interval_seconds=300), early=True)[:3] == [300, 600, 1200]
    assert stops_early(AbTest(duration_seconds=3600, stop_early=True))
    assert not stops_early(AbTest(duration_seconds=3600)) and not stops_early(
        Canary(canary_percent=10, bake_seconds=600)
    )
