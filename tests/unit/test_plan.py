import pytest
from rollout.errors import PolicyError
from rollout.models.endpoint import EndpointSnapshot, VariantSnapshot
from rollout.models.policy import Capacity, Policy, ServerlessCapacity
from rollout.plan.configs import target_config

from .factories import snapshot

BASELINE_CONFIG = {
    "EndpointConfigName": "churn-prod-config-v0",
    "ProductionVariants": [
        {
            "VariantName": "blue",
            "ModelName": "old-model",
            "InstanceType": "ml.m5.xlarge",
            "InitialInstanceCount": 1,
            "InitialVariantWeight": 1.0,
            "VolumeSizeInGB": 30,
        }
    ],
    "DataCaptureConfig": {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://capture/churn",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    },
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
}


def test_the_new_config_keeps_everything_but_the_model():
    request = target_config(Policy(endpoint_name="churn-prod"), snapshot(), BASELINE_CONFIG, "new-model", "new-config")
    assert request["EndpointConfigName"] == "new-config"
    assert request["DataCaptureConfig"] == BASELINE_CONFIG["DataCaptureConfig"]
    assert request["KmsKeyId"] == BASELINE_CONFIG["KmsKeyId"]
    (variant,) = request["ProductionVariants"]
    assert variant["ModelName"] == "new-model"
    assert variant["VolumeSizeInGB"] == 30 and variant["InstanceType"] == "ml.m5.xlarge"
    assert BASELINE_CONFIG["ProductionVariants"][0]["ModelName"] == "old-model", "the baseline must not be mutated"


def test_live_instance_counts_win_over_the_configs_initial_count():
    # the baseline snapshot says autoscaling grew blue to 2 instances
    request = target_config(Policy(endpoint_name="churn-prod"), snapshot(), BASELINE_CONFIG, "m", "c")
    assert request["ProductionVariants"][0]["InitialInstanceCount"] == 2


def test_policy_capacity_overrides_what_it_names():
    policy = Policy(endpoint_name="churn-prod", capacity=Capacity(instance_type="ml.g5.xlarge"))
    variant = target_config(policy, snapshot(), BASELINE_CONFIG, "m", "c")["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.xlarge", 2)


def test_policy_can_move_a_variant_to_serverless():
    policy = Policy(
        endpoint_name="churn-prod",
        capacity=Capacity(serverless=ServerlessCapacity(memory_size_mb=2048, max_concurrency=10)),
    )
    variant = target_config(policy, snapshot(), BASELINE_CONFIG, "m", "c")["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant


def test_multi_variant_endpoints_keep_their_live_weights():
    config = {
        "EndpointConfigName": "c0",
        "ProductionVariants": [
            {
                "VariantName": "a",
                "ModelName": "m1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            },
            {
                "VariantName": "b",
                "ModelName": "m2",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            },
        ],
    }
    live = EndpointSnapshot(
        name="e",
        exists=True,
        status="InService",
        config_name="c0",
        variants=(
            VariantSnapshot(name="a", model_name="m1", weight=3.0, instance_type="ml.m5.large", instance_count=1),
            VariantSnapshot(name="b", model_name="m2", weight=1.0, instance_type="ml.m5.large", instance_count=1),
        ),
    )
    variants = target_config(Policy(endpoint_name="e"), live, config, "new", "c1")["ProductionVariants"]
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in variants] == [
        ("a", "new", 3.0),
        ("b", "new", 1.0),
    ]


def test_a_first_deployment_needs_capacity_from_the_policy():
    with pytest.raises(PolicyError, match="first deployment"):
        target_config(Policy(endpoint_name="churn-prod"), snapshot(exists=False), None, "m", "c")
    policy = Policy(endpoint_name="churn-prod", capacity=Capacity(instance_type="ml.m5.large", instance_count=1))
    request = target_config(policy, snapshot(exists=False), None, "m", "c")
    assert request["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "m",
            "InitialVariantWeight": 1.0,
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1,
        }
    ]
