import pytest
from rollout.errors import InvalidNameError, PolicyError
from rollout.policy import PolicyLayer, layer_from_metadata, parse_policy_document, resolve_policy


def layers(*pairs):
    return [PolicyLayer(source, fields) for source, fields in pairs]


def test_later_sources_win_and_every_field_knows_its_source():
    resolved = resolve_policy(
        layers(
            ("stack defaults", {"on_busy": "reject", "poll_interval_seconds": 60}),
            ("SSM parameter /rollout/policies/churn", {"endpoint_name": "churn-prod", "on_busy": "queue"}),
            ("execution input 'policy'", {"poll_interval_seconds": 45}),
        )
    )
    assert resolved.policy.on_busy == "queue"
    assert resolved.policy.poll_interval_seconds == 45
    assert resolved.sources["endpoint_name"] == "SSM parameter /rollout/policies/churn"
    assert resolved.sources["poll_interval_seconds"] == "execution input 'policy'"


def test_nested_fields_merge_field_by_field():
    resolved = resolve_policy(
        layers(
            ("a", {"endpoint_name": "e", "capacity": {"instance_type": "ml.m5.large", "instance_count": 2}}),
            ("b", {"capacity": {"instance_count": 4}}),
        )
    )
    assert resolved.policy.capacity is not None
    assert (resolved.policy.capacity.instance_type, resolved.policy.capacity.instance_count) == ("ml.m5.large", 4)
    assert resolved.sources["capacity.instance_type"] == "a"
    assert resolved.sources["capacity.instance_count"] == "b"


def test_an_invalid_field_is_named_with_the_source_that_set_it():
    with pytest.raises(PolicyError) as caught:
        resolve_policy(layers(("SSM parameter /p/churn", {"endpoint_name": "e", "strategy": {"type": "big_bang"}})))
    message = str(caught.value)
    assert "'strategy'" in message and "SSM parameter /p/churn" in message
    assert "'all_at_once', 'canary', 'linear', 'steps'" in message


def test_a_missing_required_field_says_no_source_set_it():
    with pytest.raises(PolicyError, match=r"'endpoint_name' \(set by no source\)"):
        resolve_policy(layers(("stack defaults", {})))


def test_unknown_fields_are_refused():
    with pytest.raises(PolicyError, match=r"'endpont_name'.*from execution input"):
        resolve_policy(layers(("execution input", {"endpoint_name": "e", "endpont_name": "typo"})))


def test_a_bad_endpoint_name_is_an_invalid_name_error_naming_its_source():
    with pytest.raises(InvalidNameError, match=r"model package metadata.*churn_prod"):
        resolve_policy(layers(("model package metadata", {"endpoint_name": "churn_prod"})))


def test_metadata_keys_become_nested_fields_and_json_values():
    layer = layer_from_metadata(
        {"rollout:endpoint_name": "churn-prod", "rollout:capacity.instance_count": "3", "owner": "team"}
    )
    assert layer.fields == {"endpoint_name": "churn-prod", "capacity": {"instance_count": 3}}


def test_metadata_key_conflicts_are_policy_errors():
    with pytest.raises(PolicyError):
        layer_from_metadata({"rollout:capacity": "1", "rollout:capacity.instance_count": "3"})


def test_policy_documents_must_be_json_objects():
    with pytest.raises(PolicyError, match="not valid JSON"):
        parse_policy_document("{nope", "SSM parameter /p/x")
    with pytest.raises(PolicyError, match="JSON object"):
        parse_policy_document("[1]", "SSM parameter /p/x")


def test_serverless_and_instances_cannot_mix():
    with pytest.raises(PolicyError, match="capacity"):
        resolve_policy(
            layers(
                (
                    "a",
                    {
                        "endpoint_name": "e",
                        "capacity": {"instance_count": 1, "serverless": {"memory_size_mb": 2048, "max_concurrency": 5}},
                    },
                )
            )
        )


def test_changing_a_strategy_type_replaces_the_whole_strategy():
    resolved = resolve_policy(
        layers(
            ("a", {"endpoint_name": "e", "strategy": {"type": "all_at_once"}}),
            ("b", {"strategy": {"type": "all_at_once"}}),
        )
    )
    assert resolved.policy.strategy.type == "all_at_once"
