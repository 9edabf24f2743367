"""The endpoint rule's pattern: only events of endpoints the stack may change reach the listener, for a wildcard
pattern and an exact name alike; and local mode's bus refuses what EventBridge refuses in a wildcard."""

import json

import pytest
from moto.events.models import EventPattern
from rollout_local.bus import pattern_errors, wildcard_error
from rollout_local.stack import load_template, resolve

REFS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def endpoint_rule(endpoint_pattern):
    rule = load_template()["Resources"]["EndpointListenerFunction"]["Properties"]["Events"]["EndpointChanged"]
    pattern = resolve(rule["Properties"]["Pattern"], {**REFS, "EndpointNamePattern": endpoint_pattern})
    assert pattern_errors(pattern) == []
    return EventPattern.load(json.dumps(pattern))


def event(name, detail_type="SageMaker Endpoint State Change"):
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name.lower()}"
    return {
        "source": "aws.sagemaker",
        "detail-type": detail_type,
        "resources": [arn],
        "detail": {"EndpointName": name, "EndpointArn": arn, "EndpointStatus": "IN_SERVICE"},
    }


@pytest.mark.parametrize(
    ("endpoint_pattern", "matched", "not_matched"),
    [
        ("*-prod", ["churn-prod", "a-prod", "Churn-Prod", "-prod"], ["churn-staging", "prod", "churn-prod-2"]),
        ("churn-prod", ["churn-prod", "Churn-Prod"], ["churn-prod2", "xchurn-prod", "churn-pro"]),
        ("team-?-*", ["team-a-x", "team-b-"], ["team-x", "teams-a-x"]),  # `?` is `*` there: broader, not narrower
        ("prod-*", ["prod-1", "prod-"], ["preprod-1"]),
    ],
)
def test_the_endpoint_rule_delivers_only_the_stacks_endpoints(endpoint_pattern, matched, not_matched):
    rule = endpoint_rule(endpoint_pattern)
    for name in matched:
        for detail_type in ("SageMaker Endpoint State Change", "SageMaker Endpoint Deployment State Change"):
            assert rule.matches_event(event(name, detail_type)), (name, detail_type)
    for name in not_matched:
        assert not rule.matches_event(event(name)), name
    other = {**event(matched[0]), "detail-type": "SageMaker Training Job State Change"}
    assert not rule.matches_event(other)


@pytest.mark.parametrize(
    ("operand", "error"),
    [
        ("a**b", "Consecutive wildcard characters at pos 1"),
        ("**", "Consecutive wildcard characters at pos 0"),
        ("a\\b", "Invalid escape character at pos 1"),
        ("a\\", "Invalid escape character at pos 1"),
        (["a*"], "must be a string"),
    ],
)
def test_a_wildcard_eventbridge_refuses_is_refused(operand, error):
    message = wildcard_error(operand)
    assert message is not None and error in message


@pytest.mark.parametrize("operand", ["a*b*c", "*", "a\\*b", "a\\\\b", "exact"])
def test_a_wildcard_eventbridge_accepts_is_accepted(operand):
    assert wildcard_error(operand) is None


def test_local_mode_refuses_a_stack_whose_rule_eventbridge_would_refuse():
    errors = pattern_errors({"resources": [{"wildcard": "arn:*:endpoint/**"}], "detail": {"x": [{"prefix": 1}]}})
    assert errors == [
        "resources: Consecutive wildcard characters at pos 15",
        "detail.x: prefix match pattern must be a string",
    ]


def test_the_escaped_star_is_a_literal_star_for_moto_and_eventbridge_alike():
    rule = EventPattern.load(json.dumps({"name": [{"wildcard": "a\\*b"}]}))
    assert rule.matches_event({"name": "a*b"}) and not rule.matches_event({"name": "axb"})
