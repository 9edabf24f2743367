"""What each AWS call needs from IAM: the actions, the resources they are checked on, and the condition keys.

One builder per operation the service (or the state machine's interpreter) calls, keyed ``<iam prefix>:<Operation>``.
Each returns the checks in the order AWS reports them: the operation's own action first, then the extra
permissions AWS documents for that call. Sources (``docs/`` means the AWS documentation):
- resource types per action: the Service Authorization Reference (SAR) tables for each service;
- ``sagemaker:AddTags`` when a Create* call carries ``Tags``: SAR "dependent actions" of CreateModel,
  CreateEndpointConfig and CreateEndpoint; ``iam:PassRole`` with ``iam:PassedToService`` for an execution role:
  SAR and botocore's ExecutionRoleArn text; ``sagemaker:DescribeModelPackage`` for a model built from a registry
  package (project fact file);
- ``kms:CreateGrant`` on the config's key for CreateEndpoint (SageMaker API permissions reference: "required only
  if the associated EndpointConfig has a KmsKeyId specified"); for UpdateEndpoint too, because botocore's KmsKeyId
  text says the key policy must grant the role used in "CreateEndpoint, UpdateEndpoint requests" (stricter);
- ``cloudwatch:DescribeAlarms`` on the auto-rollback alarms of a guarded UpdateEndpoint (SageMaker guardrails
  docs: "Ensure that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on
  the auto-rollback alarms you specify");
- ``cloudwatch:TagResource`` for PutMetricAlarm with ``Tags`` (botocore's PutMetricAlarm Tags text);
- Application Auto Scaling on a SageMaker variant: ``sagemaker:DescribeEndpoint``, ``DescribeEndpointConfig``,
  ``UpdateEndpointWeightsAndCapacities``, ``cloudwatch:PutMetricAlarm``, ``DescribeAlarms``, ``DeleteAlarms``
  (SageMaker "Auto scaling prerequisites") and ``iam:CreateServiceLinkedRole`` while the account has no
  ``AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`` (Application Auto Scaling user guide).
  AWS checks DescribeEndpointConfig on an internal config with a generated name (CloudTrail records such denials
  on ``endpoint-config/<uuid>``), so it is checked here on a generated name too; the alarms on the
  target-tracking alarms Application Auto Scaling names ``TargetTracking-<resource id>-Alarm...``;
- ``dynamodb:LeadingKeys`` (the partition key value of an item request or a Query's key condition; absent for a
  Scan): DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control";
- DeleteEndpoint of a variant still registered as a scalable target: SageMaker requires the caller to hold
  ``application-autoscaling:DeregisterScalableTarget`` (its ValidationException says so).
An operation missing here is refused loudly (``UnknownOperationError``): local mode never allows a call it cannot
judge.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rollout_local.emulator.sagemaker import ACCOUNT, REGION

SAGEMAKER_SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SAGEMAKER_SCALING_ROLE = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
ANY = "*"  # the resource of an action that has no resource type: only a statement with Resource "*" allows it


class UnknownOperationError(RuntimeError):
    """Local IAM was asked about a call it has no entry for (add the operation to ``iam_needs``)."""


@dataclass(frozen=True)
class Need:
    """One IAM check: ``action`` on ``resource`` with these request condition keys (lower-case names)."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class Account(Protocol):
    """What a check needs to know about the emulated account (resource tags, configs, roles)."""

    def resource_tags(self, arn: str) -> dict[str, str]: ...

    def endpoint_config(self, endpoint: str) -> str | None: ...

    def config_kms_key(self, config: str) -> str | None: ...

    def scalable_variants(self, endpoint: str) -> list[str]: ...

    def service_linked_role_exists(self, role_name: str) -> bool: ...

    def kms_key_arn(self, key_id: str) -> str: ...

    def table_hash_key(self, table: str) -> str: ...


@dataclass(frozen=True)
class Call:
    """One request: its operation (``prefix:Operation``), its parameters, and the account it runs in."""

    operation: str
    params: dict[str, Any]
    account: Account


Builder = Callable[[Call], list[Need]]
OPERATIONS: dict[str, Builder] = {}


def needs_for(call: Call) -> list[Need]:
    """The checks ``call`` must pass, primary action first."""
    builder = OPERATIONS.get(call.operation)
    if builder is None:
        raise UnknownOperationError(f"local IAM does not know what {call.operation} needs")
    return builder(call)


def _register(*operations: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for operation in operations:
            OPERATIONS[operation] = builder
        return builder

    return register


def _action(call: Call) -> str:
    return call.operation  # the IAM action is named like the operation for most calls


# --- ARNs, as each service builds them -------------------------------------------------------------------


def sagemaker_arn(kind: str, name: str) -> str:
    """SageMaker lower-cases resource names in its ARNs (IAM then matches them case-sensitively)."""
    if name.startswith("arn:"):
        prefix, _, resource = name.partition(f":{kind}/")
        return f"{prefix}:{kind}/{resource.lower()}" if resource else name
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


def scalable_target_arn(namespace: str, resource_id: str, dimension: str) -> str:
    """Application Auto Scaling names targets by an opaque id; a stable one derived from the target here."""
    digest = hashlib.sha256(f"{namespace}|{resource_id}|{dimension}".encode()).hexdigest()[:36]
    return f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/{digest}"


def _generated_name(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def _tags_context(tags: list[dict[str, str]] | None) -> dict[str, tuple[str, ...]]:
    """aws:RequestTag/<key> and aws:TagKeys for a request that carries tags."""
    if not tags:
        return {}
    context: dict[str, tuple[str, ...]] = {"aws:tagkeys": tuple(t["Key"] for t in tags)}
    for tag in tags:
        context[f"aws:requesttag/{tag['Key'].lower()}"] = (tag["Value"],)
    return context


def _resource_tags(call: Call, arn: str) -> dict[str, tuple[str, ...]]:
    return {f"aws:resourcetag/{key.lower()}": (value,) for key, value in call.account.resource_tags(arn).items()}


# --- S3 (pre-traffic verification reads captured requests) -------------------------------------------------


@_register("s3:ListObjectsV2", "s3:ListObjects")
def _s3_list(call: Call) -> list[Need]:
    """Listing a bucket is s3:ListBucket on the bucket (SAR: ListObjectsV2 -> s3:ListBucket)."""
    return [Need("s3:ListBucket", f"arn:aws:s3:::{call.params['Bucket']}")]


@_register("s3:GetObject")
def _s3_get(call: Call) -> list[Need]:
    return [Need("s3:GetObject", f"arn:aws:s3:::{call.params['Bucket']}/{call.params['Key']}")]


# --- SageMaker -------------------------------------------------------------------------------------------


@_register("sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:InvokeEndpoint")
def _endpoint_action(call: Call) -> list[Need]:
    arn = sagemaker_arn("endpoint", call.params["EndpointName"])
    return [Need(_action(call), arn, _resource_tags(call, arn))]


@_register("sagemaker:DeleteEndpoint")
def _delete_endpoint(call: Call) -> list[Need]:
    name = call.params["EndpointName"]
    arn = sagemaker_arn("endpoint", name)
    checks = [Need(_action(call), arn, _resource_tags(call, arn))]
    for variant in call.account.scalable_variants(name):
        target = scalable_target_arn("sagemaker", f"endpoint/{name}/variant/{variant}", SCALING_DIMENSION)
        checks.append(Need("application-autoscaling:DeregisterScalableTarget", target, _scaling_context()))
    return checks


@_register("sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig")
def _config_action(call: Call) -> list[Need]:
    arn = sagemaker_arn("endpoint-config", call.params["EndpointConfigName"])
    return [Need(_action(call), arn, _resource_tags(call, arn))]


@_register("sagemaker:DescribeModel", "sagemaker:DeleteModel")
def _model_action(call: Call) -> list[Need]:
    arn = sagemaker_arn("model", call.params["ModelName"])
    return [Need(_action(call), arn, _resource_tags(call, arn))]


@_register("sagemaker:DescribeModelPackage")
def _describe_package(call: Call) -> list[Need]:
    arn = sagemaker_arn("model-package", call.params["ModelPackageName"])
    return [Need(_action(call), arn, _resource_tags(call, arn))]


@_register("sagemaker:UpdateModelPackage")
def _update_package(call: Call) -> list[Need]:
    arn = sagemaker_arn("model-package", call.params["ModelPackageArn"])
    context = _resource_tags(call, arn)
    if "ModelApprovalStatus" in call.params:
        context["sagemaker:modelapprovalstatus"] = (call.params["ModelApprovalStatus"],)
    return [Need(_action(call), arn, context)]


def _pass_role(role_arn: str) -> Need:
    return Need("iam:PassRole", role_arn, {"iam:passedtoservice": ("sagemaker.amazonaws.com",)})


def _add_tags(arn: str, tags: list[dict[str, str]] | None) -> list[Need]:
    return [Need("sagemaker:AddTags", arn, _tags_context(tags))] if tags else []


@_register("sagemaker:CreateModel")
def _create_model(call: Call) -> list[Need]:
    p = call.params
    arn = sagemaker_arn("model", p["ModelName"])
    checks = [Need(_action(call), arn, _tags_context(p.get("Tags")))]
    if p.get("ExecutionRoleArn"):
        checks.append(_pass_role(p["ExecutionRoleArn"]))
    containers = p.get("Containers") or ([p["PrimaryContainer"]] if "PrimaryContainer" in p else [])
    for container in containers:
        if container.get("ModelPackageName"):
            package = sagemaker_arn("model-package", container["ModelPackageName"])
            checks.append(Need("sagemaker:DescribeModelPackage", package, _resource_tags(call, package)))
    return checks + _add_tags(arn, p.get("Tags"))


@_register("sagemaker:CreateEndpointConfig")
def _create_config(call: Call) -> list[Need]:
    p = call.params
    arn = sagemaker_arn("endpoint-config", p["EndpointConfigName"])
    variants = [*p.get("ProductionVariants", []), *p.get("ShadowProductionVariants", [])]
    context = _tags_context(p.get("Tags"))
    types = tuple(v["InstanceType"] for v in variants if v.get("InstanceType"))
    if types:
        context["sagemaker:instancetypes"] = types
    context["sagemaker:modelarn"] = tuple(sagemaker_arn("model", v["ModelName"]) for v in variants)
    if p.get("KmsKeyId"):
        context["sagemaker:volumekmskey"] = (p["KmsKeyId"],)
    checks = [Need(_action(call), arn, context)]
    if p.get("ExecutionRoleArn"):
        checks.append(_pass_role(p["ExecutionRoleArn"]))
    return checks + _add_tags(arn, p.get("Tags"))


def _kms_grant(call: Call, config: str) -> list[Need]:
    key = call.account.config_kms_key(config)
    if not key:
        return []
    context = {
        "kms:viaservice": (f"sagemaker.{REGION}.amazonaws.com",),
        "kms:grantisforawsresource": ("true",),
        "kms:calleraccount": (ACCOUNT,),
    }
    return [Need("kms:CreateGrant", call.account.kms_key_arn(key), context)]


@_register("sagemaker:CreateEndpoint")
def _create_endpoint(call: Call) -> list[Need]:
    p = call.params
    arn = sagemaker_arn("endpoint", p["EndpointName"])
    config = sagemaker_arn("endpoint-config", p["EndpointConfigName"])
    checks = [
        Need(_action(call), arn, _tags_context(p.get("Tags"))),
        Need(_action(call), config, _resource_tags(call, config)),
    ]
    return checks + _kms_grant(call, p["EndpointConfigName"]) + _add_tags(arn, p.get("Tags"))


@_register("sagemaker:UpdateEndpoint")
def _update_endpoint(call: Call) -> list[Need]:
    p = call.params
    arn = sagemaker_arn("endpoint", p["EndpointName"])
    config = sagemaker_arn("endpoint-config", p["EndpointConfigName"])
    checks = [
        Need(_action(call), arn, _resource_tags(call, arn)),
        Need(_action(call), config, _resource_tags(call, config)),
    ]
    alarms = ((p.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    checks += [Need("cloudwatch:DescribeAlarms", alarm_arn(a["AlarmName"])) for a in alarms]
    return checks + _kms_grant(call, p["EndpointConfigName"])


# --- CloudWatch ------------------------------------------------------------------------------------------


def _alarm_names(call: Call, key: str) -> list[str]:
    value = call.params.get(key)
    return [value] if isinstance(value, str) else list(value or [])


@_register("cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")
def _alarms(call: Call) -> list[Need]:
    names = _alarm_names(call, "AlarmNames")
    if not names:  # the list form covers every alarm of the account
        return [Need(_action(call), alarm_arn("*"))]
    return [Need(_action(call), alarm_arn(name)) for name in names]


@_register("cloudwatch:DescribeAlarmHistory")
def _alarm_history(call: Call) -> list[Need]:
    names = _alarm_names(call, "AlarmName")
    return [Need(_action(call), alarm_arn(name)) for name in names] or [Need(_action(call), alarm_arn("*"))]


@_register("cloudwatch:PutMetricAlarm")
def _put_alarm(call: Call) -> list[Need]:
    arn = alarm_arn(call.params["AlarmName"])
    tags = call.params.get("Tags")
    checks = [Need(_action(call), arn, _tags_context(tags))]
    if tags:
        checks.append(Need("cloudwatch:TagResource", arn, _tags_context(tags)))
    return checks


@_register("cloudwatch:GetMetricData", "cloudwatch:PutMetricData", "cloudwatch:GetMetricStatistics")
def _no_resource(call: Call) -> list[Need]:
    return [Need(_action(call), ANY)]


# --- Application Auto Scaling ----------------------------------------------------------------------------

SCALING_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _scaling_context(namespace: str = "sagemaker", dimension: str = SCALING_DIMENSION) -> dict[str, tuple[str, ...]]:
    return {
        "application-autoscaling:service-namespace": (namespace,),
        "application-autoscaling:scalable-dimension": (dimension,),
    }


@_register("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies")
def _scaling_describe(call: Call) -> list[Need]:
    return [Need(_action(call), ANY)]


@_register(
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
)
def _scaling_write(call: Call) -> list[Need]:
    p = call.params
    namespace, resource_id, dimension = p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]
    target = scalable_target_arn(namespace, resource_id, dimension)
    checks = [Need(_action(call), target, _scaling_context(namespace, dimension))]
    if namespace != "sagemaker" or not resource_id.startswith("endpoint/"):
        return checks
    endpoint, variant = resource_id.split("/")[1], resource_id.rsplit("/", 1)[-1]
    endpoint_arn = sagemaker_arn("endpoint", endpoint)
    checks += [
        Need("sagemaker:DescribeEndpoint", endpoint_arn),
        Need("sagemaker:DescribeEndpointConfig", sagemaker_arn("endpoint-config", _generated_name(resource_id))),
        Need("sagemaker:UpdateEndpointWeightsAndCapacities", endpoint_arn),
    ]
    for action in ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"):
        suffix = _generated_name(f"{resource_id}|{action}")
        checks.append(
            Need(action, alarm_arn(f"TargetTracking-endpoint/{endpoint}/variant/{variant}-AlarmHigh-{suffix}"))
        )
    if call.operation.endswith("RegisterScalableTarget") and not call.account.service_linked_role_exists(
        SAGEMAKER_SCALING_ROLE
    ):
        role = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{SAGEMAKER_SCALING_SERVICE}/{SAGEMAKER_SCALING_ROLE}"
        checks.append(Need("iam:CreateServiceLinkedRole", role, {"iam:awsservicename": (SAGEMAKER_SCALING_SERVICE,)}))
    return checks


# --- DynamoDB, SNS, EventBridge, SSM, Step Functions, Lambda ---------------------------------------------


@_register(
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
)
def _table(call: Call) -> list[Need]:
    table = call.params["TableName"]
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    if call.operation in ("dynamodb:Scan", "dynamodb:DescribeTable"):
        return [Need(_action(call), arn)]  # no partition key: dynamodb:LeadingKeys is absent
    leading = _leading_key(call, call.account.table_hash_key(table))
    return [Need(_action(call), arn, {"dynamodb:leadingkeys": (leading,)})]


def _attribute_text(value: Mapping[str, Any]) -> str:
    """A key attribute's value as IAM compares it (S, N or B, as sent)."""
    (_kind, text), *_ = value.items()
    return str(text)


def _leading_key(call: Call, hash_key: str) -> str:
    """dynamodb:LeadingKeys: the partition key value the request names (Key, Item, or the Query's key condition)."""
    p = call.params
    if call.operation == "dynamodb:Query":
        names = p.get("ExpressionAttributeNames") or {}
        for name, placeholder in re.findall(r"(#?[\w.-]+)\s*=\s*(:[\w]+)", p.get("KeyConditionExpression", "")):
            if names.get(name, name) == hash_key and placeholder in (p.get("ExpressionAttributeValues") or {}):
                return _attribute_text(p["ExpressionAttributeValues"][placeholder])
        raise UnknownOperationError(f"local IAM cannot read the partition key of {p.get('KeyConditionExpression')!r}")
    key = p.get("Key") or p.get("Item") or {}
    if hash_key not in key:
        raise UnknownOperationError(f"local IAM cannot read the partition key of this {call.operation}")
    return _attribute_text(key[hash_key])


@_register("sns:Publish")
def _publish(call: Call) -> list[Need]:
    topic = call.params.get("TopicArn") or call.params.get("TargetArn") or ""
    return [Need(_action(call), topic)]


@_register("events:PutEvents")
def _put_events(call: Call) -> list[Need]:
    entries = call.params.get("Entries", [])
    checks = []
    for bus in dict.fromkeys(e.get("EventBusName") or "default" for e in entries):
        arn = bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
        on_bus = [e for e in entries if (e.get("EventBusName") or "default") == bus]
        context = {
            "events:source": tuple(e.get("Source", "") for e in on_bus),
            "events:detail-type": tuple(e.get("DetailType", "") for e in on_bus),
        }
        checks.append(Need(_action(call), arn, context))
    return checks


@_register("ssm:GetParameter")
def _parameter(call: Call) -> list[Need]:
    name = call.params["Name"]
    return [Need(_action(call), f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}")]


@_register("states:SendTaskFailure", "states:SendTaskSuccess", "states:SendTaskHeartbeat")
def _task_token(call: Call) -> list[Need]:
    return [Need(_action(call), ANY)]  # the token is the authority: these actions have no resource type


@_register("states:StartExecution")
def _start_execution(call: Call) -> list[Need]:
    return [Need(_action(call), call.params["stateMachineArn"])]


@_register("states:DescribeExecution", "states:StopExecution", "states:GetExecutionHistory")
def _execution(call: Call) -> list[Need]:
    return [Need(_action(call), call.params["executionArn"])]


@_register("states:ListExecutions")
def _list_executions(call: Call) -> list[Need]:
    return [Need(_action(call), call.params["stateMachineArn"])]  # resource type: stateMachine


@_register("lambda:Invoke")
def _invoke(call: Call) -> list[Need]:
    name = call.params["FunctionName"]
    arn = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if call.params.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{call.params['Qualifier']}"
    return [Need("lambda:InvokeFunction", arn)]


@_register("sts:GetCallerIdentity")
def _whoami(call: Call) -> list[Need]:
    return []  # no permission is needed to ask who you are
