"""IAM in the emulated account: who is calling, what a denial looks like to botocore, what is not checked."""

import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from rollout_local.emulator.iam import STATE_MACHINE
from rollout_local.emulator.iam_needs import UnknownOperationError
from rollout_local.simulator import Simulation

from tests.helpers import scenario

ACCOUNT = "123456789012"


def client(service: str):
    return boto3.client(service, region_name="us-east-1")


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def denied(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response


def test_a_function_is_refused_what_its_role_does_not_grant_as_sagemaker_refuses_it(world):
    with world.aws.acting_as("ShiftTrafficFunction"):
        response = denied(lambda: client("sagemaker").delete_endpoint(EndpointName="churn-prod"))
    role = world.stack.roles["ShiftTrafficFunction"].name
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ShiftTrafficFunction is not authorized to perform: "
        f"sagemaker:DeleteEndpoint on resource: arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn-prod "
        "because no identity-based policy allows the sagemaker:DeleteEndpoint action"
    )
    assert world.sagemaker.endpoints["churn-prod"].status == "InService"  # nothing happened


def test_what_the_role_grants_goes_through(world):
    with world.aws.acting_as("ShiftTrafficFunction"):
        described = client("sagemaker").describe_endpoint(EndpointName="churn-prod")
    assert described["EndpointStatus"] == "InService"


def test_sns_and_cloudwatch_refuse_in_their_own_protocols(world):
    with world.aws.acting_as("CleanUpFunction"):
        sns = denied(lambda: client("sns").publish(TopicArn=world.stack.topic_arn, Message="hi"))
        metrics = denied(
            lambda: client("cloudwatch").describe_alarms(AlarmNames=["churn-prod-5xx"])  # CleanUp may only delete
        )
    assert (sns["Error"]["Code"], sns["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    assert "is not authorized to perform: SNS:Publish on resource: " in sns["Error"]["Message"]
    assert (metrics["Error"]["Code"], metrics["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)


def test_the_state_machine_may_invoke_only_its_own_functions(world):
    # moto's interpreter signs its service integrations with this key: the call is the state machine's
    lam = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="ak", aws_secret_access_key="sk")
    # the simulator (unchecked) creates a function the state machine was never granted
    client("lambda").create_function(
        FunctionName="SomeoneElsesFunction",
        Runtime="python3.13",
        Role=world.stack.role_arn,  # any existing role will do
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")},
    )
    response = denied(lambda: lam.invoke(FunctionName="SomeoneElsesFunction", Payload=b"{}"))
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "AccessDeniedException",
        403,
    )
    machine = world.stack.roles[STATE_MACHINE]
    assert f"assumed-role/{machine.name}/" in response["Error"]["Message"]
    assert "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:" in response["Error"]["Message"]


def test_a_call_local_iam_cannot_judge_fails_loudly(world):
    with world.aws.acting_as("ShiftTrafficFunction"), pytest.raises(UnknownOperationError, match="ListModels"):
        client("sagemaker").list_models()
    assert world.aws.iam.unknown == ["sagemaker:ListModels"]


def test_the_simulators_own_calls_are_not_judged(world):
    assert client("sagemaker").list_models()["Models"] is not None  # setup, traffic and people are unchecked


def test_the_first_scalable_sagemaker_variant_creates_the_service_linked_role(world):
    iam = client("iam")
    role = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    with pytest.raises(ClientError):
        iam.get_role(RoleName=role)
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/churn-prod/variant/blue",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    assert (
        iam.get_role(RoleName=role)["Role"]["Path"]
        == "/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    )


def test_iam_can_be_turned_off_for_the_simulators_own_tooling():
    with Simulation(scenario(), iam=False) as sim, sim.aws.acting_as("ShiftTrafficFunction"):
        assert sim.aws.iam is None
        client("sagemaker").list_models()


def test_the_services_clients_keep_botocores_request_validation(world):
    # local mode may only be stricter than AWS: a request botocore would refuse never reaches IAM or the emulator
    from rollout.aws.clients import client as service_client

    for service in ("sagemaker", "cloudwatch", "application-autoscaling", "dynamodb", "sns", "events"):
        assert service_client(service).meta.config.parameter_validation is True
