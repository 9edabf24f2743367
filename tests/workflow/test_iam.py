"""IAM end to end: with one grant missing from template.yaml, a rollout fails exactly as it would on AWS."""

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rollout_local.simulator import Simulation

from tests.helpers import scenario

GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 300}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def canary(**overrides: Any):
    return scenario(
        policy={"endpoint_name": "churn-prod", "strategy": CANARY},
        traffic={"requests_per_second": 5},
        model_behaviour={"baseline": GOOD, "new": GOOD},
        **overrides,
    )


def without_action(function: str, action: str):
    """template.yaml with ``action`` taken out of every inline statement of ``function``'s role."""

    def transform(template: dict[str, Any]) -> dict[str, Any]:
        changed = copy.deepcopy(template)
        for entry in changed["Resources"][function]["Properties"]["Policies"]:
            if isinstance(entry, dict) and "Statement" in entry:
                for statement in entry["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    statement["Action"] = [a for a in actions if a != action]
                entry["Statement"] = [s for s in entry["Statement"] if s["Action"]]
        return changed

    return transform


def without_invoke_grant(function: str):
    """template.yaml whose state machine may no longer invoke ``function``."""

    def transform(template: dict[str, Any]) -> dict[str, Any]:
        changed = copy.deepcopy(template)
        machine = changed["Resources"]["RolloutStateMachine"]["Properties"]
        machine["Policies"] = [
            p
            for p in machine["Policies"]
            if getattr((p.get("LambdaInvokePolicy") or {}).get("FunctionName"), "value", None) != function
        ]
        return changed

    return transform


@contextmanager
def simulated(scenario_, **options: Any) -> Iterator[Simulation]:
    with Simulation(scenario_, **options) as sim:
        yield sim


def test_a_canary_whose_shift_may_not_change_weights_rolls_back_with_aws_access_denied():
    transform = without_action("ShiftTrafficFunction", "sagemaker:UpdateEndpointWeightsAndCapacities")
    with simulated(canary(), template_transform=transform) as sim:
        report = sim.run()
        denials = sim.aws.iam.denials
    assert report.outcome == "rolled_back"
    assert "AccessDeniedException" in report.reason
    assert "ShiftTrafficFunction is not authorized to perform: sagemaker:UpdateEndpointWeightsAndCapacities" in (
        report.reason
    )
    assert [(d.principal.rsplit("/", 1)[-1], d.action) for d in denials] == [
        ("ShiftTrafficFunction", "sagemaker:UpdateEndpointWeightsAndCapacities")
    ]
    # the service did what it does on AWS: back to the exact baseline, nothing of the rollout left
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert [(v.name, v.weight) for v in report.endpoint.variants] == [("blue", 1.0)]
    assert set(sim.sagemaker.configs) == {"churn-prod-config-v0"}
    assert report.records[0]["outcome"] == "rolled_back"


def test_the_same_canary_with_the_whole_template_succeeds():
    with simulated(canary()) as sim:
        report = sim.run()
        assert sim.aws.iam.denials == []
    assert report.outcome == "succeeded", report.reason


def test_a_state_machine_that_may_not_invoke_a_step_fails_that_task_and_rolls_back():
    with simulated(canary(), template_transform=without_invoke_grant("ShiftTrafficFunction")) as sim:
        report = sim.run()
        denials = sim.aws.iam.denials
        invoked = {i.function for i in sim.aws.invocations}
    assert report.outcome == "rolled_back"
    assert "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:ShiftTrafficFunction" in (
        report.reason
    )
    assert [d.action for d in denials] == ["lambda:InvokeFunction"]
    assert "ShiftTrafficFunction" not in invoked, "the function never ran"
    assert report.endpoint.config_name == "churn-prod-config-v0"


ENCRYPTED = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1}],
    "config_extras": {"KmsKeyId": KEY},
}


def test_an_endpoint_with_a_kms_key_is_updated_with_a_grant_on_its_key():
    with simulated(canary(endpoint=ENCRYPTED)) as sim:
        report = sim.run()
        assert sim.aws.iam.denials == []
    assert report.outcome == "succeeded", report.reason
    assert sim.sagemaker.configs[report.endpoint.config_name]["KmsKeyId"] == KEY


def test_without_the_kms_grant_the_update_is_refused_before_the_endpoint_changes():
    with simulated(
        canary(endpoint=ENCRYPTED), template_transform=without_action("StartUpdateFunction", "kms:CreateGrant")
    ) as sim:
        report = sim.run()
        denials = sim.aws.iam.denials
        updates = [op for _, op, _, _ in sim.sagemaker.changes if op.startswith("Update")]
    assert report.outcome != "succeeded"
    assert [(d.action, d.resource) for d in denials] == [("kms:CreateGrant", KEY)]
    assert "not authorized to perform: kms:CreateGrant" in report.reason
    assert updates == [], "SageMaker refused the update: the endpoint was never touched"
    assert report.endpoint.config_name == "churn-prod-config-v0"
