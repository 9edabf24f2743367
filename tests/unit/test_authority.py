"""Policy authority: the operator's policy decides what package metadata and manual starts may set."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rollout.authority import exposure, exposure_refusal
from rollout.errors import EndpointNotAllowedError, OverrideRefusedError, PolicyError
from rollout.models.policy import Canary, Linear, Policy, Steps
from rollout.policy import resolve_policy, standard_layers

OPERATOR = {
    "endpoint_name": "churn-prod",
    "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
    "analysis": {"alarms": ["churn-5xx"], "max_error_rate": 0.02, "max_latency_ms": 300},
    "gates": {"confirm_before_promotion": True},
}
METADATA = "model package CustomerMetadataProperties"


def resolve(operator=None, metadata=None, manual=None, endpoint=None, defaults="{}"):
    stored = None if operator is None else json.dumps(operator)
    meta = {f"rollout:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    return resolve_policy(standard_layers(defaults, "/rollout/policies/churn", stored, meta, manual, endpoint))


def refused(**kwargs) -> str:
    with pytest.raises(OverrideRefusedError) as caught:
        resolve(**kwargs)
    return str(caught.value)


def test_the_issues_metadata_is_refused_field_by_field():
    message = refused(
        operator=OPERATOR,
        metadata={
            "strategy": {"type": "all_at_once"},
            "analysis.alarms": [],
            "analysis.max_error_rate": None,
            "gates.confirm_before_promotion": False,
            "capacity": {"instance_type": "ml.p4d.24xlarge", "instance_count": 100},
        },
    )
    for field in ("strategy.type", "analysis.alarms", "analysis.max_error_rate", "gates.confirm_before_promotion"):
        assert f"policy field '{field}' (from {METADATA}) refused" in message
    assert "removes alarm(s) churn-5xx" in message and "max_error_rate no check is looser than" in message
    assert "capacity.instance_count" in message and "capacity is the operator's" in message


def test_metadata_naming_another_endpoint_is_refused_whatever_else_it_says():
    with pytest.raises(EndpointNotAllowedError, match=r"endpoint payments-prod .* allows churn-prod"):
        resolve(operator=OPERATOR, metadata={"endpoint_name": "payments-prod"})
    with pytest.raises(EndpointNotAllowedError, match="execution input 'endpoint_name'"):
        resolve(operator=OPERATOR, endpoint="payments-prod")
    with pytest.raises(EndpointNotAllowedError, match="binds this model package group to no endpoint"):
        resolve(operator=None, metadata={"endpoint_name": "churn-prod"})


def test_allowed_endpoints_bind_a_group_to_several_endpoints():
    bound = {**OPERATOR, "allowed_endpoints": ["churn-prod", "churn-shadow"]}
    assert resolve(operator=bound, metadata={"endpoint_name": "churn-shadow"}).policy.endpoint_name == "churn-shadow"
    with pytest.raises(EndpointNotAllowedError):
        resolve(operator=bound, metadata={"endpoint_name": "fraud-prod"})
    with pytest.raises(EndpointNotAllowedError, match="endpoint churn-prod \\(from SSM"):  # the operator's own slip
        resolve(operator={**OPERATOR, "allowed_endpoints": ["churn-staging"]})


@pytest.mark.parametrize(
    "metadata",
    [
        {"strategy.canary_percent": 5},
        {"strategy.bake_seconds": 1800},
        {"strategy": {"type": "steps", "steps": [{"weight_percent": 5, "bake_seconds": 600}, {"weight_percent": 100}]}},
        {"strategy": {"type": "shadow", "sampling_percent": 50, "duration_seconds": 3600}},
        {"analysis.alarms": ["churn-5xx", "churn-latency"]},
        {"analysis.max_error_rate": 0.01, "analysis.max_error_rate_increase": 0.005},
        {"analysis.treat_missing": "inconclusive", "analysis.failure_threshold": 1},
        {"gates.confirm_before_start": True},
        {"on_rollback": "reject_package", "on_busy": "reject"},
        {"endpoint_name": "churn-prod"},
    ],
    ids=lambda m: ",".join(m),
)
def test_metadata_that_only_makes_a_rollout_more_careful_is_accepted(metadata):
    resolved = resolve(operator=OPERATOR, metadata=metadata)
    assert resolved.policy.endpoint_name == "churn-prod"


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ({"strategy.canary_percent": 50}, "sends 50% of traffic to the new model 0 s in"),
        ({"strategy.bake_seconds": 60}, "sends 100% of traffic to the new model 60 s in"),
        ({"strategy": {"type": "linear", "step_percent": 20, "interval_seconds": 60}}, "sends 20%"),
        ({"strategy": {"type": "ab_test", "duration_seconds": 3600}}, "sends 50%"),
        ({"analysis.max_latency_ms": 900}, "max_latency_ms 900"),
        ({"analysis.on_inconclusive": "pass"}, "on_inconclusive pass"),
        ({"analysis.check_interval_seconds": 600}, "check_interval_seconds 600"),
        ({"gates.on_timeout": "proceed"}, "gates.on_timeout proceed"),
        ({"on_busy": "supersede"}, "on_busy supersede"),
        ({"poll_interval_seconds": 60}, "does not list 'poll_interval_seconds'"),
        ({"variant_name": "Mine"}, "does not list 'variant_name'"),
        ({"allow_package_overrides": ["capacity"]}, "only the operator's policy"),
        ({"capacity_limits": {"max_instance_count": 100}}, "only the operator's policy"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_each_kind_of_loosening_override_is_refused_naming_the_field_and_the_rule(metadata, rule):
    message = refused(operator=OPERATOR, metadata=metadata)
    assert rule in message and f"(from {METADATA})" in message


def test_a_shorter_judgement_at_full_traffic_is_refused():
    operator = {"endpoint_name": "churn-prod", "strategy": {"type": "all_at_once", "bake_seconds": 3600}}
    message = refused(operator=operator, metadata={"strategy.bake_seconds": 60})
    assert "judges the new model for 60 s, the operator's all_at_once for 3600 s" in message


def test_a_strategy_without_promotion_would_skip_the_promotion_gate():
    message = refused(
        operator={**OPERATOR, "analysis": {"alarms": ["churn-5xx"]}},
        metadata={"strategy": {"type": "all_at_once", "bake_seconds": 3600}},
    )
    assert "gate before promotion would never open" in message


def test_blue_green_would_drop_the_operators_metric_checks():
    guarded = {
        "type": "blue_green",
        "traffic_routing": {
            "type": "LINEAR",
            "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 10},
            "wait_interval_seconds": 600,
        },
        "max_execution_timeout_seconds": 7200,
    }
    operator = {**OPERATOR, "gates": {}}
    assert "metric checks would not run" in refused(operator=operator, metadata={"strategy": guarded})
    no_checks = {**operator, "analysis": {"alarms": ["churn-5xx"]}}
    assert resolve(operator=no_checks, metadata={"strategy": guarded}).policy.strategy.type == "blue_green"


def test_listed_fields_may_be_set_and_capacity_only_within_the_operators_limits():
    listed = {**OPERATOR, "allow_package_overrides": ["poll_interval_seconds", "capacity"]}
    assert resolve(operator=listed, metadata={"poll_interval_seconds": 60}).policy.poll_interval_seconds == 60
    assert "sets no capacity_limits" in refused(operator=listed, metadata={"capacity.instance_count": 3})
    limited = {
        **listed,
        "capacity_limits": {"max_instance_count": 4, "instance_types": ["ml.m5.xlarge", "ml.m5.2xlarge"]},
    }
    assert resolve(operator=limited, metadata={"capacity.instance_count": 4}).policy.capacity.instance_count == 4
    assert "instance_count 100 exceeds the limit of 4" in refused(
        operator=limited, metadata={"capacity.instance_count": 100}
    )
    assert "ml.p4d.24xlarge is not one of" in refused(
        operator=limited, metadata={"capacity.instance_type": "ml.p4d.24xlarge"}
    )
    # a listed field still cannot loosen a check
    loose = {**OPERATOR, "allow_package_overrides": ["analysis"]}
    assert "looser than the operator's" in refused(operator=loose, metadata={"analysis.max_error_rate": 0.5})


def test_manual_starts_are_judged_like_package_metadata():
    message = refused(operator=OPERATOR, manual={"strategy": {"type": "all_at_once"}})
    assert "(from execution input 'policy')" in message
    assert resolve(
        operator=OPERATOR, manual={"gates": {"confirm_before_start": True}}
    ).policy.gates.confirm_before_start


def test_the_operators_own_capacity_beyond_its_limits_is_a_policy_error():
    with pytest.raises(PolicyError, match="instance_count 8 exceeds the limit of 4"):
        resolve(operator={**OPERATOR, "capacity": {"instance_count": 8}, "capacity_limits": {"max_instance_count": 4}})


def test_allow_package_overrides_names_real_fields_only():
    with pytest.raises(PolicyError, match="'polling' is not a policy field"):
        resolve(operator={**OPERATOR, "allow_package_overrides": ["polling"]})
    with pytest.raises(PolicyError, match="'allowed_endpoints' is not a policy field"):
        resolve(operator={**OPERATOR, "allow_package_overrides": ["allowed_endpoints"]})


# --- exposure: at least as careful is a partial order -------------------------------------------------------

percent = st.floats(min_value=5, max_value=99, allow_nan=False).map(lambda v: round(v, 2))
seconds = st.integers(min_value=0, max_value=3600)
strategies = st.one_of(
    st.builds(Canary, canary_percent=percent, bake_seconds=seconds, final_bake_seconds=seconds),
    st.builds(Linear, step_percent=percent, interval_seconds=seconds),
)


@given(strategies)
def test_a_strategy_is_as_careful_as_itself(strategy):
    assert exposure_refusal(strategy, strategy) is None


@given(strategies, strategies, strategies)
def test_as_careful_as_is_transitive(a, b, c):
    if exposure_refusal(a, b) is None and exposure_refusal(b, c) is None:
        assert exposure_refusal(a, c) is None


@given(strategies)
def test_a_smaller_first_step_judged_longer_is_never_less_careful(strategy):
    shape = exposure(strategy)
    first, judged = shape.segments[0][1], int(shape.judged_seconds) + 1
    slower = Steps(
        steps=(
            {"weight_percent": first / 2, "bake_seconds": min(judged, 86400)},
            {"weight_percent": 100, "bake_seconds": min(judged, 86400)},
        )
    )
    assert exposure_refusal(strategy, slower) is None


def test_policy_model_fields_for_the_operator_have_defaults():
    policy = Policy(endpoint_name="e")
    assert (policy.allowed_endpoints, policy.allow_package_overrides, policy.capacity_limits) == ((), (), None)


STATISTICAL_OPERATOR = {**OPERATOR, "analysis": {**OPERATOR["analysis"], "judge": "statistical", "confidence": 0.95}}


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ({"analysis.confidence": 0.8}, "confidence 0.8 is looser"),
        ({"analysis.error_rate_tolerance": 0.01}, "error_rate_tolerance 0.01 is looser"),
        ({"analysis.latency_tolerance_ratio": None}, "latency_tolerance_ratio no check is looser"),
        ({"analysis.judge": "threshold"}, "judge threshold is looser"),
        (
            {"analysis.error_rate_tolerance_kind": "ratio", "analysis.error_rate_tolerance": 1.1},
            "error_rate_tolerance_kind ratio",
        ),
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_request_may_not_loosen_the_statistical_judge(metadata, rule):
    message = refused(operator=STATISTICAL_OPERATOR, metadata=metadata)
    assert rule in message


def test_a_request_may_make_the_statistical_judge_stricter():
    stricter = {"analysis.confidence": 0.99, "analysis.error_rate_tolerance": 0.0005}
    resolved = resolve(operator=STATISTICAL_OPERATOR, metadata=stricter)
    assert resolved.policy.analysis.confidence == 0.99
