"""Local mode reaches into moto at a few points; a moto upgrade that moves one must fail here, loudly.

Every ``mock.patch.object`` in ``emulator/patches.py`` (read from its source) is a row of ``PATCH_POINTS`` with the
shape it expects there, and no other module of local mode patches anything: a new patch without its row, or a
patch elsewhere, fails here."""

import ast
import dataclasses
import inspect
import re
import types

import botocore.context
import botocore.endpoint
import botocore.loaders
import moto
from botocore.context import ClientContext
from botocore.hooks import EventAliaser
from botocore.retries.standard import ExponentialBackoff
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudwatch.models import Alarm as FakeAlarm
from moto.cloudwatch.models import CloudWatchBackend, Statistics
from moto.core import responses as moto_responses
from moto.core.botocore_stubber import BotocoreStubber
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval import states as asl_states
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import StepFunctionResponse
from rollout_local.emulator import patches
from rollout_local.emulator.patches import INTERPRETER_ACCESS_KEY, MOTO_VERSION

from tests.helpers import ROOT

PATCHES = ROOT / "local" / "rollout_local" / "emulator" / "patches.py"
MODULE = "a module"  # the patch replaces a module the target imported (its time, threading, boto3)
ABSENT = "absent"  # the patch adds what moto lacks (create=True): once moto has it, drop the patch
HOOK = "a hook"  # a standard-library hook (builtin, no introspectable signature; pytest wraps it): callable
# (target as patches.py names it, attribute) -> the parameters of what the patch replaces, MODULE or ABSENT
PATCH_POINTS = {
    ("BotocoreStubber", "__call__"): ["self", "event_name", "request", "kwargs"],
    ("LambdaSimpleBackend", "invoke"): ["self", "function_name", "qualifier", "body", "headers", "response_headers"],
    ("WaitFunction", "_wait_interval"): ["self", "env", "wait_seconds"],
    ("retrier_decl", "time"): MODULE,
    ("botocore.endpoint", "time"): MODULE,
    ("EventManager", "_get_current_timestamp"): [],
    ("Execution", "start"): ["self"],
    ("ExecutionWorker", "_execution_logic"): ["self"],
    ("Execution", "__deepcopy__"): ABSENT,
    ("ExecutionWorker", "_get_evaluation_entrypoint"): ["self"],
    ("botocore.session", "create_loader"): ["search_path_string"],
    ("ClientCreator", "_create_client_class"): ["self", "service_name", "service_model"],
    ("json_path", "parse"): ["path", "debug"],
    ("boto_client", "boto3"): MODULE,
    ("CallbackEndpoint", "wait"): ["self", "timeout"],
    ("CallbackEndpoint", "notify"): ["self", "outcome"],
    ("CallbackEndpoint", "interrupt_all"): ["self"],
    ("StepFunctionResponse", "send_task_failure"): ["self"],
    ("StepFunctionResponse", "get_execution_history"): ["self"],
    ("Statistics", "get_statistics_for_type"): ["self", "stat"],
    ("FakeAlarm", "__init__"): ["self", "account_id", "region_name", "name", "namespace"],
    ("CloudWatchBackend", "get_metric_data"): ["self", "queries", "start_time", "end_time", "scan_by"],
    ("CloudWatchBackend", "get_metric_statistics"): [
        "self",
        "namespace",
        "metric_name",
        "start_time",
        "end_time",
        "period",
        "stats",
        "dimensions",
        "unit",
    ],
    ("CloudWatchBackend", "put_metric_data"): ["self", "namespace", "metric_data"],
    ("CloudWatchResponse", "describe_alarm_history"): ABSENT,
    ("StateTaskServiceSfn", "_normalise_parameters"): [
        "self",
        "parameters",
        "boto_service_name",
        "service_action_name",
    ],
    ("EventManager", "add_event"): [
        "self",
        "context",
        "event_type",
        "event_details",
        "timestamp",
        "update_source_event_id",
    ],
    ("Environment", "set_error"): ["self", "error"],
    ("ExecutionWorker", "_get_evaluation_environment"): ["self"],
    ("ErrorEqualsDecl", "_eval_body"): ["self", "env"],
    ("StateTaskService", "_before_eval_execution"): [
        "self",
        "env",
        "resource_runtime_part",
        "raw_parameters",
        "state_credentials",
    ],
    ("execute_state", "Thread"): ["group", "target", "name", "args", "kwargs", "daemon"],
    ("execute_state", "threading"): MODULE,
    ("ParamValidationDecorator", "serialize_to_request"): ["self", "parameters", "operation_model"],
    ("jitter_strategy_decl", "random"): MODULE,
    ("ExponentialBackoff", "delay_amount"): ["self", "context"],
    ("threading", "excepthook"): HOOK,
    ("StepFunctionsParserBackend", "_validate_definition"): ["definition"],
    ("EventAliaser", "_alias_event_name"): ["self", "event_name"],
    ("botocore.useragent", "sanitize_user_agent_string_component"): ["raw_str", "allow_hash"],
    ("moto_responses", "method_names_from_class"): ["clazz"],
    ("URLLib3Session", "_get_ssl_context"): ["self"],
    ("asl_states", "copy"): MODULE,
    ("string_expression", "copy"): MODULE,
    ("execute_state", "copy"): MODULE,
    ("botocore.context", "deepcopy"): HOOK,
}


def _patches_in(source: str) -> list[tuple[str, str]]:
    """Every (target, attribute) a ``mock.patch.object`` call in ``source`` patches (a loop's names expanded)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "mock.patch.object"):
            continue
        target, attribute = ast.unparse(node.args[0]), node.args[1]
        if isinstance(attribute, ast.Constant):
            found.append((target, str(attribute.value)))
            continue
        assert isinstance(attribute, ast.Name), f"a patch of {target} by an attribute this test cannot read"
        loop: ast.AST = node
        while not (isinstance(loop, ast.For) and ast.unparse(loop.target) == attribute.id):
            loop = parents[loop]
        assert isinstance(loop, ast.For) and isinstance(loop.iter, ast.Tuple)
        found += [(target, str(e.value)) for e in loop.iter.elts if isinstance(e, ast.Constant)]
    return found


def _resolve(target: str):
    """The object patches.py patches, by the name it has there."""
    root, *rest = target.split(".")
    found = getattr(patches, root)
    for part in rest:
        found = getattr(found, part)
    return found


def test_every_patch_in_the_patches_module_is_a_listed_patch_point():
    found = _patches_in(PATCHES.read_text())
    assert len(found) == len(set(found)), "one attribute patched twice"
    assert sorted(set(found)) == sorted(PATCH_POINTS), "a patch point without its row here (or a stale row)"


def test_every_listed_patch_point_has_the_shape_its_patch_expects():
    for (target, attribute), expected in PATCH_POINTS.items():
        owner = _resolve(target)
        where = f"{target}.{attribute}"
        if expected == ABSENT:
            assert not hasattr(owner, attribute), f"moto now has {where}: drop local mode's patch"
        elif expected == MODULE:
            assert isinstance(getattr(owner, attribute), types.ModuleType), where
        elif expected == HOOK:
            assert callable(getattr(owner, attribute)), where
        else:
            parameters = list(inspect.signature(getattr(owner, attribute)).parameters)
            assert parameters[: len(expected)] == expected, where
            if target != "FakeAlarm":  # moto's alarm takes a long, growing list: its first ones are checked
                assert parameters == expected, where


def test_the_guard_reads_a_patch_it_has_not_seen():
    source = "for name in ('a', 'b'):\n    mock.patch.object(Thing, name, None)\nmock.patch.object(x.y, 'z', 1)\n"
    assert sorted(_patches_in(source)) == [("Thing", "a"), ("Thing", "b"), ("x.y", "z")]


def test_no_other_module_of_local_mode_patches_anything():
    for path in sorted((ROOT / "local" / "rollout_local").rglob("*.py")):
        if path == PATCHES:
            continue
        source = path.read_text()
        assert _patches_in(source) == [], f"{path.name} patches: every patch lives in emulator/patches.py"
        assert "mock.patch" not in source and "monkeypatch" not in source, path.name


def params(function):
    return list(inspect.signature(function).parameters)


def test_moto_is_the_pinned_version():
    assert moto.__version__ == MOTO_VERSION, "local mode's patch points were checked against this moto only"


def test_every_patch_point_still_has_the_shape_local_mode_expects():
    assert params(LambdaSimpleBackend.invoke) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    assert params(BotocoreStubber.__call__) == ["self", "event_name", "request", "kwargs"]
    assert params(WaitFunction._wait_interval) == ["self", "env", "wait_seconds"]
    assert "random.uniform(" in inspect.getsource(jitter_strategy_decl), "moto moved its jitter draw"
    assert params(ExponentialBackoff.delay_amount) == ["self", "context"]
    assert "self._random()" in inspect.getsource(ExponentialBackoff.delay_amount), "botocore moved its jitter draw"
    # local mode answers moto's one question of the member list (``action in names``) without listing them
    assert "if action in method_names:" in inspect.getsource(moto_responses.BaseResponse.call_action)
    assert "self._alias_name_cache" in inspect.getsource(EventAliaser._alias_event_name)
    assert "self._search_paths = " in inspect.getsource(botocore.loaders.Loader.__init__)
    # the modules whose copies json_copy makes use only copy.deepcopy, and only on JSON data; botocore's context
    # is a dataclass with one set
    for module in (asl_states, string_expression, execute_state):
        uses = set(re.findall(r"\bcopy\.(\w+)", inspect.getsource(module)))
        assert uses == {"deepcopy"}, module.__name__
    assert [f.name for f in dataclasses.fields(ClientContext)] == ["features"]
    assert hasattr(retrier_decl, "time") and "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl)
    assert isinstance(inspect.getattr_static(EventManager, "_get_current_timestamp"), staticmethod)
    assert params(Execution.start) == ["self"] and "start_date" in inspect.getsource(
        Execution.get_start_execution_details
    )
    assert params(ExecutionWorker._execution_logic) == ["self"]
    assert "time.sleep(handler_response)" in inspect.getsource(botocore.endpoint), "botocore moved its retry sleep"
    assert params(CallbackEndpoint.wait) == ["self", "timeout"] and "_notify_event" in inspect.getsource(
        CallbackEndpoint
    )
    assert params(CallbackEndpoint.notify) == ["self", "outcome"] and params(CallbackEndpoint.interrupt_all) == ["self"]
    source = inspect.getsource(StepFunctionResponse.send_task_failure)
    assert "send_task_failure(task_token, error=error)" in source, "moto now passes the cause: drop the patch"
    assert params(StepFunctionResponse.get_execution_history) == ["self"]
    assert "reverseOrder" not in inspect.getsource(StepFunctionResponse.get_execution_history), (
        "moto now pages GetExecutionHistory itself: drop local mode's patch"
    )
    assert params(Statistics.get_statistics_for_type) == ["self", "stat"]
    assert "metric_single_values_list" in dir(Statistics)
    assert 'self.state_value = "OK"' in inspect.getsource(FakeAlarm.__init__), "moto changed a new alarm's state"
    assert not hasattr(Execution, "__deepcopy__"), "moto now copies executions itself: drop local mode's patch"
    assert params(StateTaskServiceSfn._normalise_parameters) == [
        "self",
        "parameters",
        "boto_service_name",
        "service_action_name",
    ]
    assert 'parameters.get("Input")' in inspect.getsource(StateTaskServiceSfn._normalise_parameters)
    assert "stateMachineArn" not in inspect.getsource(StateTaskServiceSfn), "moto maps startExecution: drop the patch"
    # local IAM tells the state machine's own calls (its service integrations) by the key moto's interpreter signs
    # them with; if that changes, the state machine's role is no longer checked
    assert f'aws_access_key_id="{INTERPRETER_ACCESS_KEY}"' in inspect.getsource(boto_client_for)


def test_the_limits_patch_points_still_have_the_shape_local_mode_expects():
    # the patched methods' shapes are PATCH_POINTS rows; here, what their replacements rely on inside them
    assert "frame.set_error(error=error)" in inspect.getsource(Environment.set_error)
    assert "error_name: ErrorName = env.stack.pop()" in inspect.getsource(ErrorEqualsDecl._eval_body)
    source = inspect.getsource(execute_state.ExecutionState._evaluate_with_timeout)
    assert "threading.Event()" in source and "Thread(target=_exec_and_notify" in source
    assert "terminated_event.wait(timeout_seconds)" in source, "moto changed how a task's timeout is waited for"
    quotas = inspect.getsource(__import__("moto.stepfunctions.parser.quotas", fromlist=["quotas"]))
    assert "256 * 1024" in quotas, "moto changed its payload quota: check limits.PAYLOAD_BYTES agrees"


def test_the_performance_patch_points_still_have_the_shape_local_mode_expects():
    # CloudWatch's metrics of the world's namespaces are answered from the indexed store (metrics.py): the three
    # patched methods' shapes are PATCH_POINTS rows; what they call on must still be there
    assert params(CloudWatchBackend._validate_parameters_put_metric_data) == ["self", "metric", "query_num"]
    responses = inspect.getsource(__import__("moto.cloudwatch.responses", fromlist=["responses"]))
    assert "start_time=start, end_time=end, queries=queries, scan_by=scan_by" in responses
    assert "self.cloudwatch_backend.put_metric_data(namespace, metric_data)" in responses
    # the store's answers are moto's: the same buckets from StartTime, the same metric math parser
    source = inspect.getsource(CloudWatchBackend.get_metric_data)
    assert "while period_start_time <= end_time:" in source and "parse_expression(" in source
    # the ASL is parsed once per definition: moto still parses it in this method, once per execution
    assert params(ExecutionWorker._get_evaluation_entrypoint) == ["self"]
    assert "AmazonStateLanguageParser.parse(" in inspect.getsource(ExecutionWorker._get_evaluation_entrypoint)
    assert "self._evaluation_details.state_machine_details.definition" in inspect.getsource(
        ExecutionWorker._get_evaluation_entrypoint
    )
    # a definition validated once: moto's CreateStateMachine parses it in this static method
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    validate = inspect.getattr_static(StepFunctionsParserBackend, "_validate_definition")
    assert isinstance(validate, staticmethod) and params(validate.__func__) == ["definition"]
    assert "AmazonStateLanguageParser.parse(definition)" in inspect.getsource(validate.__func__)
    assert "self._validate_definition(definition=definition)" in inspect.getsource(StepFunctionsParserBackend)
    # JSONPath expressions compiled once, the interpreter's clients made once per service
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path

    assert "input_expr = parse(path)" in inspect.getsource(json_path.extract_json)
    import botocore.session

    assert "create_loader(self.get_config_variable('data_path'))" in inspect.getsource(
        botocore.session.Session._register_data_loader
    ), "botocore makes its loader elsewhere: sessions would each read the models again"
    assert "return boto3.client(" in inspect.getsource(boto_client.boto_client_for)
    # GetExecutionHistory written directly: moto's handler hands the backend's history to its serializer
    assert "self.stepfunction_backend.get_execution_history(" in inspect.getsource(
        StepFunctionResponse.get_execution_history
    )


def test_the_sagemaker_emulator_answers_through_botocore_validation(world):
    # a call botocore refuses client-side never reaches the emulator: local mode cannot be friendlier than AWS
    import botocore.exceptions
    import pytest

    with pytest.raises(botocore.exceptions.ParamValidationError):
        world.sm.update_endpoint(EndpointName="churn-prod")


def test_the_moto_internals_local_iam_reads_still_exist():
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import IAMBackend
    from moto.kms.models import KmsBackend

    assert '"AWSLambdaBasicExecutionRole"' in aws_managed_policies_data  # SAM's managed policies, as AWS ships them
    assert '"AWSXrayWriteOnlyAccess"' in aws_managed_policies_data
    assert params(IAMBackend.create_role)[:4] == ["self", "role_name", "assume_role_policy_document", "path"]
    assert "linked_service" in params(IAMBackend.create_role)
    assert params(KmsBackend.get_key_id_from_alias) == ["self", "alias_name"]
    assert "self.targets" in inspect.getsource(ApplicationAutoscalingBackend.__init__)


def test_execution_history_pages_as_on_aws_newest_first_on_reverse_order(world):
    """GetExecutionHistory: 100 events a page by default, at most 1000, nextToken, and reverseOrder."""
    import json

    import pytest
    from botocore.exceptions import ClientError

    sfn = world.session.client("stepfunctions")
    role = world.session.client("iam").create_role(RoleName="history", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(60)} | {"P60": {"Type": "Succeed"}}
    machine = sfn.create_state_machine(
        name="history", roleArn=role, definition=json.dumps({"StartAt": "P0", "States": states})
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    world.wait_until(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "the execution")
    first = sfn.get_execution_history(executionArn=arn)
    assert len(first["events"]) == 100 and first["nextToken"]
    rest = sfn.get_execution_history(executionArn=arn, nextToken=first["nextToken"], maxResults=1000)
    every = first["events"] + rest["events"]
    assert "nextToken" not in rest and [e["id"] for e in every] == list(range(1, len(every) + 1))
    newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3)
    assert [e["id"] for e in newest["events"]] == [len(every), len(every) - 1, len(every) - 2]
    assert newest["events"][0]["type"] == "ExecutionSucceeded"
    with pytest.raises(ClientError, match="maxResults"):
        sfn.get_execution_history(executionArn=arn, maxResults=1001)


def test_a_definition_is_validated_once_and_a_refused_one_every_time():
    from rollout_local.emulator.patches import _validated_once

    seen = []

    def moto_validate(definition):
        seen.append(definition)
        if definition == "bad":
            raise ValueError("InvalidDefinition")

    validate = _validated_once(moto_validate)
    validate(definition="good-1")
    validate(definition="good-1")
    assert seen == ["good-1"], "an accepted definition is not parsed again"
    for _ in range(2):
        try:
            validate(definition="bad")
        except ValueError:
            pass
        else:
            raise AssertionError("a refused definition must be refused again")
    assert seen == ["good-1", "bad", "bad"]
