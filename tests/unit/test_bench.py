"""`make bench`'s arithmetic: the cost per rollout from list prices, and the peak concurrency of invocations."""

from datetime import UTC, datetime, timedelta

import pytest
from rollout_local import bench
from rollout_local.emulator.patches import Invocation

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ended(at_seconds, seconds):
    return Invocation("F", T0 + timedelta(seconds=at_seconds), None, {}, seconds)


def test_peak_concurrency_counts_overlaps_and_reuses_an_environment_freed_at_the_same_instant():
    assert bench._peak_concurrency([]) == 0
    assert bench._peak_concurrency([ended(10, 5), ended(12, 5), ended(30, 1)]) == 2
    assert bench._peak_concurrency([ended(10, 5), ended(15, 5)]) == 1, "one ends as the next starts"


def test_the_cost_of_a_rollout_is_its_usage_at_list_prices():
    figures = {
        "transitions": 1000,
        "lambda_invocations": 1_000_000,
        "gb_seconds": 1000,
        "metrics_requested": 1000,
        "rollout_seconds": 730 * 3600,
        "events_put": 1_000_000,
        "api_calls": {
            "cloudwatch:PutMetricAlarm": 1,
            "dynamodb:PutItem": 1_000_000,
            "dynamodb:GetItem": 1_000_000,
            "sns:Publish": 1_000_000,
        },
    }
    dollars = bench.cost(figures)
    assert dollars["Step Functions transitions"] == pytest.approx(0.025)
    assert dollars["Lambda requests"] == pytest.approx(0.20)
    assert dollars["Lambda GB-seconds"] == pytest.approx(0.0166667)
    assert dollars["CloudWatch GetMetricData"] == pytest.approx(0.01)
    assert dollars["CloudWatch alarms"] == pytest.approx(0.20), "a month of one two-metric alarm"
    assert dollars["DynamoDB"] == pytest.approx(0.625 + 0.125)
    assert dollars["EventBridge"] == pytest.approx(1.00)
    assert dollars["SNS"] == pytest.approx(0.50)
