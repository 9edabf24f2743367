"""SageMaker Runtime in local mode: InvokeEndpoint with TargetVariant answers as the scenario's models do, and
endpoints with DataCaptureConfig write capture files in SageMaker's format and S3 layout."""

import json
import re
from datetime import timedelta

import botocore.exceptions
import pytest
from rollout.stats.answers import compare_answers, parse_answers
from rollout_local.simulator import Simulation

from tests.helpers import LIVE_ENDPOINT, scenario

CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 50,
    "DestinationS3Uri": "s3://captures/monitoring",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
KEY = re.compile(r"^monitoring/churn-prod/blue/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$")


@pytest.fixture
def captured():
    endpoint = {**LIVE_ENDPOINT, "config_extras": {"DataCaptureConfig": CAPTURE}}
    behaviour = {"baseline": {"answers": {"content_type": "text/csv"}, "error_rate": 0.0}}
    with Simulation(scenario(endpoint=endpoint, traffic={"requests_per_second": 2}, model_behaviour=behaviour)) as sim:
        s3 = sim.session.client("s3")
        sim.world.serve(sim.clock.now() + timedelta(minutes=1))
        yield sim, s3


def records(s3):
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="captures")["Contents"]]
    lines = []
    for key in keys:
        body = s3.get_object(Bucket="captures", Key=key)["Body"].read().decode()
        lines += [json.loads(line) for line in body.splitlines() if line]
    return keys, lines


def test_a_capturing_endpoint_writes_sampled_requests_in_sagemakers_format_and_layout(captured):
    _sim, s3 = captured
    keys, lines = records(s3)
    assert keys and all(KEY.match(k) for k in keys), keys
    assert len(lines) == 60, "half of a minute's 120 requests (InitialSamplingPercentage 50)"
    first = lines[0]
    assert set(first) == {"captureData", "eventMetadata", "eventVersion"} and first["eventVersion"] == "0"
    request, response = first["captureData"]["endpointInput"], first["captureData"]["endpointOutput"]
    assert (request["mode"], request["encoding"], request["observedContentType"]) == ("INPUT", "CSV", "text/csv")
    assert (response["mode"], response["encoding"]) == ("OUTPUT", "CSV")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", first["eventMetadata"]["inferenceTime"])
    (answer,) = parse_answers(response["data"], response["observedContentType"])
    assert answer.label in ("stay", "churn") and 0 <= answer.scores[0] <= 1


def test_invoke_endpoint_with_target_variant_gives_the_captured_answer_again(captured):
    sim, s3 = captured
    _keys, lines = records(s3)
    runtime = sim.session.client("sagemaker-runtime")
    request = lines[0]["captureData"]["endpointInput"]["data"]
    answered = runtime.invoke_endpoint(
        EndpointName="churn-prod", Body=request.encode(), ContentType="text/csv", TargetVariant="blue"
    )
    assert answered["InvokedProductionVariant"] == "blue" and answered["ContentType"] == "text/csv"
    body = answered["Body"].read()
    assert body.decode() == lines[0]["captureData"]["endpointOutput"]["data"], "same model, same request, same answer"
    again = parse_answers(body, "text/csv")
    assert compare_answers(again, again).labels.rate == 1.0


def test_invoke_endpoint_refuses_an_unknown_variant_or_endpoint(captured):
    sim, _s3 = captured
    runtime = sim.session.client("sagemaker-runtime")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="churn-prod", Body=b"1,2", ContentType="text/csv", TargetVariant="green")
    assert caught.value.response["Error"]["Code"] == "ValidationError" and "green" in str(caught.value)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="nope", Body=b"1,2", ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_a_failing_model_answers_invoke_endpoint_with_a_model_error():
    behaviour = {"baseline": {"error_rate": 1.0}}
    with Simulation(scenario(model_behaviour=behaviour)) as sim:
        runtime = sim.session.client("sagemaker-runtime")
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            runtime.invoke_endpoint(EndpointName="churn-prod", Body=b"1,2", ContentType="text/csv")
        assert caught.value.response["Error"]["Code"] == "ModelError"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_disagreement_and_score_shift_move_the_answers_as_the_behaviour_says():
    from rollout_local.emulator.answers import Answers, answer, request_body

    bodies = [request_body("e", i, "text/csv") for i in range(2000)]
    base = [parse_answers(answer(Answers(), b)[0], "text/csv")[0] for b in bodies]
    other = [parse_answers(answer(Answers(disagreement_rate=0.1), b)[0], "text/csv")[0] for b in bodies]
    shifted = [parse_answers(answer(Answers(score_shift=0.05), b)[0], "text/csv")[0] for b in bodies]
    assert 0.87 < compare_answers(base, other).labels.rate < 0.93
    moved = compare_answers(base, shifted).scores
    assert moved is not None and 0.04 < moved.mean_abs_difference <= 0.05
    as_json = answer(Answers(content_type="application/json"), bodies[0])
    assert as_json[1] == "application/json" and parse_answers(*as_json)[0].scores == base[0].scores


def invocation_figures(sim, start, end):
    """Invocations and Invocation5XXErrors (Sum) and ModelLatency (SampleCount, p50) of variant blue, per minute."""
    dims = [{"Name": "EndpointName", "Value": "churn-prod"}, {"Name": "VariantName", "Value": "blue"}]
    queries = [
        {
            "Id": key,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dims},
                "Period": 60,
                "Stat": stat,
            },
        }
        for key, metric, stat in (
            ("inv", "Invocations", "Sum"),
            ("err", "Invocation5XXErrors", "Sum"),
            ("lat", "ModelLatency", "p50"),
        )
    ]
    results = sim.session.client("cloudwatch").get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    return {r["Id"]: r["Values"] for r in results["MetricDataResults"]}


def test_every_invoke_endpoint_call_is_counted_in_the_variants_cloudwatch_metrics():
    # no callers at all: whatever CloudWatch counts, the InvokeEndpoint calls (TargetVariant) made it
    behaviour = {"baseline": {"error_rate": 0.3, "latency_ms": 55}}
    with Simulation(scenario(traffic={"requests_per_second": 0}, model_behaviour=behaviour)) as sim:
        runtime = sim.session.client("sagemaker-runtime")
        start = sim.clock.now()
        failed = 0
        for n in range(40):
            try:
                runtime.invoke_endpoint(
                    EndpointName="churn-prod", Body=f"{n},1".encode(), ContentType="text/csv", TargetVariant="blue"
                )
            except botocore.exceptions.ClientError as error:
                assert error.response["Error"]["Code"] == "ModelError"
                failed += 1
        assert 0 < failed < 40
        sim.world.serve(start + timedelta(minutes=1))
        sim.clock.advance(60 + sim.world.metric_delay.total_seconds())  # until CloudWatch has published the minute
        figures = invocation_figures(sim, start, start + timedelta(minutes=1))
        assert figures["inv"] == [40.0], "each call is an invocation of the variant it was routed to"
        assert figures["err"] == [float(failed)], "the container's 500 (a ModelError 424 to the caller) is a 5XX"
        assert figures["lat"] == [55000.0], "ModelLatency in microseconds"
        sim.world.serve(start + timedelta(minutes=2))
        sim.clock.advance(60)
        assert invocation_figures(sim, start + timedelta(minutes=1), start + timedelta(minutes=2))["inv"] == [], (
            "counted once, in the minute of the call"
        )
