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
