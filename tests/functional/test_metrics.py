"""CloudWatch's metrics of the simulated namespaces come from the world's indexed store: the same answers moto
gives for the same datapoints (moto still keeps any other namespace), and nothing before it is published."""

from datetime import timedelta

import pytest

DIMENSIONS = [{"Name": "EndpointName", "Value": "churn-prod"}, {"Name": "VariantName", "Value": "blue"}]


def put_the_same_data(cloudwatch, start):
    """The same datapoints into a namespace the world owns and one only moto keeps."""
    for namespace in ("AWS/SageMaker", "Elsewhere"):
        for minute in range(5):
            at = start + timedelta(minutes=minute)
            cloudwatch.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {"MetricName": "Invocations", "Dimensions": DIMENSIONS, "Timestamp": at, "Value": 100 + minute},
                    {"MetricName": "Invocation5XXErrors", "Dimensions": DIMENSIONS, "Timestamp": at, "Value": minute},
                    {
                        "MetricName": "ModelLatency",
                        "Dimensions": DIMENSIONS,
                        "Timestamp": at,
                        "Values": [40000.0 + minute, 67500.5, 120000.0],
                        "Counts": [89, 9, 2],
                        "Unit": "Microseconds",
                    },
                ],
            )


def queries(namespace, period):
    found = []
    for index, (metric, stat) in enumerate(
        [
            ("Invocations", "Sum"),
            ("Invocations", "Average"),
            ("Invocation5XXErrors", "Maximum"),
            ("Invocation5XXErrors", "Minimum"),
            ("ModelLatency", "p99"),
            ("ModelLatency", "p50"),
            ("ModelLatency", "Average"),
            ("ModelLatency", "SampleCount"),
        ]
    ):
        found.append(
            {
                "Id": f"q{index}",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": DIMENSIONS},
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
        )
    found.append({"Id": "rate", "Expression": "q2 / q0", "ReturnData": True})
    return found


@pytest.mark.parametrize("period", [60, 120, 300])
def test_get_metric_data_answers_as_moto_does_for_the_same_datapoints(world, period):
    cloudwatch = world.session.client("cloudwatch")
    start = world.clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    put_the_same_data(cloudwatch, start)
    answers = {}
    for namespace in ("AWS/SageMaker", "Elsewhere"):
        results = cloudwatch.get_metric_data(
            MetricDataQueries=queries(namespace, period),
            StartTime=start - timedelta(minutes=1),
            EndTime=start + timedelta(minutes=6),
        )["MetricDataResults"]
        answers[namespace] = [(r["Id"], r["Values"], r["Timestamps"]) for r in results]
    assert answers["AWS/SageMaker"] == answers["Elsewhere"]
    assert any(values for _, values, _ in answers["AWS/SageMaker"]), "the query found the datapoints"


def test_get_metric_statistics_answers_as_moto_does_for_the_same_datapoints(world):
    cloudwatch = world.session.client("cloudwatch")
    start = world.clock.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    put_the_same_data(cloudwatch, start)
    answers = {}
    for namespace in ("AWS/SageMaker", "Elsewhere"):
        answers[namespace] = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName="ModelLatency",
            Dimensions=DIMENSIONS,
            StartTime=start,
            EndTime=start + timedelta(minutes=5),
            Period=120,
            Statistics=["Sum", "Average", "SampleCount", "Minimum", "Maximum"],
        )["Datapoints"]
    assert answers["AWS/SageMaker"] == answers["Elsewhere"] and len(answers["Elsewhere"]) == 3


def test_the_world_s_minute_is_invisible_until_cloudwatch_publishes_it(world):
    store = world.world.store
    start = world.clock.now() - timedelta(minutes=1)
    store.put(
        "AWS/SageMaker",
        "Invocations",
        [("EndpointName", "e"), ("VariantName", "v")],
        start,
        [(5.0, 1.0)],
        "None",
        visible_at=world.clock.now() + timedelta(seconds=120),
    )
    cloudwatch = world.session.client("cloudwatch")

    def invocations():
        query = {
            "Id": "inv",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "EndpointName", "Value": "e"}, {"Name": "VariantName", "Value": "v"}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        (result,) = cloudwatch.get_metric_data(
            MetricDataQueries=[query], StartTime=start, EndTime=start + timedelta(minutes=1)
        )["MetricDataResults"]
        return result["Values"]

    assert invocations() == []
    world.clock.advance(119)
    assert invocations() == []
    world.clock.advance(1)
    assert invocations() == [5.0]


def _reference(pairs, stat):
    """A statistic computed the plain way, from every sample (what the store's block summaries must equal)."""
    if not pairs:
        return None
    count = sum(c for _, c in pairs)
    if stat == "Sum":
        return sum(v * c for v, c in pairs)
    if stat == "SampleCount":
        return count
    if stat == "Average":
        return sum(v * c for v, c in pairs) / count
    if stat == "Minimum":
        return min(v for v, _ in pairs)
    if stat == "Maximum":
        return max(v for v, _ in pairs)
    ranked, seen = sorted(pairs), 0
    rank = min(max(1, -(-round(float(stat[1:]) * count) // 100)), count)
    for value, c in ranked:
        seen += c
        if seen >= rank:
            return value
    return ranked[-1][0]


@pytest.mark.parametrize(
    ("minutes", "period"),
    [(500, 3600), (500, 30_000), (10_000, 3600), (10_000, 600_000)],  # 10,000: two spans of 64 blocks, and edges
)
@pytest.mark.parametrize("stat", ["Sum", "SampleCount", "Average", "Minimum", "Maximum", "p50", "p99"])
def test_a_long_window_is_answered_from_block_summaries_exactly_as_from_every_sample(world, stat, minutes, period):
    """Hundreds or thousands of datapoints (summary blocks, and spans of blocks), one arriving late into an old
    block, some in another unit, and some not yet published (the newest, and ones in old blocks and spans): each
    bucket - hourly, or one for the whole window - equals the statistic over exactly the samples it holds."""
    store = world.world.store
    now = world.clock.now().replace(second=0, microsecond=0)
    dims = [("EndpointName", "e"), ("VariantName", "v")]
    start = now - timedelta(minutes=minutes)
    points = []
    for minute in range(minutes):
        samples = [(float(1000 + (minute * 37) % 101), float(1 + minute % 7)), (float(5000 + minute % 3), 2.0)]
        unit = "Seconds" if minute in (321, 6000) else "Microseconds"
        hidden = minute >= minutes - 3 or minute in (200, 4500)
        points.append((start + timedelta(minutes=minute), samples, unit, now + timedelta(minutes=5) if hidden else now))
    late = points.pop(70)
    for at, samples, unit, visible in [*points, late]:  # minute 70 arrives last: its block is summed again
        store.put("AWS/SageMaker", "ModelLatency", dims, at, samples, unit, visible_at=visible)
    query = {
        "Id": "lat",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "ModelLatency",
                "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
            },
            "Period": period,
            "Stat": stat,
            "Unit": "Microseconds",
        },
    }
    (result,) = store.get_metric_data([query], start, now, "TimestampAscending")
    buckets: dict[int, list] = {}
    for at, samples, unit, visible in [*points, late]:
        if unit == "Microseconds" and visible <= now:
            buckets.setdefault(int((at - start).total_seconds()) // period, []).extend(samples)
    expected_times = [start + timedelta(seconds=k * period) for k in sorted(buckets)]
    expected_values = [_reference(buckets[k], stat) for k in sorted(buckets)]
    assert result["timestamps"] == expected_times and len(expected_times) == -(-minutes * 60 // period)
    assert result["values"] == pytest.approx(expected_values, rel=1e-12)


@pytest.mark.parametrize(
    ("days_ago", "period", "answered"),
    [(14, 60, True), (16, 60, False), (16, 300, True), (64, 300, False), (64, 3600, True)],
)
def test_an_old_start_needs_a_period_of_the_resolution_cloudwatch_still_keeps(world, days_ago, period, answered):
    """1-minute data is kept 15 days, 5-minute data 63 days: an older StartTime with a finer Period gets no
    datapoints (AWS CloudWatch API Reference, MetricStat.Period), from GetMetricData and GetMetricStatistics."""
    cloudwatch = world.session.client("cloudwatch")
    now = world.clock.now().replace(second=0, microsecond=0)
    start = now - timedelta(days=days_ago)
    at = now - timedelta(hours=1)
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "Invocations", "Dimensions": DIMENSIONS, "Timestamp": at, "Value": 7}],
    )
    metric = {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": DIMENSIONS}
    (result,) = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"}}],
        StartTime=start,
        EndTime=now,
    )["MetricDataResults"]
    statistics = cloudwatch.get_metric_statistics(
        **metric, StartTime=start, EndTime=now, Period=period, Statistics=["Sum"]
    )["Datapoints"]
    assert (result["Values"] == [7.0]) is answered
    assert ([d["Sum"] for d in statistics] == [7.0]) is answered


@pytest.mark.parametrize(
    ("age", "seconds_past"),
    [(timedelta(days=1), 34), (timedelta(days=20), 154), (timedelta(days=70), 1954)],  # within the grid's step
)
def test_cloudwatch_rounds_the_start_time_down_by_its_age(world, age, seconds_past):
    """StartTime 12:32:34 is read as 12:32:00 within 15 days, 12:30:00 within 63, 12:00:00 beyond (GetMetricData's
    and GetMetricStatistics' StartTime): a datapoint just before the given start is in the answer."""
    cloudwatch = world.session.client("cloudwatch")
    now = world.clock.now().replace(minute=0, second=0, microsecond=0)
    mark = now - age  # on every grid: a whole hour
    start = mark + timedelta(seconds=seconds_past)
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "Invocations", "Dimensions": DIMENSIONS, "Timestamp": mark, "Value": 3}],
    )
    metric = {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": DIMENSIONS}
    end = start + timedelta(hours=2)
    (result,) = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": metric, "Period": 3600, "Stat": "Sum"}}],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )["MetricDataResults"]
    assert result["Values"][:1] == [3.0] and result["Timestamps"][0] == mark
    statistics = cloudwatch.get_metric_statistics(
        **metric, StartTime=start, EndTime=end, Period=3600, Statistics=["Sum"]
    )["Datapoints"]
    assert sum(d["Sum"] for d in statistics) == 3.0
