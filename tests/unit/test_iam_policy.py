"""Local IAM's policy evaluation: the rules IAM documents for identity-based policies."""

import pytest
from rollout_local.emulator.iam import Denial
from rollout_local.emulator.iam_needs import Need
from rollout_local.emulator.iam_policy import IamModelError, Role, parse_policy, parse_statement

ACCOUNT = "123456789012"
ENDPOINT = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn-prod"


def role(*statements: dict) -> Role:
    return Role(
        "TestFunction",
        "stack-TestFunctionRole-ABC",
        "TestFunction",
        parse_policy({"Statement": list(statements)}, "test"),
    )


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(r: Role, action: str, resource: str = ENDPOINT, **context: tuple[str, ...]) -> str:
    return r.decide(Need(action, resource, {k.lower(): v for k, v in context.items()}))


def test_nothing_is_allowed_without_an_allow():
    assert decide(role(allow("sagemaker:DescribeEndpoint", ENDPOINT)), "sagemaker:UpdateEndpoint") == "implicit"


def test_action_wildcards_match_case_insensitively():
    r = role(allow("SageMaker:describe*", "*"))
    assert decide(r, "sagemaker:DescribeEndpoint") == "allow"
    assert decide(r, "sagemaker:DescribeEndpointConfig") == "allow"
    assert decide(r, "sagemaker:UpdateEndpoint") == "implicit"
    assert decide(role(allow("sagemaker:Describe?ndpoint", "*")), "sagemaker:DescribeEndpoint") == "allow"


def test_resources_match_case_sensitively():
    # SageMaker lower-cases names in its ARNs: a pattern in upper case never matches
    assert decide(
        role(allow("sagemaker:DescribeEndpoint", f"{ENDPOINT[:-10]}Churn-*")), "sagemaker:DescribeEndpoint"
    ) == ("implicit")
    assert decide(
        role(allow("sagemaker:DescribeEndpoint", f"{ENDPOINT[:-10]}churn-*")), "sagemaker:DescribeEndpoint"
    ) == ("allow")


def test_a_star_stays_in_its_arn_segment_unless_it_ends_the_segment():
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:Shift"
    r = role(allow("lambda:InvokeFunction", f"{function}*"))
    assert decide(r, "lambda:InvokeFunction", f"{function}TrafficFunction") == "allow"
    assert decide(r, "lambda:InvokeFunction", f"{function}TrafficFunction:live") == "allow"  # spans the colon
    middle = role(allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:a*b"))
    assert decide(middle, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:a:x:b") == "implicit"
    assert decide(middle, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:axxb") == "allow"


def test_an_action_without_a_resource_type_needs_resource_star():
    assert decide(role(allow("cloudwatch:GetMetricData", "*")), "cloudwatch:GetMetricData", "*") == "allow"
    narrow = role(allow("cloudwatch:GetMetricData", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"))
    assert decide(narrow, "cloudwatch:GetMetricData", "*") == "implicit"


def test_not_action_and_not_resource():
    r = role({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide(r, "sagemaker:DeleteEndpoint") == "allow"
    assert decide(r, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x") == "implicit"
    r = role({"Effect": "Allow", "Action": "sagemaker:*", "NotResource": f"{ENDPOINT[:-10]}prod-*"})
    assert decide(r, "sagemaker:DeleteEndpoint") == "allow"
    assert decide(r, "sagemaker:DeleteEndpoint", f"{ENDPOINT[:-10]}prod-a") == "implicit"


def test_an_explicit_deny_wins_and_is_worded_as_aws_words_it():
    r = role(allow("sagemaker:*", "*"), {"Effect": "Deny", "Action": "sagemaker:DeleteEndpoint", "Resource": "*"})
    assert decide(r, "sagemaker:DescribeEndpoint") == "allow"
    assert decide(r, "sagemaker:DeleteEndpoint") == "deny"
    denial = Denial("sagemaker", "DeleteEndpoint", r.principal, "sagemaker:DeleteEndpoint", ENDPOINT, True)
    assert denial.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/stack-TestFunctionRole-ABC/TestFunction is not authorized to "
        f"perform: sagemaker:DeleteEndpoint on resource: {ENDPOINT} with an explicit deny in an identity-based policy"
    )
    assert denial.shape[:2] == ("AccessDeniedException", 400)


def test_denials_take_each_services_error_shape():
    implicit = Denial("sns", "Publish", "p", "sns:Publish", "arn:aws:sns:us-east-1:1:t", False)
    assert implicit.shape[:2] == ("AuthorizationError", 403)
    assert implicit.message.endswith("because no identity-based policy allows the SNS:Publish action")
    metrics = Denial("cloudwatch", "GetMetricData", "p", "cloudwatch:GetMetricData", "*", False)
    assert metrics.shape == ("AccessDenied", 403, {"x-amzn-query-error": "AccessDenied;Sender"})
    assert " on resource" not in metrics.message  # an action without a resource names none
    assert Denial("lambda", "Invoke", "p", "lambda:InvokeFunction", "arn", False).shape[:2] == (
        "AccessDeniedException",
        403,
    )


PASS_ROLE = allow(
    "iam:PassRole",
    f"arn:aws:iam::{ACCOUNT}:role/sm",
    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
)


def test_string_conditions():
    r = role(PASS_ROLE)
    target = f"arn:aws:iam::{ACCOUNT}:role/sm"
    assert decide(r, "iam:PassRole", target, **{"iam:PassedToService": ("sagemaker.amazonaws.com",)}) == "allow"
    assert decide(r, "iam:PassRole", target, **{"iam:PassedToService": ("lambda.amazonaws.com",)}) == "implicit"
    assert decide(r, "iam:PassRole", target) == "implicit"  # a missing key never matches


def test_tag_conditions_need_the_tag():
    tagged = allow(
        "sagemaker:DeleteModel", "*", Condition={"StringLike": {"aws:ResourceTag/sagemaker-rollout:rollout-id": "*"}}
    )
    r = role(tagged)
    assert decide(r, "sagemaker:DeleteModel", **{"aws:resourcetag/sagemaker-rollout:rollout-id": ("r-1",)}) == "allow"
    assert decide(r, "sagemaker:DeleteModel") == "implicit"


def test_if_exists_and_negated_operators_on_missing_keys():
    if_exists = role(allow("s3:GetObject", "*", Condition={"StringEqualsIfExists": {"aws:ResourceTag/team": "ml"}}))
    assert decide(if_exists, "s3:GetObject", "*") == "allow"
    assert decide(if_exists, "s3:GetObject", "*", **{"aws:resourcetag/team": ("web",)}) == "implicit"
    negated = role(allow("s3:GetObject", "*", Condition={"StringNotEquals": {"aws:ResourceTag/team": "web"}}))
    assert decide(negated, "s3:GetObject", "*") == "allow"
    assert decide(negated, "s3:GetObject", "*", **{"aws:resourcetag/team": ("web",)}) == "implicit"


def test_set_operators():
    any_of = role(
        allow(
            "sagemaker:CreateEndpointConfig",
            "*",
            Condition={"ForAnyValue:StringLike": {"sagemaker:InstanceTypes": "ml.g5.*"}},
        )
    )
    all_of = role(
        allow(
            "sagemaker:CreateEndpointConfig",
            "*",
            Condition={"ForAllValues:StringLike": {"sagemaker:InstanceTypes": "ml.m5.*"}},
        )
    )
    mixed = {"sagemaker:instancetypes": ("ml.m5.xlarge", "ml.g5.xlarge")}
    assert decide(any_of, "sagemaker:CreateEndpointConfig", **mixed) == "allow"
    assert decide(all_of, "sagemaker:CreateEndpointConfig", **mixed) == "implicit"
    assert decide(all_of, "sagemaker:CreateEndpointConfig", **{"sagemaker:instancetypes": ("ml.m5.large",)}) == "allow"
    assert decide(all_of, "sagemaker:CreateEndpointConfig") == "allow"  # vacuously true without values
    assert decide(any_of, "sagemaker:CreateEndpointConfig") == "implicit"


def test_arn_bool_null_and_numeric_conditions():
    arn = role(
        allow("s3:GetObject", "*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:states:*:*:stateMachine:*"}})
    )
    assert (
        decide(arn, "s3:GetObject", "*", **{"aws:sourcearn": (f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:m",)})
        == "allow"
    )
    assert decide(
        arn, "s3:GetObject", "*", **{"aws:sourcearn": (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",)}
    ) == ("implicit")
    boolean = role(allow("kms:CreateGrant", "*", Condition={"Bool": {"kms:GrantIsForAWSResource": True}}))
    assert decide(boolean, "kms:CreateGrant", "*", **{"kms:grantisforawsresource": ("true",)}) == "allow"
    assert decide(boolean, "kms:CreateGrant", "*", **{"kms:grantisforawsresource": ("false",)}) == "implicit"
    null = role(allow("s3:GetObject", "*", Condition={"Null": {"aws:ResourceTag/team": "true"}}))
    assert decide(null, "s3:GetObject", "*") == "allow"
    assert decide(null, "s3:GetObject", "*", **{"aws:resourcetag/team": ("ml",)}) == "implicit"
    numeric = role(allow("s3:GetObject", "*", Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}}))
    assert decide(numeric, "s3:GetObject", "*", **{"s3:max-keys": ("7",)}) == "allow"
    assert decide(numeric, "s3:GetObject", "*", **{"s3:max-keys": ("11",)}) == "implicit"


def test_global_keys_describe_the_caller():
    r = role(allow("sts:GetCallerIdentity", "*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}))
    assert decide(r, "sts:GetCallerIdentity", "*") == "allow"


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"},
        {"Effect": "Permit", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*"},
        {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}},
        },
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}/*"},
    ],
)
def test_what_local_iam_cannot_judge_is_refused(statement):
    with pytest.raises(IamModelError):
        parse_statement(statement, "test")
