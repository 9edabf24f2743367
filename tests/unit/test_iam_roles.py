"""Local IAM's roles (as SAM builds them from template.yaml) and what each call needs."""

import copy

import pytest
from rollout_local.emulator.iam import roles_from_template
from rollout_local.emulator.iam_needs import Call, Need, UnknownOperationError, needs_for
from rollout_local.emulator.iam_policy import IamModelError, Role
from rollout_local.stack import Tag, load_template, resolve
from samtranslator.translator.transform import transform

from tests.helpers import IamAccount as Account

ACCOUNT = "123456789012"
REFS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": "s",
    "SageMakerExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sm-exec",
    "PolicyParameterPrefix": "/rollout/policies",
    "EndpointNamePattern": "churn-*",
    "EventBusName": "default",
    "CaptureBucketName": "churn-captures",
    "RolloutTable": "rollouts",
    "RolloutTable.Arn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/rollouts",
    "EventDeadLetterQueue.Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:s-event-dead-letters",
    "NotificationTopic.TopicName": "rollout-topic",
    "LogLevel": "INFO",
    "DefaultPolicy": "{}",
    "ModelPackageGroupPrefix": "",
    "RolloutLayer": "layer",
    "NotificationTopic": f"arn:aws:sns:us-east-1:{ACCOUNT}:rollout-topic",
}


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def roles(template):
    names = {k: k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    refs = {**REFS, **names}
    return roles_from_template(template, lambda value: resolve(value, refs), "s", names)


def checks(operation: str, account: Account | None = None, **params) -> list[Need]:
    return needs_for(Call(operation, params, account or Account()))


def allowed(role: Role, operation: str, account: Account | None = None, **params) -> list[tuple[str, str]]:
    """The (action, decision) of each check ``role`` meets for the call."""
    return [(n.action, role.decide(n)) for n in checks(operation, account, **params)]


def test_every_function_and_the_state_machine_get_a_role(template, roles):
    functions = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert sorted(roles) == sorted([*functions, "states"])
    shift = roles["ShiftTrafficFunction"]
    assert shift.principal == f"arn:aws:sts::{ACCOUNT}:assumed-role/{shift.name}/ShiftTrafficFunction"


def test_sam_adds_the_basic_execution_and_xray_policies(roles):
    shift = roles["ShiftTrafficFunction"]
    assert shift.decide(Need("logs:PutLogEvents", "*")) == "allow"
    assert shift.decide(Need("xray:PutTraceSegments", "*")) == "allow"  # Tracing: Active in Globals
    assert roles["states"].decide(Need("xray:PutTraceSegments", "*")) == "allow"  # Tracing: Enabled


def test_sam_policy_templates_expand_to_their_real_statements(roles):
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:rollout-topic"
    assert roles["ShiftTrafficFunction"].decide(Need("sns:Publish", topic)) == "allow"
    assert roles["ShiftTrafficFunction"].decide(Need("sns:Publish", f"{topic}-other")) == "implicit"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/rollouts"
    assert roles["CheckEndpointFunction"].decide(Need("dynamodb:Query", table)) == "allow"  # DynamoDBReadPolicy
    assert roles["CheckEndpointFunction"].decide(Need("dynamodb:PutItem", table)) == "implicit"


def test_the_state_machine_may_invoke_exactly_its_functions(roles):
    machine = roles["states"]
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ShiftTrafficFunction"
    assert machine.decide(Need("lambda:InvokeFunction", function)) == "allow"
    assert machine.decide(Need("lambda:InvokeFunction", f"{function}:live")) == "allow"  # LambdaInvokePolicy: Name*
    other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:SomeoneElsesFunction"
    assert machine.decide(Need("lambda:InvokeFunction", other)) == "implicit"


def test_the_endpoint_name_pattern_scopes_every_endpoint_grant(roles):
    shift = roles["ShiftTrafficFunction"]
    assert allowed(shift, "sagemaker:UpdateEndpointWeightsAndCapacities", EndpointName="churn-prod") == [
        ("sagemaker:UpdateEndpointWeightsAndCapacities", "allow")
    ]
    assert allowed(shift, "sagemaker:UpdateEndpointWeightsAndCapacities", EndpointName="payments") == [
        ("sagemaker:UpdateEndpointWeightsAndCapacities", "implicit")
    ]
    # SageMaker lower-cases names in ARNs: an endpoint named Churn-Prod is endpoint/churn-prod
    assert checks("sagemaker:DescribeEndpoint", EndpointName="Churn-Prod")[0].resource.endswith("endpoint/churn-prod")


def test_create_model_from_a_package_needs_pass_role_describe_package_and_add_tags(roles):
    needs = checks(
        "sagemaker:CreateModel",
        ModelName="m",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm-exec",
        Containers=[{"ModelPackageName": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn/3"}],
        Tags=[{"Key": "sagemaker-rollout:rollout-id", "Value": "r-1"}],
    )
    assert [n.action for n in needs] == [
        "sagemaker:CreateModel",
        "iam:PassRole",
        "sagemaker:DescribeModelPackage",
        "sagemaker:AddTags",
    ]
    assert needs[1].context == {"iam:passedtoservice": ("sagemaker.amazonaws.com",)}
    prepare = roles["PrepareTargetFunction"]
    assert all(prepare.decide(n) == "allow" for n in needs)
    other_role = Need("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", needs[1].context)
    assert prepare.decide(other_role) == "implicit"  # only the stack's execution role may be passed


def test_clean_up_deletes_only_what_a_rollout_tagged(roles):
    clean = roles["CleanUpFunction"]
    config = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/churn-prod-c-v1"
    tagged = Account(tags={config: {"sagemaker-rollout:rollout-id": "r-1"}})
    assert allowed(clean, "sagemaker:DeleteEndpointConfig", tagged, EndpointConfigName="churn-prod-c-v1") == [
        ("sagemaker:DeleteEndpointConfig", "allow")
    ]
    assert allowed(clean, "sagemaker:DeleteEndpointConfig", EndpointConfigName="churn-prod-c-v1") == [
        ("sagemaker:DeleteEndpointConfig", "implicit")
    ]


def test_registering_a_sagemaker_variant_needs_what_application_auto_scaling_documents():
    params = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/churn-prod/variant/v1",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    first = [n.action for n in checks("application-autoscaling:RegisterScalableTarget", **params)]
    assert first == [
        "application-autoscaling:RegisterScalableTarget",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "iam:CreateServiceLinkedRole",
    ]
    linked = Account(roles={"AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"})
    later = [n.action for n in checks("application-autoscaling:RegisterScalableTarget", linked, **params)]
    assert "iam:CreateServiceLinkedRole" not in later
    deregister = [n.action for n in checks("application-autoscaling:DeregisterScalableTarget", **params)]
    assert deregister[1:] == first[1:-1]


def test_a_kms_key_in_the_config_needs_a_grant_for_create_and_update(roles):
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"
    account = Account(keys={"c-v1": key})
    update = checks("sagemaker:UpdateEndpoint", account, EndpointName="churn-prod", EndpointConfigName="c-v1")
    assert [(n.action, n.resource) for n in update][-1] == ("kms:CreateGrant", key)
    assert update[-1].context["kms:viaservice"] == ("sagemaker.us-east-1.amazonaws.com",)
    create = checks("sagemaker:CreateEndpoint", account, EndpointName="churn-prod", EndpointConfigName="c-v1")
    assert create[-1].action == "kms:CreateGrant"
    assert all(roles["PromoteFunction"].decide(n) == "allow" for n in update)
    no_key = checks("sagemaker:UpdateEndpoint", EndpointName="churn-prod", EndpointConfigName="c-v1")
    assert [n.action for n in no_key] == ["sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpoint"]


def test_a_guarded_update_must_be_allowed_to_describe_its_rollback_alarms():
    needs = checks(
        "sagemaker:UpdateEndpoint",
        EndpointName="churn-prod",
        EndpointConfigName="c-v1",
        DeploymentConfig={"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-5xx"}]}},
    )
    assert (needs[-1].action, needs[-1].resource) == (
        "cloudwatch:DescribeAlarms",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:churn-5xx",
    )


def test_an_unknown_operation_is_refused_loudly():
    with pytest.raises(UnknownOperationError, match="local IAM does not know what sagemaker:ListModels needs"):
        checks("sagemaker:ListModels")


def test_a_template_local_iam_cannot_model_is_refused(template):
    broken = {**template, "Resources": {**template["Resources"]}}
    function = broken["Resources"]["ShiftTrafficFunction"]
    broken["Resources"]["ShiftTrafficFunction"] = {
        **function,
        "Properties": {**function["Properties"], "Policies": [{"NoSuchPolicyTemplate": {"X": "y"}}]},
    }
    names = {k: k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    refs = {**REFS, **names}
    with pytest.raises(IamModelError, match="unknown SAM policy template NoSuchPolicyTemplate"):
        roles_from_template(broken, lambda value: resolve(value, refs), "s", names)


def _cfn(value):
    """A YAML short-form intrinsic (!Sub, !Ref, !GetAtt) in the JSON form SAM's translator reads."""
    if isinstance(value, Tag):
        if value.name == "Ref":
            return {"Ref": value.value}
        argument = value.value.split(".", 1) if value.name == "GetAtt" and isinstance(value.value, str) else value.value
        return {f"Fn::{value.name}": _cfn(argument)}
    if isinstance(value, dict):
        return {k: _cfn(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cfn(v) for v in value]
    return value


def test_the_roles_are_the_ones_sam_itself_creates(template, roles, monkeypatch):
    """SAM's own translator (the authority) turns template.yaml into IAM roles: local IAM must build the same."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    cfn = _cfn(copy.deepcopy(template))
    for resource in cfn["Resources"].values():
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key"  # the translator wants what `sam package` uploads

    class NoManagedPolicies:
        def load(self):
            return {}

    translated = transform(cfn, {"SageMakerExecutionRoleArn": REFS["SageMakerExecutionRoleArn"]}, NoManagedPolicies())
    by_logical_id = {role.logical_id: role for role in roles.values()}
    for logical_id, local in by_logical_id.items():
        sam = translated["Resources"][f"{logical_id}Role"]["Properties"]
        managed = {arn.rsplit("/", 1)[-1] for arn in sam.get("ManagedPolicyArns", [])}
        assert managed == {
            s.source.split("/")[1].split("#")[0]
            for s in local.statements
            if "/Policies[" not in s.source and "/EventInvokeConfig" not in s.source
        }
        sam_actions = set()
        for policy in sam.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                sam_actions |= set(action if isinstance(action, list) else [action])
        # SAM writes its destination policies (EventInvokeConfig) among the role's Policies too
        local_actions = {
            a
            for s in local.statements
            if "/Policies[" in s.source or "/EventInvokeConfig" in s.source
            for a in s.actions
        }
        assert local_actions == sam_actions, logical_id
