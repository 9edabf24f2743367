"""Deploying template.yaml into the emulated account: what `sam deploy` would create, read from the template.

The table's keys, the functions and their handlers, the environment every function gets, the state
machine's definition and substitutions, and the approval rule's event pattern all come from the template
and the ASL file, so local mode runs what production runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from rollout_local.emulator.apigateway import LocalRestApi, rest_apis_from_template
from rollout_local.emulator.iam import role_name, roles_from_template
from rollout_local.emulator.iam_policy import Role
from rollout_local.emulator.patches import LambdaHandler, LocalAws, json_copy, provision_function, provision_role
from rollout_local.home import project_home

ROOT = project_home()  # a checkout, the installed data files, or $ROLLOUT_HOME (rollout_local.home)
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
STACK_NAME = "sagemaker-rollout-local"
# Local mode deploys like `sam deploy` with these parameter values where the template has no default and the
# scenario's `stack:` gives none (the endpoints of the shipped scenarios and tests end in -prod).
LOCAL_PARAMETERS = {"EndpointNamePattern": "*-prod"}
LAMBDA_DEFAULT_TIMEOUT = 3  # seconds, when neither the function nor Globals set one (Lambda's and SAM's default)


@dataclass(frozen=True)
class Tag:
    """A CloudFormation intrinsic function (!Ref, !GetAtt, !Sub, ...) as read from YAML."""

    name: str
    value: Any


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_CfnLoader.add_multi_constructor("!", _construct_tag)


_PARSED: dict[tuple[Path, int, int], dict[str, Any]] = {}  # (path, mtime, size) -> the parsed template


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template, parsed once per version of the file; every caller gets its own copy to change."""
    status = path.stat()
    key = (path.resolve(), status.st_mtime_ns, status.st_size)
    if key not in _PARSED:
        with path.open() as handle:
            _PARSED[key] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    template: dict[str, Any] = json_copy(_PARSED[key])
    return template


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _sub(text: str, refs: dict[str, str], variables: dict[str, Any]) -> str:
    """Fn::Sub: every ${Name} must resolve (as CloudFormation refuses the template otherwise); ${!x} is literal."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(variables[name])
        if name not in refs:
            raise ValueError(f"local mode cannot resolve ${{{name}}} in !Sub {text!r}")
        return refs[name]

    return _SUB_VARIABLE.sub(value_of, text).replace("${!", "${")


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """Resolve the intrinsics local mode needs (Ref, GetAtt, Sub, Join, Split) against known values.

    Both spellings are understood: YAML short forms (``!Sub``, read as ``Tag``) and the JSON forms
    (``{"Fn::Sub": ...}``) that SAM's policy templates expand to, including Sub's ``[text, variables]`` form.
    """
    if isinstance(value, Tag):
        return _intrinsic(value.name, value.value, refs)
    if isinstance(value, dict):
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return _intrinsic(key.removeprefix("Fn::"), argument, refs)
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def _intrinsic(name: str, argument: Any, refs: dict[str, str]) -> Any:
    if name == "Ref":
        if argument not in refs:
            raise ValueError(f"local mode cannot resolve !Ref {argument}")
        return refs[argument]
    if name == "GetAtt":
        target = argument if isinstance(argument, str) else ".".join(argument)
        if target not in refs:
            raise ValueError(f"local mode cannot resolve !GetAtt {target}")
        return refs[target]
    if name == "Sub" and isinstance(argument, str):
        return _sub(argument, refs, {})
    if name == "Sub" and isinstance(argument, list) and len(argument) == 2:
        variables = {key: resolve(v, refs) for key, v in argument[1].items()}
        return _sub(argument[0], refs, variables)
    if name == "Join" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
        parts = resolve(argument[1], refs)
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise ValueError(f"!Join needs a list of strings, got {parts!r}")
        return argument[0].join(parts)
    if name == "Split" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
        text = resolve(argument[1], refs)
        if not isinstance(text, str) or not argument[0]:
            raise ValueError(f"!Split needs a delimiter and a string, got {argument!r}")
        return text.split(argument[0])
    raise ValueError(f"local mode cannot resolve !{name}")


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule of the template: its pattern, target, name and dead-letter queue."""

    pattern: dict[str, Any]
    target: str  # a function ARN, or the state machine ARN
    name: str
    dead_letter_arn: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{REGION}:123456789012:rule/{self.name}"


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """A function's EventInvokeConfig: Lambda's retries of an asynchronous invocation, and where a failure goes."""

    maximum_retry_attempts: int = 2  # Lambda's default
    on_failure_arn: str | None = None


@dataclass
class Stack:
    """The deployed stack's names, as its Outputs would give them."""

    state_machine_arn: str
    table_name: str
    topic_arn: str
    role_arn: str
    environment: dict[str, str]
    event_pattern: dict[str, Any]
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> function ARN
    rules: list[RuleSpec] = field(default_factory=list)  # every rule: the functions' and the state machine's
    async_configs: dict[str, AsyncInvokeConfig] = field(default_factory=dict)  # function ARN -> its config
    queue_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # queue ARN -> policy statements
    roles: dict[str, Role] = field(default_factory=dict)  # principal (function name or "states") -> its role
    apis: dict[str, LocalRestApi] = field(default_factory=dict)  # logical id -> the REST API (API Gateway)

    @property
    def steering_api(self) -> LocalRestApi | None:
        return self.apis.get("SteeringApi")


def load_handler(code_uri: str, handler: str, logical_id: str) -> LambdaHandler:
    """Import ``functions/<x>/app.py`` under a unique module name and return its handler."""
    module_name, _, attribute = handler.rpartition(".")
    path = ROOT / code_uri / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"rollout_function_{logical_id}", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    found: LambdaHandler = getattr(module, attribute)
    return found


def function_ids(template_path: Path = TEMPLATE) -> list[str]:
    """The logical ids of the template's Lambda functions."""
    resources: dict[str, Any] = load_template(template_path)["Resources"]
    return [name for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


_ZIP = _zip()  # every function's code package in moto (local mode runs the real handler in-process instead)


TemplateTransform = Callable[[dict[str, Any]], dict[str, Any]]


def deploy(
    aws: LocalAws,
    parameters: dict[str, str] | None = None,
    template_path: Path = TEMPLATE,
    transform: TemplateTransform | None = None,
    session: Any = None,
) -> Stack:
    """Create the template's resources in the emulated account and register the real handlers.

    ``transform`` changes the loaded template first (a test that removes one grant, for example); ``session`` is the
    boto3 session to deploy with (a new one when None).
    """
    template = load_template(template_path)
    if transform is not None:
        template = transform(template)
    resources: dict[str, Any] = template["Resources"]
    session = session or boto3.Session(region_name=REGION)
    sagemaker_role = provision_role("sagemaker-execution-local", json.dumps({"Version": "2012-10-17", "Statement": []}))
    refs: dict[str, str] = {
        "AWS::Region": REGION,
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": STACK_NAME,
        "AWS::URLSuffix": "amazonaws.com",
    }
    for name, spec in template.get("Parameters", {}).items():
        if "Default" in spec:
            refs[name] = str(spec["Default"])
    refs["SageMakerExecutionRoleArn"] = sagemaker_role
    refs.update({k: v for k, v in LOCAL_PARAMETERS.items() if k in template.get("Parameters", {})})
    refs.update(parameters or {})
    for name, spec in template.get("Parameters", {}).items():
        if name not in refs:
            raise ValueError(f"template parameter {name} has no default: give it in the scenario's stack:")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, refs[name]):  # CloudFormation refuses the stack
            raise ValueError(f"template parameter {name}={refs[name]!r}: {spec.get('ConstraintDescription', pattern)}")

    table_name = ""
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            table_name = f"sagemaker-rollout-{logical_id}"
            session.client("dynamodb").create_table(
                TableName=table_name,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )
            refs[logical_id] = table_name
            refs[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{REGION}:123456789012:table/{table_name}"
        elif resource["Type"] == "AWS::SQS::Queue":
            name = str(resolve(props.get("QueueName", f"sagemaker-rollout-{logical_id}"), refs))
            url = session.client("sqs").create_queue(QueueName=name)["QueueUrl"]
            refs[logical_id] = url
            refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{REGION}:123456789012:{name}"
            refs[f"{logical_id}.QueueName"] = name
        elif resource["Type"] == "AWS::SNS::Topic":
            created = session.client("sns").create_topic(Name=f"sagemaker-rollout-{logical_id}")["TopicArn"]
            refs[logical_id] = created
            refs[f"{logical_id}.TopicName"] = created.rsplit(":", 1)[-1]

    globals_function = template.get("Globals", {}).get("Function", {})
    environment = {
        key: str(resolve(value, refs))
        for key, value in globals_function.get("Environment", {}).get("Variables", {}).items()
    }
    functions: dict[str, str] = {}
    rules: list[RuleSpec] = []
    async_configs: dict[str, AsyncInvokeConfig] = {}
    names = {k: k for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        if props.get("Environment"):
            raise ValueError(f"{logical_id}: local mode expects every function to share the Globals environment")
        # The function's own Timeout, else the Globals one, else Lambda's default (3 s): local mode stops a
        # handler there, as Lambda does.
        timeout = int(props.get("Timeout", globals_function.get("Timeout", LAMBDA_DEFAULT_TIMEOUT)))
        arn = provision_function(
            {
                "FunctionName": logical_id,
                "Runtime": props.get("Runtime", globals_function.get("Runtime", "python3.13")),
                "Role": _create_role(logical_id, "lambda.amazonaws.com"),
                "Handler": props["Handler"],
                "Code": {"ZipFile": _ZIP},
                "Timeout": timeout,
                "MemorySize": int(props.get("MemorySize", globals_function.get("MemorySize", 128))),
            }
        )
        aws.register(arn, load_handler(props["CodeUri"], props["Handler"], logical_id), timeout)
        functions[logical_id] = arn
        for event_id, event in props.get("Events", {}).items():
            if event["Type"] == "EventBridgeRule":
                rules.append(_rule(event["Properties"], arn, f"{logical_id}{event_id}", refs))
        invoke_config = props.get("EventInvokeConfig")
        if invoke_config:
            failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
            if failure and failure.get("Type") != "SQS":
                raise ValueError(f"{logical_id}: local mode models SQS on-failure destinations only")
            async_configs[arn] = AsyncInvokeConfig(
                int(invoke_config.get("MaximumRetryAttempts", 2)),
                str(resolve(failure["Destination"], refs)) if failure else None,
            )
        refs[logical_id] = logical_id
        refs[f"{logical_id}.Arn"] = arn

    apis = rest_apis_from_template(template, functions, aws._invoke, _api_id)
    # Every role as SAM would create it, from the template's Policies (the function roles above carry the names).
    roles = roles_from_template(template, lambda value: resolve(value, refs), STACK_NAME, names)
    machine_id, machine = next((k, r) for k, r in resources.items() if r["Type"] == "AWS::Serverless::StateMachine")
    props = machine["Properties"]
    definition = (template_path.parent / props["DefinitionUri"]).read_text()
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + key + "}", str(resolve(value, refs)))
    state_machine_arn = session.client("stepfunctions").create_state_machine(
        name=str(resolve(props["Name"], refs)) if "Name" in props else f"sagemaker-rollout-{machine_id}",
        definition=definition,
        roleArn=_create_role(machine_id, "states.amazonaws.com"),
        type=props.get("Type", "STANDARD"),
    )["stateMachineArn"]
    event_id, rule = next((k, e) for k, e in props.get("Events", {}).items() if e["Type"] == "EventBridgeRule")
    rules.append(_rule(rule["Properties"], state_machine_arn, f"{machine_id}{event_id}", refs))
    queue_policies: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::SQS::QueuePolicy":
            resolved = resolve(resource["Properties"], refs)
            for url in resolved["Queues"]:
                name = str(url).rsplit("/", 1)[-1]
                statements = resolved["PolicyDocument"]["Statement"]
                queue_policies.setdefault(f"arn:aws:sqs:{REGION}:123456789012:{name}", []).extend(statements)
    return Stack(
        state_machine_arn=state_machine_arn,
        table_name=table_name,
        topic_arn=environment.get("NOTIFY_TOPIC_ARN", ""),  # the topic the functions tell people on
        role_arn=sagemaker_role,
        environment=environment,
        event_pattern=resolve(rule["Properties"]["Pattern"], refs),
        functions=functions,
        rules=rules,
        roles=roles,
        apis=apis,
        async_configs=async_configs,
        queue_policies=queue_policies,
    )


def _rule(properties: dict[str, Any], target: str, generated_name: str, refs: dict[str, str]) -> RuleSpec:
    """A rule as SAM creates it from an EventBridgeRule event (its RuleName, or a generated one)."""
    dead_letter = properties.get("DeadLetterConfig") or {}
    if dead_letter and "Arn" not in dead_letter:
        raise ValueError(f"{generated_name}: local mode models a DeadLetterConfig with an Arn only")
    name = str(resolve(properties["RuleName"], refs)) if "RuleName" in properties else generated_name
    queue = str(resolve(dead_letter["Arn"], refs)) if dead_letter else None
    return RuleSpec(resolve(properties["Pattern"], refs), target, name, queue)


def _api_id(logical_id: str) -> str:
    """API Gateway names a REST API with 10 lower-case letters and digits; a stable one per logical id here."""
    digest = hashlib.sha256(f"{STACK_NAME}/{logical_id}".encode()).hexdigest()
    return "".join(c for c in digest if c.isalnum())[:10]


def _create_role(logical_id: str, service: str) -> str:
    """The execution role SAM creates for a function or state machine (its name as CloudFormation names it)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    return provision_role(role_name(STACK_NAME, logical_id), json.dumps(trust))
