"""Staying under the history quota: the estimate, the offer to continue, the resumed state, long-wait cadence."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rollout import continuation
from rollout.analysis import check_interval
from rollout.errors import HistoryQuotaError
from rollout.models.policy import Analysis
from rollout.models.progress import TaskError

from tests.unit.factories import state


def test_every_step_adds_the_costliest_loop_turn():
    rollout = state()
    continuation.count_step(rollout)
    continuation.count_step(rollout)
    assert rollout.history_events == 2 * continuation.EVENTS_PER_STEP == 26


def test_below_the_threshold_nothing_is_offered():
    rollout = state(history_events=19_999)
    continuation.offer(rollout, "next", 20_000)
    assert not rollout.continue_as_new and rollout.resume_at is None and rollout.next_execution is None


@pytest.mark.parametrize("point", ["next", "lock", "rollback"])
def test_past_the_threshold_the_loop_point_is_offered_with_a_deterministic_name(point):
    rollout = state(history_events=20_000)
    continuation.offer(rollout, point, 20_000)
    assert rollout.continue_as_new and rollout.resume_at == point
    assert rollout.next_execution == continuation.execution_name(rollout)
    assert rollout.next_execution.endswith("-c2")


@given(st.text(min_size=1, max_size=80))
def test_execution_names_follow_step_functions_rules(rollout_id):
    name = continuation.execution_name(state(rollout_id=rollout_id, generation=41))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name) and name.endswith("-c42")


def test_a_continued_state_starts_an_empty_history_in_the_new_execution():
    rollout = state(
        history_events=20_013, continue_as_new=True, resume_at="next", continuation_error=TaskError(Error="X")
    )
    resumed = continuation.resumed(rollout, "arn:aws:states:us-east-1:123456789012:execution:m:r-1-c2")
    assert resumed.execution_arn.endswith("r-1-c2") and resumed.generation == 2
    assert resumed.history_events == continuation.EVENTS_PER_STEP
    assert not resumed.continue_as_new and resumed.continuation_error is None
    assert resumed.resume_at == "next" and resumed.rollout_id == "r-1"


def test_when_continuing_keeps_failing_near_the_quota_a_judged_rollout_stops_but_a_rollback_goes_on():
    failing = TaskError(Error="StepFunctions.AccessDeniedException", Cause="not authorized")
    near = continuation.HISTORY_QUOTA - continuation.RESERVE
    with pytest.raises(HistoryQuotaError, match="could not continue in a fresh one"):
        continuation.offer(state(history_events=near, continuation_error=failing), "next", 20_000)
    rolling_back = state(history_events=near, continuation_error=failing)
    continuation.offer(rolling_back, "rollback", 20_000)
    assert rolling_back.continue_as_new, "a rollback keeps trying to continue rather than stopping"


@pytest.mark.parametrize(
    ("policy_interval", "wait", "expected"),
    [
        (60, 600, 300),  # a short bake: once midway, once at its end
        (60, 120, 60),  # never more often than the policy allows
        (60, 3600, 900),  # an hour: every 15 minutes
        (60, 86_400, 900),  # a day: every 15 minutes
        (600, 600, 600),  # a short bake with a policy asking for less: at its end alone
        (60, 7 * 86_400, 3600),  # a week-long gate: hourly
        (60, 30 * 86_400, 3600),  # a 30-day A/B test: hourly, never rarer
        (1800, 86_400, 1800),  # a policy asking for less is obeyed
    ],
)
def test_long_waits_are_checked_less_often_but_at_least_hourly(policy_interval, wait, expected):
    assert check_interval(Analysis(check_interval_seconds=policy_interval), wait) == expected


@pytest.mark.parametrize("wait", [3600, 6 * 3600, 86_400, 3 * 86_400, 30 * 86_400])
def test_a_day_of_waiting_costs_at_most_300_state_transitions(wait):
    # Bake (or a gate), Evaluate Health and Next Action? for every periodic check
    per_day = 3 * 86_400 / check_interval(Analysis(), wait)
    assert per_day <= 300


def test_a_30_day_test_checked_hourly_fits_one_execution():
    checks = 30 * 86_400 // check_interval(Analysis(), 30 * 86_400)
    assert checks * continuation.EVENTS_PER_STEP < continuation.DEFAULT_CONTINUE_AFTER
