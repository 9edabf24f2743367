"""The operator's policy is the authority: package metadata and manual starts, end to end through the real workflow."""

import pytest

from tests.helpers import APPROVAL_EVENT, LIVE_ENDPOINT, scenario

MUTATING = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint")
OPERATOR = {
    "endpoint_name": "churn-prod",
    "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 300},
    "analysis": {"alarms": ["churn-5xx"], "max_error_rate": 0.05},
    "allow_package_overrides": ["poll_interval_seconds", "capacity"],
    "capacity_limits": {"max_instance_count": 4, "instance_types": ["ml.m5.xlarge", "ml.m5.2xlarge"]},
}
ALARMS = [
    {
        "name": "churn-5xx",
        "endpoint": "churn-prod",
        "metric": "Invocation5XXErrors",
        "variant": "blue",
        "statistic": "Sum",
        "threshold": 50,
    }
]
PAYMENTS = {
    "name": "payments-prod",
    "variants": [{"name": "main", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1}],
}


def with_metadata(metadata, policy=OPERATOR, **overrides):
    approval = {"group": "churn", "event": APPROVAL_EVENT, "metadata": metadata}
    return scenario(policy=policy, approval=approval, alarms=ALARMS, traffic={"requests_per_second": 20}, **overrides)


def untouched(report):
    return not any(report.metrics.api_calls.get(f"sagemaker:{op}") for op in MUTATING)


@pytest.mark.parametrize(
    ("metadata", "field", "rule"),
    [
        ({"rollout:strategy.type": "all_at_once"}, "strategy.type", "sends 100% of traffic to the new model 0 s in"),
        ({"rollout:analysis.max_error_rate": "0.5"}, "analysis.max_error_rate", "looser than the operator's 0.05"),
        ({"rollout:gates.on_timeout": "proceed"}, "gates.on_timeout", "less careful than the operator's roll_back"),
        ({"rollout:capacity.instance_count": "100"}, "capacity", "instance_count 100 exceeds the limit of 4"),
        ({"rollout:capacity.instance_type": "ml.p4d.24xlarge"}, "capacity", "is not one of ml.m5.xlarge"),
        ({"rollout:update_timeout_seconds": "28800"}, "update_timeout_seconds", "does not list"),
        ({"rollout:capacity_limits.max_instance_count": "100"}, "capacity_limits", "only the operator's policy"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_loosening_override_is_rejected_naming_the_field_and_the_rule_with_nothing_touched(
    run, metadata, field, rule
):
    report, _sim = run(with_metadata(metadata))
    assert report.outcome == "rejected"
    assert report.reason.startswith("OverrideRefusedError: policy field"), report.reason
    assert f"'{field}" in report.reason and "(from model package CustomerMetadataProperties)" in report.reason
    assert rule in report.reason
    assert untouched(report) and report.endpoint.config_name == "churn-prod-config-v0"
    assert report.records[0]["outcome"] == "rejected" and report.records[0]["endpoint_name"] == "churn-prod"


def test_overrides_the_operators_rules_allow_take_effect(run):
    report, _ = run(
        with_metadata(
            {
                "rollout:strategy.canary_percent": "5",  # more careful: always allowed
                "rollout:analysis.max_error_rate": "0.01",  # stricter
                "rollout:capacity.instance_count": "3",  # listed, within capacity_limits
                "rollout:poll_interval_seconds": "60",  # listed
            }
        )
    )
    assert report.outcome == "succeeded", report.reason
    shifted = [e.detail["weight_percent"] for e in report.events if e.detail_type == "Rollout Step Shifted"]
    assert shifted[0] == 5.0
    (variant,) = report.endpoint.variants
    assert variant.instances == 3


def test_a_manual_start_may_not_remove_the_operators_alarms(run):
    # SageMaker's metadata values cannot hold a JSON list (CustomerMetadataProperties' value pattern has no brackets
    # or quotes), so a list field is overridden by a manual start's policy
    report, _ = run(
        scenario(
            policy=OPERATOR,
            alarms=ALARMS,
            approval={"group": "churn", "manual": {"policy": {"analysis": {"alarms": []}}}},
        )
    )
    assert report.outcome == "rejected" and untouched(report)
    assert "policy field 'analysis.alarms' (from execution input 'policy') refused: it removes alarm(s) churn-5xx" in (
        report.reason
    )


def test_a_package_naming_an_endpoint_outside_its_groups_binding_is_refused(run):
    report, _sim = run(
        with_metadata(
            {"rollout:endpoint_name": "payments-prod"},
            endpoint=None,
            endpoints=[LIVE_ENDPOINT, PAYMENTS],
        )
    )
    assert report.outcome == "rejected"
    assert report.reason.startswith(
        "EndpointNotAllowedError: endpoint payments-prod (from model package CustomerMetadataProperties) is not one "
        "this model package group may deploy to: the operator's policy allows churn-prod"
    ), report.reason
    assert untouched(report)
    payments = next(e for e in report.endpoints if e.name == "payments-prod")
    assert payments.config_name == "payments-prod-config-v0"
    # the refusal is filed under the group's own endpoint, never under the endpoint the package named
    assert [r["endpoint_name"] for r in report.records] == ["churn-prod"]


def test_a_manual_start_naming_another_endpoint_is_refused(run):
    report, _ = run(
        scenario(
            endpoint=None,
            endpoints=[LIVE_ENDPOINT, PAYMENTS],
            approval={"group": "churn", "manual": {"endpoint_name": "payments-prod"}},
        )
    )
    assert report.outcome == "rejected" and report.reason.startswith("EndpointNotAllowedError: endpoint payments-prod")
    assert "(from execution input 'endpoint_name')" in report.reason and untouched(report)
    assert [r["endpoint_name"] for r in report.records] == ["churn-prod"]


def test_a_group_without_an_operator_policy_deploys_nowhere(run):
    report, _ = run(with_metadata({"rollout:endpoint_name": "churn-prod"}, policy=None))
    assert report.outcome == "rejected" and "binds this model package group to no endpoint" in report.reason
    assert untouched(report)
