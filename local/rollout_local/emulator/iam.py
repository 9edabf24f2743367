"""IAM in local mode: the roles template.yaml gives each function and the state machine, enforced on every call.

- Roles are built as SAM builds them: each function gets AWSLambdaBasicExecutionRole, the X-Ray write policy when
  tracing is on, and every entry of its ``Policies`` (inline statements, AWS managed policies, SAM policy templates
  expanded by aws-sam-translator's own processor from its ``policy_templates.json``); the state machine gets its
  ``Policies`` and the X-Ray policy when tracing is enabled. Anything SAM would add that local mode does not model
  (VPC access, dead-letter queues, stream event sources, an existing ``Role``) is refused, never ignored.
- Evaluation follows IAM's logic for identity-based policies (``iam_policy``).
- What each call needs comes from ``iam_needs``; a denied call gets the error the service returns, with AWS's
  message, so the handler and the state machine see exactly what they would see on AWS.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from rollout_local.emulator.iam_needs import (
    SAGEMAKER_SCALING_ROLE,
    SAGEMAKER_SCALING_SERVICE,
    SCALING_DIMENSION,
    Call,
    UnknownOperationError,
    needs_for,
)
from rollout_local.emulator.iam_policy import IamModelError, Role, Statement, parse_policy
from rollout_local.emulator.sagemaker import ACCOUNT, REGION, SageMakerEmulator

STATE_MACHINE = "states"  # the principal of the state machine's own calls (its service integrations)

# botocore names services in its event names after the service id; IAM names them by their prefix.
IAM_PREFIXES = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",  # InvokeEndpoint is sagemaker:InvokeEndpoint
    "cloudwatch": "cloudwatch",
    "application-auto-scaling": "application-autoscaling",
    "sfn": "states",
    "eventbridge": "events",
    "sns": "sns",
    "ssm": "ssm",
    "dynamodb": "dynamodb",
    "lambda": "lambda",
    "iam": "iam",
    "sts": "sts",
    "kms": "kms",
    "s3": "s3",
}
# How each service answers a denied request: (error code, HTTP status, extra headers). Query-protocol services
# (SNS, IAM, STS) answer in XML; CloudWatch speaks JSON but keeps its query-era code through x-amzn-query-error.
DENIAL_SHAPES: dict[str, tuple[str, int, dict[str, str]]] = {
    "sns": ("AuthorizationError", 403, {}),
    "iam": ("AccessDenied", 403, {}),
    "sts": ("AccessDenied", 403, {}),
    "cloudwatch": ("AccessDenied", 403, {"x-amzn-query-error": "AccessDenied;Sender"}),
    "lambda": ("AccessDeniedException", 403, {}),
}
DEFAULT_DENIAL: tuple[str, int, dict[str, str]] = ("AccessDeniedException", 400, {})
MESSAGE_PREFIX = {"sns": "SNS"}  # SNS writes its own prefix in upper case in the message ("SNS:Publish")
# Event sources whose SAM expansion adds nothing to the function's role (they grant on the function instead).
ROLE_NEUTRAL_EVENTS = frozenset({"EventBridgeRule", "CloudWatchEvent", "Schedule", "SNS", "Api", "HttpApi"})


@dataclass(frozen=True)
class Denial:
    """A refused call, worded as AWS words it."""

    service: str
    operation: str
    principal: str
    action: str
    resource: str
    explicit: bool

    @property
    def message(self) -> str:
        prefix, _, name = self.action.partition(":")
        shown = f"{MESSAGE_PREFIX.get(prefix, prefix)}:{name}"
        on = "" if self.resource == "*" else f" on resource: {self.resource}"
        why = (
            "with an explicit deny in an identity-based policy"
            if self.explicit
            else f"because no identity-based policy allows the {shown} action"
        )
        return f"User: {self.principal} is not authorized to perform: {shown}{on} {why}"

    @property
    def shape(self) -> tuple[str, int, dict[str, str]]:
        return DENIAL_SHAPES.get(self.service, DEFAULT_DENIAL)


# --- roles from template.yaml ----------------------------------------------------------------------------


@cache
def _managed_policies() -> dict[str, Any]:
    """AWS managed policies by name, as moto ships them (imported from AWS)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    loaded: dict[str, Any] = json.loads(aws_managed_policies_data)
    return loaded


@cache
def _policy_templates() -> Any:
    try:
        from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor
    except ImportError as exc:  # pragma: no cover - a dev install has it
        raise IamModelError("local IAM needs aws-sam-translator (pip install -e '.[dev]')") from exc
    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def managed_policy(name_or_arn: str, source: str) -> tuple[Statement, ...]:
    name = name_or_arn.rsplit("/", 1)[-1]
    found = _managed_policies().get(name)
    if found is None:
        raise IamModelError(f"{source}: unknown AWS managed policy {name_or_arn}")
    return parse_policy(found["Document"], f"{source}/{name}")


def policy_template(name: str, parameters: Mapping[str, Any], resolve: Callable[[Any], Any], source: str) -> Any:
    """A SAM policy template expanded by SAM's own processor, intrinsics resolved."""
    processor = _policy_templates()
    if not processor.has(name):
        raise IamModelError(f"{source}: unknown SAM policy template {name}")
    values = {key: resolve(value) for key, value in (parameters or {}).items()}
    try:
        return resolve(processor.convert(name, values))
    except Exception as exc:  # InsufficientParameterValues, InvalidParameterValues
        raise IamModelError(f"{source}: {name}: {exc}") from exc


def role_statements(
    logical_id: str, props: Mapping[str, Any], managed: list[str], resolve: Callable[[Any], Any]
) -> tuple[Statement, ...]:
    """Managed policies first, then each ``Policies`` entry, in template order."""
    statements: list[Statement] = []
    for name in managed:
        statements += managed_policy(name, f"{logical_id}Role")
    entries = props.get("Policies") or []
    for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        source = f"{logical_id}Role/Policies[{index}]"
        if isinstance(entry, str):
            statements += managed_policy(entry, source)
        elif isinstance(entry, dict) and "Statement" in entry:
            statements += parse_policy(resolve(entry), source)
        elif isinstance(entry, dict) and len(entry) == 1:
            (name, parameters), *_ = entry.items()
            statements += parse_policy(policy_template(name, parameters, resolve, source), f"{source}/{name}")
        else:
            raise IamModelError(f"{source}: local IAM cannot read this Policies entry: {entry!r}")
    return tuple(statements)


def _destination_statements(
    logical_id: str, props: Mapping[str, Any], resolve: Callable[[Any], Any]
) -> tuple[Statement, ...]:
    """What SAM adds to a function's role for its EventInvokeConfig destinations (its own policy builder)."""
    from samtranslator.model.iam import IAMRolePolicies

    statements: list[Statement] = []
    config = (props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}
    for kind in ("OnSuccess", "OnFailure"):
        destination = config.get(kind)
        if not destination:
            continue
        if destination.get("Type") != "SQS" or "Destination" not in destination:
            raise IamModelError(f"{logical_id}: local IAM models SQS destinations with a Destination ARN only")
        policy = IAMRolePolicies.sqs_send_message_role_policy(resolve(destination["Destination"]), logical_id + kind)
        statements += parse_policy(policy["PolicyDocument"], f"{logical_id}Role/EventInvokeConfig.{kind}")
    return tuple(statements)


def role_name(stack: str, logical_id: str) -> str:
    """The name CloudFormation gives the role SAM creates for ``logical_id``: stack-<id>Role-RANDOM (max 64)."""
    suffix = hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest()[:12].upper()
    room = 64 - len(suffix) - len("--Role")
    head = f"{stack}-{logical_id}"[:room]
    return f"{head}Role-{suffix}"


def roles_from_template(
    template: Mapping[str, Any], resolve: Callable[[Any], Any], stack: str, function_names: Mapping[str, str]
) -> dict[str, Role]:
    """Every role SAM would create, keyed by principal: the function's name, or ``STATE_MACHINE``."""
    globals_ = template.get("Globals", {})
    roles: dict[str, Role] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            props = {**globals_.get("Function", {}), **resource.get("Properties", {})}
            for unsupported in ("Role", "VpcConfig", "DeadLetterQueue", "DurableConfig", "PermissionsBoundary"):
                if props.get(unsupported):
                    raise IamModelError(f"{logical_id}: local IAM does not model a function's {unsupported}")
            for event in (props.get("Events") or {}).values():
                if event.get("Type") not in ROLE_NEUTRAL_EVENTS:
                    raise IamModelError(f"{logical_id}: local IAM does not model {event.get('Type')} event sources")
            managed = ["AWSLambdaBasicExecutionRole"]
            destinations = _destination_statements(logical_id, props, resolve)
            tracing = resolve(props.get("Tracing"))
            if tracing and tracing != "Disabled":
                managed.append("AWSXrayWriteOnlyAccess")
            name = function_names[logical_id]
            statements = role_statements(logical_id, props, managed, resolve) + destinations
            roles[name] = Role(logical_id, role_name(stack, logical_id), name, statements)
        elif kind == "AWS::Serverless::StateMachine":
            props = {**globals_.get("StateMachine", {}), **resource.get("Properties", {})}
            for unsupported in ("Role", "RoleArn", "PermissionsBoundary"):
                if props.get(unsupported):
                    raise IamModelError(f"{logical_id}: local IAM does not model a state machine's {unsupported}")
            managed = ["AWSXrayWriteOnlyAccess"] if (props.get("Tracing") or {}).get("Enabled") is True else []
            name = role_name(stack, logical_id)
            session = hashlib.sha256(name.encode()).hexdigest()[:32]  # Step Functions picks a random one
            roles[STATE_MACHINE] = Role(logical_id, name, session, role_statements(logical_id, props, managed, resolve))
    return roles


# --- the emulated account, as the checks see it -----------------------------------------------------------


class EmulatedAccount:
    """Resource tags, configs and roles of local mode's account (the SageMaker emulator and moto)."""

    def __init__(self, sagemaker: SageMakerEmulator) -> None:
        self.sagemaker = sagemaker

    def resource_tags(self, arn: str) -> dict[str, str]:
        kind, _, name = arn.rpartition(":")[2].partition("/")
        sm = self.sagemaker
        with sm.lock:
            if arn.startswith("arn:aws:sagemaker:") and kind == "endpoint":
                found = [e.tags for e in sm.endpoints.values() if e.name.lower() == name]
            elif arn.startswith("arn:aws:sagemaker:") and kind == "endpoint-config":
                found = [t for n, t in sm.config_tags.items() if n.lower() == name and n in sm.configs]
            elif arn.startswith("arn:aws:sagemaker:") and kind == "model":
                found = [m.get("Tags", []) for n, m in sm.models.items() if n.lower() == name]
            else:
                found = []
        return {t["Key"]: t["Value"] for t in (found[0] if found else [])}

    def endpoint_config(self, endpoint: str) -> str | None:
        found = self.sagemaker.endpoints.get(endpoint)
        return found.config_name if found else None

    def config_kms_key(self, config: str) -> str | None:
        found = self.sagemaker.configs.get(config) or {}
        key = found.get("KmsKeyId")
        return str(key) if key else None

    def scalable_variants(self, endpoint: str) -> list[str]:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        targets = applicationautoscaling_backends[ACCOUNT][REGION].targets
        prefix = f"endpoint/{endpoint}/variant/"
        return [rid[len(prefix) :] for rid in targets.get(SCALING_DIMENSION, {}) if rid.startswith(prefix)]

    def service_linked_role_exists(self, role_name: str) -> bool:
        from moto.iam.models import iam_backends

        return any(role.name == role_name for role in list(iam_backends[ACCOUNT]["global"].roles.values()))

    def create_service_linked_role(self) -> None:
        """What Application Auto Scaling does the first time a SageMaker variant is registered."""
        from moto.iam.models import iam_backends

        if self.service_linked_role_exists(SAGEMAKER_SCALING_ROLE):
            return
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": SAGEMAKER_SCALING_SERVICE}, "Action": "sts:AssumeRole"}
            ],
        }
        iam_backends[ACCOUNT]["global"].create_role(
            role_name=SAGEMAKER_SCALING_ROLE,
            assume_role_policy_document=json.dumps(trust),
            path=f"/aws-service-role/{SAGEMAKER_SCALING_SERVICE}/",
            permissions_boundary=None,
            description="Service-linked role for Application Auto Scaling of SageMaker endpoints",
            tags=[],
            max_session_duration=None,
            linked_service=SAGEMAKER_SCALING_SERVICE,
        )

    def table_hash_key(self, table: str) -> str:
        """The table's partition key attribute (what dynamodb:LeadingKeys names the value of)."""
        from moto.dynamodb.models import dynamodb_backends

        return str(dynamodb_backends[ACCOUNT][REGION].get_table(table).hash_key_attr)

    def kms_key_arn(self, key_id: str) -> str:
        """IAM judges kms:CreateGrant on the key's ARN, whatever form the config names it in."""
        if key_id.startswith("arn:"):
            if ":alias/" not in key_id:
                return key_id
            alias = "alias/" + key_id.split(":alias/", 1)[1]
        elif key_id.startswith("alias/"):
            alias = key_id
        else:
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
        from moto.kms.models import kms_backends

        target = kms_backends[ACCOUNT][REGION].get_key_id_from_alias(alias)
        # An alias that names no key leaves nothing to grant on: the alias ARN matches no key/... statement.
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{target}" if target else f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"


# --- requests --------------------------------------------------------------------------------------------


def _unflatten_query(values: Mapping[str, list[str]]) -> dict[str, Any]:
    """Query-protocol parameters (``Names.member.1=a``) as the nested shape the JSON protocols send."""
    params: dict[str, Any] = {}
    lists: dict[str, list[tuple[int, str]]] = {}
    for key, found in values.items():
        match = re.fullmatch(r"(\w+)\.member\.(\d+)", key)
        if match:
            lists.setdefault(match.group(1), []).append((int(match.group(2)), found[0]))
        else:
            params[key] = found[0]
    for key, members in lists.items():
        params[key] = [value for _, value in sorted(members)]
    return params


def _s3_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    host, path = parts.hostname or "", unquote(parts.path).lstrip("/")
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        bucket, key = host.split(".s3", 1)[0], path
    else:
        bucket, _, key = path.partition("/")
    return {"Bucket": bucket, "Key": key}


def request_params(prefix: str, request: Any) -> dict[str, Any]:
    """The parameters of a botocore request, whatever its protocol."""
    body = request.body or b""
    text = body.decode() if isinstance(body, bytes) else str(body)
    if prefix == "lambda":  # REST: the function is in the path, the body is the payload
        url = urlsplit(request.url)
        match = re.search(r"/functions/([^/]+)/", url.path)
        params: dict[str, Any] = {"FunctionName": unquote(match.group(1)) if match else ""}
        qualifier = parse_qs(url.query).get("Qualifier")
        if qualifier:
            params["Qualifier"] = qualifier[0]
        return params
    if prefix == "s3":  # REST: the bucket in the host (virtual-hosted style) or the path's first segment
        return _s3_params(request.url)
    invocation = re.search(r"/endpoints/([^/]+)/invocations", urlsplit(request.url).path)
    if prefix == "sagemaker" and invocation:  # SageMaker Runtime (REST): the endpoint is in the path
        return {"EndpointName": unquote(invocation.group(1))}
    if "x-www-form-urlencoded" in str(request.headers.get("Content-Type", "")):
        return _unflatten_query(parse_qs(text))
    loaded = json.loads(text) if text.strip() else {}
    return loaded if isinstance(loaded, dict) else {}


@dataclass
class LocalIam:
    """Judges every call a principal makes; records what it refused."""

    roles: dict[str, Role]
    account: EmulatedAccount
    denials: list[Denial] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def authorize(self, principal: str | None, service: str, operation: str, request: Any) -> Denial | None:
        """None when the call may proceed; the Denial to answer with otherwise.

        ``principal`` None is the simulator itself (setup, traffic, people): not checked, but the account still
        changes as AWS changes it (the first scalable SageMaker variant creates the service-linked role).
        """
        prefix = IAM_PREFIXES.get(service)
        key = f"{prefix or service}:{operation}"
        if principal is None:
            if key == "application-autoscaling:RegisterScalableTarget" and self._registers_sagemaker(request):
                self.account.create_service_linked_role()
            return None
        role = self.roles.get(principal)
        if role is None:
            raise UnknownOperationError(f"local IAM has no role for the principal {principal}")
        if prefix is None:
            self.unknown.append(key)
            raise UnknownOperationError(f"local IAM does not know what {key} needs")
        call = Call(key, request_params(prefix, request), self.account)
        try:
            checks = needs_for(call)
        except UnknownOperationError:
            self.unknown.append(key)
            raise
        for need in checks:
            decision = role.decide(need)
            if decision != "allow":
                denial = Denial(prefix, operation, role.principal, need.action, need.resource, decision == "deny")
                self.denials.append(denial)
                return denial
        if key == "application-autoscaling:RegisterScalableTarget" and self._registers_sagemaker(request):
            self.account.create_service_linked_role()
        return None

    @staticmethod
    def _registers_sagemaker(request: Any) -> bool:
        return request_params("application-autoscaling", request).get("ServiceNamespace") == "sagemaker"
