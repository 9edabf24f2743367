"""Least privilege, statically: every SageMaker, CloudWatch, Auto Scaling, IAM, KMS, SSM and Step Functions action a
function's role holds is one its code can need.

What a function's code can call is read from the source: from the handler in ``functions/<name>/app.py`` through
every function of the ``rollout`` package it reaches, to the boto3 client methods of the ``rollout.aws`` adapters.
What each call can need comes from local IAM's own table (``iam_needs``), with every optional extra switched on.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from rollout_local.emulator.iam import roles_from_template
from rollout_local.emulator.iam_needs import Call, needs_for
from rollout_local.stack import load_template, resolve

from tests.helpers import IamAccount
from tests.unit.test_iam_roles import REFS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "rollout" / "rollout"
CHECKED_PREFIXES = ("sagemaker", "cloudwatch", "application-autoscaling", "iam", "kms", "ssm", "states")
BOTO_TO_IAM = {"stepfunctions": "states", "events": "events", "application-autoscaling": "application-autoscaling"}

# One call of each operation with every optional part present (tags, an execution role, a model package,
# rollback alarms, a SageMaker scalable target), so that its needs list every extra permission it can ask for.
EXAMPLES = {
    "sagemaker:DescribeEndpoint": {"EndpointName": "churn-prod"},
    "sagemaker:DescribeEndpointConfig": {"EndpointConfigName": "c"},
    "sagemaker:DescribeModel": {"ModelName": "m"},
    "sagemaker:DescribeModelPackage": {
        "ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    },
    "sagemaker:UpdateModelPackage": {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "ModelApprovalStatus": "Rejected",
    },
    "sagemaker:CreateModel": {
        "ModelName": "m",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sm-exec",
        "Containers": [{"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"}],
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    "sagemaker:CreateEndpointConfig": {
        "EndpointConfigName": "c",
        "ProductionVariants": [{"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.xlarge"}],
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    "sagemaker:CreateEndpoint": {
        "EndpointName": "churn-prod",
        "EndpointConfigName": "c",
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    "sagemaker:UpdateEndpoint": {
        "EndpointName": "churn-prod",
        "EndpointConfigName": "c",
        "DeploymentConfig": {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}},
    },
    "sagemaker:UpdateEndpointWeightsAndCapacities": {"EndpointName": "churn-prod"},
    "sagemaker:DeleteEndpoint": {"EndpointName": "churn-prod"},
    "sagemaker:DeleteEndpointConfig": {"EndpointConfigName": "c"},
    "sagemaker:DeleteModel": {"ModelName": "m"},
    "cloudwatch:DescribeAlarms": {"AlarmNames": ["a"]},
    "cloudwatch:DescribeAlarmHistory": {"AlarmName": "a"},
    "cloudwatch:GetMetricData": {},
    "cloudwatch:PutMetricAlarm": {"AlarmName": "a", "Tags": [{"Key": "k", "Value": "v"}]},
    "cloudwatch:DeleteAlarms": {"AlarmNames": ["a"]},
    "application-autoscaling:DescribeScalableTargets": {},
    "application-autoscaling:DescribeScalingPolicies": {},
    **{
        f"application-autoscaling:{op}": {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "endpoint/churn-prod/variant/v",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        }
        for op in ("RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy")
    },
    **{f"dynamodb:{op}": {"TableName": "t"} for op in ("GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query")},
    "sns:Publish": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
    "events:PutEvents": {"Entries": [{"Source": "s", "DetailType": "d"}]},
    "ssm:GetParameter": {"Name": "/p"},
    "states:SendTaskFailure": {},
    "states:DescribeExecution": {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-rollout-local-rollout:r"
    },
}
# Everything optional is there: a KMS key in every config, a scalable variant, no service-linked role yet.
EVERYTHING = IamAccount(keys={"c": "arn:aws:kms:us-east-1:123456789012:key/k"}, scalable={"churn-prod": ["v"]})


def _modules() -> dict[str, ast.Module]:
    return {
        "rollout." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): ast.parse(
            path.read_text()
        )
        for path in PACKAGE.rglob("*.py")
    }


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it names (``rollout.aws.sagemaker`` or ``rollout.steps.lock.acquire_lock``)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rollout"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, ast.FunctionDef))


BOTO = botocore.session.get_session()


def _operations(service: str) -> dict[str, str]:
    model = BOTO.get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def call_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per qualified function: the functions it reaches directly, and the AWS operations it calls directly."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for module, tree in modules.items():
        imported = _imports(tree)
        local = {f.name for f in _functions(tree)}
        services = {
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "client"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
        operations = {snake: f"{BOTO_TO_IAM.get(s, s)}:{op}" for s in services for snake, op in _operations(s).items()}
        for function in _functions(tree):
            name = f"{module}.{function.name}"
            edges[name], calls[name] = set(), set()
            for node in ast.walk(function):
                if isinstance(node, ast.Name) and node.id in local:
                    edges[name].add(f"{module}.{node.id}")
                elif isinstance(node, ast.Name) and node.id in imported:
                    edges[name].add(imported[node.id])
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
                    edges[name].add(f"{imported[node.value.id]}.{node.attr}")
                elif isinstance(node, ast.Attribute) and node.attr in operations:  # a client method
                    calls[name].add(operations[node.attr])
                elif isinstance(node, ast.Constant) and node.value in operations:  # _describe("describe_x"), paginators
                    calls[name].add(operations[node.value])
    return edges, calls


def operations_of(handler: Path, graph: tuple[dict[str, set[str]], dict[str, set[str]]]) -> set[str]:
    edges, calls = graph
    pending = list(_imports(ast.parse(handler.read_text())).values())
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending += edges.get(current, ())
    return set().union(*(calls.get(name, set()) for name in seen))


@pytest.fixture(scope="module")
def functions():
    template = load_template()
    names = {k: k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    refs = {**REFS, **names}
    roles = roles_from_template(template, lambda value: resolve(value, refs), "s", names)
    graph = call_graph()
    return {
        logical_id: (roles[logical_id], operations_of(ROOT / resource["Properties"]["CodeUri"] / "app.py", graph))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def needed_actions(operations: set[str]) -> set[str]:
    return {need.action for op in operations for need in needs_for(Call(op, EXAMPLES[op], EVERYTHING))}


def granted_actions(role) -> set[str]:
    """The actions the template's own Policies grant (SAM's managed policies are not the template's choice)."""
    return {
        action
        for statement in role.statements
        if statement.effect == "Allow" and "/Policies[" in statement.source
        for action in statement.actions
        if action.split(":", 1)[0].lower() in CHECKED_PREFIXES
    }


def test_the_source_reading_finds_what_a_function_calls(functions):
    _, shift = functions["ShiftTrafficFunction"]
    assert {"sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"} <= shift
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" in shift
    assert "sns:Publish" in shift and "events:PutEvents" in shift
    _, promote = functions["PromoteFunction"]
    assert "application-autoscaling:RegisterScalableTarget" in promote
    assert "application-autoscaling:DescribeScalableTargets" not in promote  # only Snapshot Endpoint reads scaling


def test_every_operation_a_function_calls_is_known_to_local_iam(functions):
    called = set().union(*(operations for _, operations in functions.values()))
    assert called <= set(EXAMPLES), sorted(called - set(EXAMPLES))


def test_no_function_holds_an_action_its_code_never_needs(functions):
    unused = {}
    for logical_id, (role, operations) in functions.items():
        extra = {a for a in granted_actions(role) if a.lower() not in {n.lower() for n in needed_actions(operations)}}
        if extra:
            unused[logical_id] = sorted(extra)
    assert unused == {}
