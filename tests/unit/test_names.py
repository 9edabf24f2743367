from hypothesis import given
from hypothesis import strategies as st
from rollout import names

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7"


def test_names_are_valid_deterministic_and_tell_the_version():
    first = names.model_name("churn-prod", ARN, 7, "exec-1")
    assert first == names.model_name("churn-prod", ARN, 7, "exec-1")
    assert first.startswith("churn-prod-m-v7-")
    assert names.is_valid_name(first)


def test_each_rollout_gets_its_own_names():
    assert names.model_name("churn-prod", ARN, 7, "exec-1") != names.model_name("churn-prod", ARN, 7, "exec-2")
    assert names.endpoint_config_name("churn-prod", 7, "exec-1") != names.endpoint_config_name(
        "churn-prod", 7, "exec-2"
    )


def test_long_endpoint_names_are_cut_to_63_characters():
    endpoint = "a" * 63
    name = names.endpoint_config_name(endpoint, 123456, "exec")
    assert len(name) <= 63 and names.is_valid_name(name)


def test_invalid_names_are_recognised():
    for bad in ["", "-lead", "trail-", "under_score", "a" * 64, "sp ace"]:
        assert not names.is_valid_name(bad), bad


@given(
    endpoint=st.text(min_size=1, max_size=80),
    version=st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
    rollout=st.text(min_size=1, max_size=80),
)
def test_any_input_gives_a_valid_sagemaker_name(endpoint, version, rollout):
    assert names.is_valid_name(names.model_name(endpoint, ARN, version, rollout))
    assert names.is_valid_name(names.endpoint_config_name(endpoint, version, rollout))
