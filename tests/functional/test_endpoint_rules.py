"""SageMaker's endpoint feature exclusions, refused by the emulator at the call where SageMaker refuses them."""

import pytest
from botocore.exceptions import ClientError
from rollout.aws.clients import client
from rollout_local.simulator import FunctionError, Simulation

from tests.functional.test_faults import in_workflow
from tests.helpers import sample_event, scenario

SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
SERVERLESS_ENDPOINT = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "serverless": {"memory_size_mb": 2048, "max_concurrency": 5}}],
}
AUTOSCALED_ENDPOINT = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "autoscaling": {}}],
}
MODEL = "churn-prod-blue-model"


def instances(name, model=MODEL, instance_type="ml.m5.xlarge"):
    return {"VariantName": name, "ModelName": model, "InstanceType": instance_type, "InitialInstanceCount": 1}


def serverless(name, model=MODEL):
    return {"VariantName": name, "ModelName": model, "ServerlessConfig": SERVERLESS}


def refused(call, *words):
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    for word in words:
        assert word in error["Message"]
    return error["Message"]


@pytest.fixture
def sim():
    with Simulation(scenario()) as simulation:
        yield simulation


def config(sim, name, variants, **extra):
    return lambda: sim.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **extra)


def test_a_serverless_config_has_one_production_variant(sim):
    refused(config(sim, "two", [serverless("a"), serverless("b")]), "single production variant")
    refused(config(sim, "mixed", [instances("a"), serverless("b")]), "single production variant")
    refused(
        config(sim, "shadowed", [serverless("a")], ShadowProductionVariants=[serverless("b")]),
        "single production variant",
    )
    assert config(sim, "one", [serverless("a")])()["EndpointConfigArn"]
    assert "one" in sim.sagemaker.configs and "two" not in sim.sagemaker.configs


def test_a_serverless_config_has_no_data_capture_and_no_kms_key(sim):
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": "s3://capture/churn",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    refused(config(sim, "captured", [serverless("a")], DataCaptureConfig=capture), "DataCaptureConfig")
    refused(config(sim, "keyed", [serverless("a")], KmsKeyId="alias/churn"), "KmsKeyId")
    assert config(sim, "instance-captured", [instances("a")], DataCaptureConfig=capture)()


def test_serverless_and_shadow_variants_refuse_multi_container_and_multi_model_models(sim):
    role = sim.stack.role_arn
    image = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest"}
    sim.sm.create_model(ModelName="pipeline", ExecutionRoleArn=role, Containers=[image, image])
    sim.sm.create_model(ModelName="many", ExecutionRoleArn=role, PrimaryContainer={**image, "Mode": "MultiModel"})
    refused(config(sim, "s1", [serverless("a", "pipeline")]), "multiple containers")
    refused(config(sim, "s2", [serverless("a", "many")]), "multi-model")
    refused(
        config(sim, "sh1", [instances("a")], ShadowProductionVariants=[instances("b", "pipeline")]),
        "Shadow variants",
        "multiple containers",
    )
    refused(
        config(sim, "sh2", [instances("a", "many")], ShadowProductionVariants=[instances("b")]),
        "Shadow variants",
        "multi-model",
    )
    group = "churn-pipeline"
    sim.sm.create_model_package_group(ModelPackageGroupName=group)
    package = sim.sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [image, image],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sim.sm.create_model(ModelName="packaged", ExecutionRoleArn=role, Containers=[{"ModelPackageName": package}])
    refused(
        config(sim, "sh3", [instances("a")], ShadowProductionVariants=[instances("b", "packaged")]),
        "multiple containers",
    )


def test_shadow_variants_refuse_asynchronous_and_inf1_endpoints(sim):
    async_config = {"OutputConfig": {"S3OutputPath": "s3://async/out"}}
    refused(
        config(
            sim, "a", [instances("a")], ShadowProductionVariants=[instances("b")], AsyncInferenceConfig=async_config
        ),
        "asynchronous",
    )
    refused(
        config(sim, "b", [instances("a", instance_type="ml.inf1.xlarge")], ShadowProductionVariants=[instances("b")]),
        "Inf1",
    )
    assert config(sim, "ok", [instances("a")], ShadowProductionVariants=[instances("b")])()


def test_elastic_inference_is_no_longer_accepted(sim):
    refused(config(sim, "ei", [{**instances("a"), "AcceleratorType": "ml.eia2.medium"}]), "AcceleratorType")


def test_an_instance_based_endpoint_cannot_be_updated_to_serverless(sim):
    config(sim, "to-serverless", [serverless("blue")])()
    refused(
        lambda: sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="to-serverless"),
        "cannot be updated to a serverless",
    )
    assert sim.sagemaker.endpoints["churn-prod"].status == "InService", "a refused update changes nothing"


def test_a_serverless_endpoint_can_be_updated_to_instances():
    with Simulation(scenario(endpoint=SERVERLESS_ENDPOINT)) as sim:
        config(sim, "to-instances", [instances("blue")])()
        sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="to-instances")
        assert sim.sagemaker.endpoints["churn-prod"].status == "Updating"


def test_an_autoscaled_variant_keeps_its_instance_type_but_may_change_model_and_weights():
    with Simulation(scenario(endpoint=AUTOSCALED_ENDPOINT)) as sim:
        sim.sm.create_model(
            ModelName="new-model", ExecutionRoleArn=sim.stack.role_arn, Containers=[{"Image": "churn:2"}]
        )
        config(sim, "bigger", [instances("blue", "new-model", "ml.m5.2xlarge")])()
        refused(
            lambda: sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="bigger"),
            "Application Auto Scaling",
            "ml.m5.xlarge to ml.m5.2xlarge",
        )
        config(sim, "new-model-only", [instances("blue", "new-model")])()
        sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="new-model-only")
        sim.clock.advance(600)
        sim.sagemaker.settle()
        sim.sm.update_endpoint_weights_and_capacities(
            EndpointName="churn-prod",
            DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 2, "DesiredInstanceCount": 3}],
        )
        assert sim.sagemaker.endpoints["churn-prod"].status == "Updating"


def test_an_update_rollback_failed_endpoint_serves_both_fleets_and_accepts_only_deletion():
    fault = {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "UpdateRollbackFailed"}
    endpoint = {
        "name": "churn-prod",
        "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 4}],
    }
    with Simulation(scenario(endpoint=endpoint, faults=[fault])) as sim:
        sim.sm.create_model(ModelName="new-model", ExecutionRoleArn=sim.stack.role_arn, Containers=[{"Image": "c:2"}])
        config(sim, "new-config", [{**instances("blue", "new-model"), "InitialInstanceCount": 4}])()
        canary = {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 300,
        }
        deployment = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": canary}}
        update = {"EndpointName": "churn-prod", "EndpointConfigName": "new-config", "DeploymentConfig": deployment}
        in_workflow(sim, lambda: client("sagemaker").update_endpoint(**update))
        sim.clock.advance(3600)
        described = sim.sm.describe_endpoint(EndpointName="churn-prod")
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
            "UpdateRollbackFailed",
            "churn-prod-config-v0",
        )
        assert described["FailureReason"] and "PendingDeploymentSummary" not in described
        routes = {(r.fleet, r.model): r.share for r in sim.sagemaker.traffic_routes()["churn-prod"]}
        assert routes == {("green", "new-model"): 0.25, ("", "churn-prod-blue-model"): 0.75}
        refused(
            lambda: sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-prod-config-v0"),
            "UpdateRollbackFailed",
        )
        refused(
            lambda: sim.sm.update_endpoint_weights_and_capacities(
                EndpointName="churn-prod", DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 1}]
            ),
            "UpdateRollbackFailed",
        )
        sim.sm.delete_endpoint(EndpointName="churn-prod")
        assert sim.sagemaker.endpoints["churn-prod"].status == "Deleting"


@pytest.mark.parametrize(
    ("containers", "excluded"),
    [
        ([{"Image": "churn:pre"}, {"Image": "churn:model"}], "multi-container endpoints (model live-model has"),
        ([{"Image": "churn:mme", "Mode": "MultiModel"}], "multi-model endpoints (model live-model is MultiModel)"),
    ],
    ids=["pipeline", "multi-model"],
)
def test_snapshot_endpoint_refuses_a_shadow_test_on_models_shadow_tests_exclude(world, containers, excluded):
    world.sm.create_model(ModelName="live-model", ExecutionRoleArn=world.stack.role_arn, Containers=containers)
    config(world, "live", [{**instances("blue", "live-model"), "InitialInstanceCount": 2}])()
    world.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="live")
    world.clock.advance(600)
    world.sagemaker.settle()
    event = sample_event("snapshot-endpoint.json")
    event["policy"]["strategy"] = {"type": "shadow", "sampling_percent": 10, "duration_seconds": 600}
    with pytest.raises(FunctionError) as caught:
        world.invoke("SnapshotEndpointFunction", event)
    assert caught.value.error_type == "UnsupportedEndpointError"
    assert f"shadow tests exclude {excluded}" in caught.value.message
    assert world.aws.api_calls["sagemaker:DescribeModel"] == 1, "the live model was read, once"


def test_deployment_guardrails_are_refused_on_a_serverless_endpoint():
    with Simulation(scenario(endpoint=SERVERLESS_ENDPOINT)) as sim:
        config(sim, "next", [serverless("blue")])()
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
        refused(
            lambda: sim.sm.update_endpoint(
                EndpointName="churn-prod",
                EndpointConfigName="next",
                DeploymentConfig={"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}},
            ),
            "real-time and asynchronous endpoints, not to serverless",
        )
        sim.sm.update_endpoint(EndpointName="churn-prod", EndpointConfigName="next")  # a plain update is fine
