"""Scenario faults: checked when the scenario loads, answered as AWS answers, and only to the workflow's calls."""

import threading

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError
from rollout.aws.clients import client
from rollout_local.emulator.faults import Fault, Faults
from rollout_local.scenario import load_scenario
from rollout_local.simulator import Simulation

from tests.helpers import LIVE_ENDPOINT, scenario


def in_workflow(sim, call):
    """Run ``call`` as a handler of a simulated execution would: inside a handler, on a thread of the virtual
    clock (botocore's retry backoff then takes simulated time)."""
    outcome = {}

    def run():
        try:
            with sim.aws.in_handler("TestFunction"):
                outcome["value"] = call()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            sim.clock.exit()

    sim.clock.enter()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return outcome


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"api": "sagemaker:UpdateEndpoitn", "error": "InternalFailure"}, "no operation 'UpdateEndpoitn'"),
        ({"api": "sagemakr:UpdateEndpoint", "error": "InternalFailure"}, "botocore has no service 'sagemakr'"),
        ({"api": "UpdateEndpoint", "error": "InternalFailure"}, "must be service:Operation"),
        ({"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Broken"}, "no endpoint status 'Broken'"),
        ({"api": "sagemaker:CreateEndpoint", "endpoint_status_after": "InService"}, "cannot follow CreateEndpoint"),
        ({"api": "sagemaker:DescribeEndpoint", "endpoint_status_after": "Failed"}, "apply to sagemaker:CreateEndpoint"),
        ({"api": "dynamodb:PutItem", "duration_seconds": 60}, "apply to sagemaker:CreateEndpoint"),
        ({"api": "sagemaker:UpdateEndpoint", "error": "InternalFailure", "endpoint_status_after": "Failed"}, "one or"),
        ({"api": "sagemaker:UpdateEndpoint"}, "does nothing"),
        ({"api": "sagemaker:UpdateEndpoint", "error": "Internal Failure"}, "should match pattern"),
    ],
)
def test_a_fault_sagemaker_or_botocore_would_not_know_is_refused(fault, message):
    with pytest.raises(ValidationError, match=message):
        Fault.model_validate(fault)


def test_an_unknown_key_is_refused_with_one_line_naming_where_it_is(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\napproval: {event: events/model-package-approved.json}\n"
        "faults:\n  - {api: 'sagemaker:UpdateEndpoint', endpoint_status_after: Failed, tmes: 3}\n"
    )
    with pytest.raises(ValueError, match=r"faults\[0\]: unknown key 'tmes' \(did you mean 'times'\?\)$"):
        load_scenario(path)


def test_a_service_may_be_named_as_boto3_or_as_the_report_names_it():
    assert Fault(api="stepfunctions:SendTaskFailure", error="ThrottlingException").api == "sfn:SendTaskFailure"
    assert Fault(api="sfn:SendTaskFailure", error="ThrottlingException").api == "sfn:SendTaskFailure"
    assert Fault(api="events:PutEvents", error="InternalFailure").api == "eventbridge:PutEvents"


def test_a_failed_rollback_counts_only_guarded_updates():
    faults = Faults([Fault(api="sagemaker:UpdateEndpoint", endpoint_status_after="UpdateRollbackFailed")])
    plain = {"EndpointName": "e", "EndpointConfigName": "c"}
    assert faults.outcome_for("sagemaker:UpdateEndpoint", plain) is None
    guarded = faults.outcome_for("sagemaker:UpdateEndpoint", {**plain, "DeploymentConfig": {"x": 1}})
    assert guarded is not None and guarded.endpoint_status_after == "UpdateRollbackFailed"


def test_faults_never_touch_the_simulators_own_setup():
    endpoint = {**LIVE_ENDPOINT, "live_weights": {"blue": 3}}
    faults = [
        {"api": "sagemaker:CreateEndpointConfig", "error": "ValidationException"},
        {"api": "sagemaker:CreateEndpoint", "endpoint_status_after": "Failed"},
        {"api": "sagemaker:UpdateEndpointWeightsAndCapacities", "endpoint_status_after": "Failed"},
    ]
    with Simulation(scenario(endpoint=endpoint, faults=faults)) as sim:
        live = sim.sagemaker.endpoints["churn-prod"]
        assert (live.status, live.live["blue"][0]) == ("InService", 3.0), "setup met none of the faults"
        request = {
            "EndpointConfigName": "mine",
            "ProductionVariants": [
                {"VariantName": "a", "ModelName": "churn-prod-blue-model", "InstanceType": "ml.m5.large"}
                | {"InitialInstanceCount": 1}
            ],
        }
        denied = in_workflow(sim, lambda: client("sagemaker").create_endpoint_config(**request))
        assert denied["error"].response["Error"]["Code"] == "ValidationException", "the workflow meets the fault"
        assert in_workflow(sim, lambda: client("sagemaker").create_endpoint_config(**request))["value"]
        sim.sm.create_endpoint_config(**{**request, "EndpointConfigName": "theirs"})  # people are never faulted
        in_workflow(
            sim,
            lambda: client("sagemaker").update_endpoint_weights_and_capacities(
                EndpointName="churn-prod", DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 1}]
            ),
        )
        sim.clock.advance(120)
        sim.sagemaker.settle()
        assert sim.sagemaker.endpoints["churn-prod"].status == "Failed", "the first workflow call met its fault"


@pytest.mark.parametrize(("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)])
def test_server_errors_are_retried_by_botocore_within_its_five_attempts(code, status):
    faults = [{"api": "sagemaker:DescribeEndpoint", "error": code, "times": 4}]
    with Simulation(scenario(faults=faults)) as sim:
        described = in_workflow(sim, lambda: client("sagemaker").describe_endpoint(EndpointName="churn-prod"))
        assert described["value"]["EndpointStatus"] == "InService", "four failures are invisible to the service"
        assert described["value"]["ResponseMetadata"]["RetryAttempts"] == 4
        assert sim.aws.api_calls["sagemaker:DescribeEndpoint"] == 5


@pytest.mark.parametrize(("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)])
def test_a_server_error_outlasting_botocores_attempts_reaches_the_service(code, status):
    faults = [{"api": "sagemaker:DescribeEndpoint", "error": code, "times": 5}]
    with Simulation(scenario(faults=faults)) as sim:
        started = sim.clock.now()
        failed = in_workflow(sim, lambda: client("sagemaker").describe_endpoint(EndpointName="churn-prod"))
        error = failed["error"]
        assert isinstance(error, ClientError)
        assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        assert error.response["ResponseMetadata"]["RetryAttempts"] == 4
        assert sim.clock.now() > started, "botocore's backoff between attempts took simulated time"
        assert in_workflow(sim, lambda: client("sagemaker").describe_endpoint(EndpointName="churn-prod"))["value"]


def test_throttling_is_retried_by_code_whatever_the_status():
    faults = [{"api": "sagemaker:DescribeEndpoint", "error": "ThrottlingException", "times": 4}]
    with Simulation(scenario(faults=faults)) as sim:
        described = in_workflow(sim, lambda: client("sagemaker").describe_endpoint(EndpointName="churn-prod"))
        assert described["value"]["ResponseMetadata"]["RetryAttempts"] == 4


@pytest.mark.parametrize(
    ("api", "call", "code", "status"),
    [
        (
            "sagemaker:UpdateEndpoint",
            lambda: client("sagemaker").update_endpoint(EndpointName="churn-prod", EndpointConfigName="x"),
            "AccessDeniedException",
            400,
        ),
        ("sns:ListTopics", lambda: client("sns").list_topics(), "AccessDenied", 403),
        ("cloudwatch:DescribeAlarms", lambda: client("cloudwatch").describe_alarms(), "AccessDenied", 403),
        ("lambda:ListFunctions", lambda: client("lambda").list_functions(), "AccessDeniedException", 403),
    ],
)
def test_access_denied_is_worded_and_coded_as_iam_denies_each_protocol(api, call, code, status):
    with Simulation(scenario(faults=[{"api": api, "error": "AccessDenied"}])) as sim:
        error = in_workflow(sim, call)["error"]
        assert isinstance(error, ClientError)
        assert error.response["Error"]["Code"] == code
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert f"is not authorized to perform: {api}" in error.response["Error"]["Message"]
        assert "assumed-role/TestFunction-role/TestFunction" in error.response["Error"]["Message"]
