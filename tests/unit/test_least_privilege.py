"""Least privilege, statically: every SageMaker, CloudWatch, Auto Scaling, IAM, KMS, SSM, Step Functions, DynamoDB, SNS
and EventBridge action a function's role holds is one its code can need, and every table grant is limited to the
partition keys (``dynamodb:LeadingKeys``) its code uses.

What a function's code can call is read from the source: from the handler in ``functions/<name>/app.py`` through
every function of the ``rollout`` package it reaches, to the boto3 client methods of the ``rollout.aws`` adapters.
What each call can need comes from local IAM's own table (``iam_needs``), with every optional extra switched on.
"""

import ast
import re
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
CHECKED_PREFIXES = (
    "sagemaker",
    "cloudwatch",
    "application-autoscaling",
    "iam",
    "kms",
    "ssm",
    "states",
    "dynamodb",
    "sns",
    "events",
)
BOTO_TO_IAM = {
    "stepfunctions": "states",
    "events": "events",
    "application-autoscaling": "application-autoscaling",
    "sagemaker-runtime": "sagemaker",
}

# One call of each operation with every optional part present (tags, an execution role, a model package,
# rollback alarms, a SageMaker scalable target), so that its needs list every extra permission it can ask for.
EXAMPLES = {
    "sagemaker:DescribeEndpoint": {"EndpointName": "churn-prod"},
    "sagemaker:InvokeEndpoint": {"EndpointName": "churn-prod"},
    "s3:ListObjectsV2": {"Bucket": "churn-captures", "Key": ""},
    "s3:GetObject": {"Bucket": "churn-captures", "Key": "datacapture/churn-prod/blue/2026/01/05/09/00-00-000-x.jsonl"},
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
    **{
        f"dynamodb:{op}": {"TableName": "t", "Key": {"pk": {"S": "K#1"}}}
        for op in ("GetItem", "DeleteItem", "UpdateItem")
    },
    "dynamodb:PutItem": {"TableName": "t", "Item": {"pk": {"S": "K#1"}}},
    "dynamodb:Query": {
        "TableName": "t",
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "K#1"}},
    },
    "sns:Publish": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
    "events:PutEvents": {"Entries": [{"Source": "s", "DetailType": "d"}]},
    "ssm:GetParameter": {"Name": "/p"},
    "states:SendTaskFailure": {},
    "states:SendTaskSuccess": {},
    "states:DescribeExecution": {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:sagemaker-rollout-local-rollout:r"
    },
    "states:StartExecution": {
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sagemaker-rollout-local-rollout"
    },
    "states:ListExecutions": {
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sagemaker-rollout-local-rollout"
    },
    "states:GetExecutionHistory": {
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


KEY_PREFIX = re.compile(r"^([A-Z]+#)")


PARTITION_KEYS = {"pk", ":pk"}  # the table's partition key, and the placeholder its queries name it by


def _constants(node: ast.AST) -> set[str]:
    found = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            match = KEY_PREFIX.match(inner.value)
            if match:
                found.add(match.group(1))
    return found


def _key_prefixes(function: ast.FunctionDef) -> set[str]:
    """The partition key prefixes (``ENDPOINT#``, ``ALARM#``...) a function builds: values given to ``pk`` (or
    ``:pk``), and everything ``_pk`` returns."""
    if function.name == "_pk":
        return _constants(function)
    found: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in PARTITION_KEYS:
                    found |= _constants(value)
    return found


def table_pairs() -> dict[str, set[tuple[str, str]]]:
    """Per function of the table adapter: the (DynamoDB action, partition key prefix) pairs it can use - its own
    operations with the prefixes of the keys it and its private helpers build."""
    tree = _modules()["rollout.aws.table"]
    functions = {f.name: f for f in _functions(tree)}
    _, calls = call_graph()
    prefixes: dict[str, set[str]] = {}

    def reach(name: str, seen: set[str]) -> set[str]:
        if name in seen:
            return set()
        seen.add(name)
        own = _key_prefixes(functions[name])
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Name) and node.id in functions and node.id.startswith("_"):
                own |= reach(node.id, seen)
        return own

    for name in functions:
        prefixes[name] = reach(name, set())
    pairs = {}
    for name in functions:
        seen: set[str] = set()
        reach(name, seen)  # the private helpers it uses make its calls too (``_take_lease``)
        operations = set().union(*(calls.get(f"rollout.aws.table.{f}", set()) for f in seen))
        pairs[f"rollout.aws.table.{name}"] = {
            (op, prefix) for op in operations if op.startswith("dynamodb:") for prefix in prefixes[name]
        }
    return pairs


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
        # a module-level table of functions (``ACTIONS = {"approve": approve}``) reaches every function it names
        tables = {
            target.id: {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name) and n.id in local}
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        for function in _functions(tree):
            name = f"{module}.{function.name}"
            edges[name], calls[name] = set(), set()
            for node in ast.walk(function):
                if isinstance(node, ast.Name) and node.id in local:
                    edges[name].add(f"{module}.{node.id}")
                elif isinstance(node, ast.Name) and tables.get(node.id):
                    edges[name] |= {f"{module}.{f}" for f in tables[node.id]}
                elif isinstance(node, ast.Name) and node.id in imported:
                    edges[name].add(imported[node.id])
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
                    edges[name].add(f"{imported[node.value.id]}.{node.attr}")
                elif isinstance(node, ast.Attribute) and node.attr in operations:  # a client method
                    calls[name].add(operations[node.attr])
                elif isinstance(node, ast.Constant) and node.value in operations:  # _describe("describe_x"), paginators
                    calls[name].add(operations[node.value])
    return edges, calls


def reachable(handler: Path, graph: tuple[dict[str, set[str]], dict[str, set[str]]]) -> set[str]:
    """Every function of the layer a handler can reach."""
    edges, _ = graph
    pending = list(_imports(ast.parse(handler.read_text())).values())
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending += edges.get(current, ())
    return seen


def operations_of(handler: Path, graph: tuple[dict[str, set[str]], dict[str, set[str]]]) -> set[str]:
    _, calls = graph
    return set().union(*(calls.get(name, set()) for name in reachable(handler, graph)))


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


LEADING_KEYS = "dynamodb:leadingkeys"


def table_grants(role) -> set[tuple[str, str]]:
    """(action, partition key pattern) pairs the template's own statements grant on the table."""
    grants = set()
    for statement in role.statements:
        if statement.effect != "Allow" or "/Policies[" not in statement.source:
            continue
        actions = [a for a in statement.actions if a.lower().startswith("dynamodb:")]
        if not actions:
            continue
        patterns = [v for c in statement.conditions if c.key == LEADING_KEYS for v in c.values]
        assert patterns and all(c.operator == "ForAllValues:StringLike" for c in statement.conditions), (
            f"{statement.source}: a table grant without a dynamodb:LeadingKeys condition"
        )
        grants |= {(action, pattern) for action in actions for pattern in patterns}
    return grants


def test_every_table_grant_is_limited_to_partition_keys_the_functions_code_uses(functions):
    graph, pairs = call_graph(), table_pairs()
    template = load_template()
    unused = {}
    for logical_id, (role, _operations) in functions.items():
        handler = ROOT / template["Resources"][logical_id]["Properties"]["CodeUri"] / "app.py"
        used = set().union(*(pairs.get(f, set()) for f in reachable(handler, graph)))
        extra = {
            (action, pattern)
            for action, pattern in table_grants(role)
            if not any(action.lower() == op.lower() and pattern == f"{prefix}*" for op, prefix in used)
        }
        if extra:
            unused[logical_id] = sorted(extra)
    assert unused == {}


def test_the_key_reading_finds_which_partitions_a_function_uses(functions):
    graph, pairs = call_graph(), table_pairs()
    handler = ROOT / "functions" / "acquire_lock" / "app.py"
    used = set().union(*(pairs.get(f, set()) for f in reachable(handler, graph)))
    assert ("dynamodb:PutItem", "PACKAGE#") in used and ("dynamodb:Query", "ENDPOINT#") in used
    assert ("dynamodb:DeleteItem", "PACKAGE#") not in used, "only Release Lock forgets a package's rollouts"
