import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from rollout.errors import MalformedEventError, PackageNotApprovedError
from rollout.eventbridge import PackageStateDetail
from rollout.inputs import ManualStart, parse_start_input
from rollout.models.request import RolloutRequest, StartSource

EVENTS = Path(__file__).resolve().parents[2] / "events"


def approval_event():
    return json.loads((EVENTS / "model-package-approved.json").read_text())


def test_the_sample_approval_event_becomes_a_request():
    request = parse_start_input(approval_event())
    assert request.source is StartSource.EVENT
    assert request.model_package_arn.endswith("model-package/churn/1")
    assert request.event_id == approval_event()["id"]


def test_a_manual_start_carries_endpoint_and_policy():
    request = parse_start_input(
        {
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2",
            "endpoint_name": "churn-prod",
            "policy": {"on_busy": "reject"},
        }
    )
    assert request.source is StartSource.MANUAL
    assert request.endpoint_name == "churn-prod"
    assert request.policy_override == {"on_busy": "reject"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["detail"].pop("ModelPackageArn"), "detail.ModelPackageArn"),
        (lambda e: e.__setitem__("detail-type", "SageMaker Endpoint State Change"), "not a 'aws.sagemaker'"),
        (lambda e: e["detail"].__setitem__("ModelPackageArn", "not-an-arn"), "ModelPackageArn"),
        (lambda e: e.pop("id"), "id"),
        (lambda e: e.pop("account"), "account: Field required"),  # the whole EventBridge envelope, as AWS sends it
        (lambda e: e.__setitem__("time", "yesterday"), "time: Input should be a valid datetime"),
    ],
)
def test_malformed_events_are_refused_with_the_field_named(mutate, message):
    event = approval_event()
    mutate(event)
    with pytest.raises(MalformedEventError, match=message):
        parse_start_input(event)


def test_an_event_for_a_rejected_package_is_refused():
    event = approval_event()
    event["detail"]["ModelApprovalStatus"] = "Rejected"
    with pytest.raises(PackageNotApprovedError, match="Rejected"):
        parse_start_input(event)


@pytest.mark.parametrize("raw", [None, [], "text", {}, {"endpoint_name": "x"}])
def test_inputs_of_no_known_shape_are_malformed(raw):
    with pytest.raises(MalformedEventError):
        parse_start_input(raw)


def test_manual_start_with_unknown_keys_is_malformed():
    with pytest.raises(MalformedEventError, match="endpoint"):
        parse_start_input(
            {
                "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
                "endpoint": "churn-prod",
            }
        )


def test_who_asked_comes_only_in_a_manual_start_never_in_an_approval_event():
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2"
    asked = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
    start = {"model_package_arn": arn, "endpoint_name": "churn-prod", "requested_by": asked}
    assert parse_start_input(start).requested_by == asked  # Resolve Rollout then checks the steering request
    assert parse_start_input({"model_package_arn": arn}).requested_by is None
    with pytest.raises(MalformedEventError, match="an approval event cannot name a requester"):
        parse_start_input({**approval_event(), "requested_by": asked})
    with pytest.raises(MalformedEventError, match="requested_by"):
        parse_start_input({**start, "requested_by": ""})


PACKAGE_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:model-package/"


@pytest.mark.parametrize(
    "arn, accepted",
    [
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1", True),
        ("arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/g/1", True),
        (PACKAGE_PREFIX + "x" * (2048 - len(PACKAGE_PREFIX)), True),  # 2048 characters in all
        (PACKAGE_PREFIX + "x" * (2049 - len(PACKAGE_PREFIX)), False),
        (PACKAGE_PREFIX + "x" * 2048, False),  # a name of 2048: too long in all (SageMaker's max is the whole ARN's)
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/", False),  # no name
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn 1", False),  # blank inside
        ("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1\n", False),  # trailing newline
        ("arn:aws:sagemaker:us-east-1:12345678901:model-package/churn/1", False),  # 11-digit account
    ],
)
def test_a_model_package_arn_is_checked_as_sagemaker_checks_it(arn, accepted):
    """SageMaker's ModelPackageArn: its pattern (the name part non-blank) and at most 2048 characters in all -
    the same in the request, the manual input and the registry's event."""
    checks = [
        lambda: RolloutRequest(model_package_arn=arn, source=StartSource.MANUAL),
        lambda: ManualStart.model_validate({"model_package_arn": arn}),
        lambda: PackageStateDetail.model_validate({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"}),
    ]
    for check in checks:
        if accepted:
            check()
        else:
            with pytest.raises(ValidationError):
                check()
