"""The state machine and the error taxonomy agree: Step Functions matches errors by class name, so every name the
ASL retries or catches is one the code raises, every error a step raises (or sends to a waiting task) is caught by
the state that runs it and goes where its kind says, and every Lambda task retries with the one Retry policy.

Step Functions matches ``ErrorEquals`` against the error name exactly (a Lambda function's ``errorType`` is the
exception's class name): naming a base class does not catch its subclasses, so the routing is checked per class.
Which errors a state can meet is read from the code with ``ast``: the ``raise`` statements, the ``fails=`` errors of
the transition table's rows and the ``fail_task`` calls of the step module its function imports and every
``rollout`` module that reaches (an over-approximation: a module's every raise counts, which is the safe side for
"is it caught")."""

import ast
import json
import re
from pathlib import Path
from typing import Any

from rollout import errors

from tests.helpers import ROOT

ASL = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())
BUILT_IN_PREFIXES = ("States.", "Lambda.", "Sandbox.")
PACKAGE = ROOT / "layers" / "rollout" / "rollout"
# The two bookkeeping states at the ends of every path: nothing is left to route to, so a failure there fails the
# execution, where the console, `rollout status` and the failed-execution alarm show it.
UNCAUGHT_BY_DESIGN = {"Record Rejection", "Record Outcome"}
# The tasks whose token another function fails (SendTaskFailure) while they wait.
CALLBACK_TASKS = {"Wait For Endpoint", "Bake"}
# After the endpoint was touched, a failure rolls back; before, nothing needs undoing.
TOUCHED = {
    "Prepare Target",
    "Start Update",
    "Wait For Endpoint",
    "Check Endpoint",
    "Shift Traffic",
    "Verify New Variant",
    "Bake",
    "Evaluate Health",
    "Promote",
}


def all_states(states: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every state, nested ones (Parallel branches, Map iterators) included."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in (ASL["States"] if states is None else states).items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(all_states(branch["States"]))
        if "Iterator" in state or "ItemProcessor" in state:
            found.update(all_states((state.get("ItemProcessor") or state["Iterator"])["States"]))
    return found


def lambda_tasks():
    return {
        name: state
        for name, state in all_states().items()
        if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke")
    }


def test_every_lambda_task_retries_every_transient_error_with_backoff():
    transient = errors.transient_error_names()
    assert {"ThrottledError", "AwsUnavailableError"} <= set(transient)
    for name, state in lambda_tasks().items():
        retriers = [r for r in state.get("Retry", []) if set(transient) & set(r["ErrorEquals"])]
        assert len(retriers) == 1, f"{name} has no single transient retrier"
        (retrier,) = retriers
        assert sorted(retrier["ErrorEquals"]) == sorted(transient), name
        assert retrier["BackoffRate"] >= 2 and retrier.get("JitterStrategy") == "FULL", name


def test_every_error_name_the_asl_matches_is_one_the_code_raises():
    known = {kind.__name__ for kind in _all(errors.RolloutError)}
    for name, state in all_states().items():
        for clause in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in clause["ErrorEquals"]:
                assert error.startswith(BUILT_IN_PREFIXES) or error in known, f"{name}: unknown error {error}"


def _all(kind):
    found = {kind}
    for sub in kind.__subclasses__():
        found |= _all(sub)
    return found


# --- one Retry policy -------------------------------------------------------------------------------------

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# The states that may add a last retrier of their own, after the shared ones, and why: undoing a rollout and
# freeing the endpoint are worth trying again on any error before a person is called.
EXTRA_RETRIERS = {"Roll Back", "Release Lock"}


def test_every_lambda_task_has_the_one_retry_policy():
    """The shared retriers are identical in every field on every Lambda task (a task that drifts - Bake without
    ThrottledError once - rolls a rollout back on a throttled call)."""
    tasks = lambda_tasks()
    shared = tasks["Resolve Rollout"]["Retry"][:2]
    assert shared[0]["ErrorEquals"] == LAMBDA_SERVICE_ERRORS
    assert shared[1]["ErrorEquals"] == errors.transient_error_names()
    for name, state in tasks.items():
        retry = state.get("Retry", [])
        assert retry[:2] == shared, f"{name}: its shared retriers differ from the others'"
        extra = retry[2:]
        if name in EXTRA_RETRIERS:
            assert len(extra) == 1 and extra[0]["ErrorEquals"] == ["States.ALL"], name
        else:
            assert extra == [], f"{name}: a retrier of its own"


def test_the_policy_check_can_fail():
    tasks = json.loads(json.dumps(lambda_tasks()))
    tasks["Bake"]["Retry"][1]["ErrorEquals"] = ["AwsUnavailableError"]
    assert tasks["Bake"]["Retry"][:2] != tasks["Resolve Rollout"]["Retry"][:2]


# --- every error a step raises is caught where it should be ----------------------------------------------


def _module_path(module: str) -> Path:
    path = PACKAGE.joinpath(*module.split(".")[1:])
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def _scan(module: str) -> tuple[set[str], set[str], set[str]]:
    """(error names raised, error names sent to a waiting task with fail_task, rollout modules imported)."""
    tree = ast.parse(_module_path(module).read_text())
    raised: set[str] = set()
    sent: set[str] = set()
    imports: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name):
                raised.add(target.id)
            elif isinstance(target, ast.Attribute):
                raised.add(target.attr)
        elif isinstance(node, ast.keyword) and node.arg == "fails" and isinstance(node.value, ast.Name):
            raised.add(node.value.id)  # a transition row whose step raises this error (rollout.transition.failure)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rollout":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                imports.add(candidate if _module_path(candidate).exists() else node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "fail_task":
            error = node.args[1]
            if isinstance(error, ast.Constant):
                sent.add(str(error.value))
            elif isinstance(error, ast.Attribute) and error.attr == "__name__" and isinstance(error.value, ast.Name):
                sent.add(error.value.id)
            else:
                raise AssertionError(f"{module}: fail_task with an error name this test cannot read")
    return raised, sent, imports


def _reached(modules: list[str]) -> tuple[set[str], set[str]]:
    """The error names raised and sent by ``modules`` and every rollout module they import, transitively."""
    seen: set[str] = set()
    raised: set[str] = set()
    sent: set[str] = set()
    pending = list(modules)
    while pending:
        module = pending.pop()
        if module in seen or not _module_path(module).exists():
            continue
        seen.add(module)
        more_raised, more_sent, imports = _scan(module)
        raised |= more_raised
        sent |= more_sent
        pending.extend(imports)
    return raised, sent


def _function_dir(state: dict[str, Any]) -> Path:
    """functions/<dir> of a Lambda task: ``${WatchBakeFunctionArn}`` -> functions/watch_bake."""
    found = re.fullmatch(r"\$\{(\w+)FunctionArn\}", state["Parameters"]["FunctionName"])
    assert found, state["Parameters"]["FunctionName"]
    path = ROOT / "functions" / re.sub(r"(?<!^)(?=[A-Z])", "_", found.group(1)).lower()
    assert (path / "app.py").exists(), path
    return path


def _step_modules(function_dir: Path) -> list[str]:
    tree = ast.parse((function_dir / "app.py").read_text())
    return [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and "rollout." in n.module]


def _error_classes() -> dict[str, type]:
    return {kind.__name__: kind for kind in _all(errors.RolloutError)}


def _route(state: dict[str, Any], error: str) -> str | None:
    """Where Step Functions sends ``error`` from ``state``: the first Catch naming it or States.ALL (exact names)."""
    for clause in state.get("Catch", []):
        if error in clause["ErrorEquals"] or "States.ALL" in clause["ErrorEquals"]:
            return str(clause["Next"])
    return None


def _errors_of(name: str, state: dict[str, Any]) -> tuple[set[str], set[str]]:
    raised, sent = _reached(_step_modules(_function_dir(state)))
    known = _error_classes()
    return {e for e in raised if e in known}, {e for e in sent if e in known}


def test_every_error_a_task_can_raise_is_caught_by_its_state():
    for name, state in lambda_tasks().items():
        if name in UNCAUGHT_BY_DESIGN:
            assert "Catch" not in state, name
            continue
        raised, _ = _errors_of(name, state)
        assert raised, f"{name}: the scan found no error at all (a broken scan passes nothing)"
        uncaught = sorted(e for e in raised if _route(state, e) is None)
        assert uncaught == [], f"{name} does not catch {uncaught}"


def test_failures_after_the_endpoint_was_touched_roll_back_and_refusals_before_do_not():
    known = _error_classes()
    tasks = lambda_tasks()
    assert _route(tasks["Resolve Rollout"], "PolicyError") == "Record Rejection"
    for name in ("Acquire Endpoint Lock", "Snapshot Endpoint"):
        raised, _ = _errors_of(name, tasks[name])
        for error in raised:
            assert _route(tasks[name], error) == "Release Lock", f"{name}: {error}"
    for name in sorted(TOUCHED):
        raised, _ = _errors_of(name, tasks[name])
        for error in raised:
            expected = "Evaluate Health" if (name, error) == ("Bake", "AlarmFiredError") else "Roll Back"
            if issubclass(known[error], errors.DeploymentError | errors.DriftError | errors.AwsServiceError):
                assert _route(tasks[name], error) == expected, f"{name}: {error}"


def test_every_error_sent_to_a_waiting_task_is_a_failure_its_task_routes():
    """SendTaskFailure's ``error`` is matched by the waiting task's Catch like a raised one: a person's abort or
    reject, a revoked approval or a newer version roll back from either waiting task; an alarm during a bake goes
    to Evaluate Health, which judges the step (and rolls back)."""
    known = _error_classes()
    senders = [p for p in (ROOT / "functions").glob("*/app.py")]
    sent: set[str] = set()
    for path in senders:
        sent |= _reached(_step_modules(path.parent))[1]
    assert {"AbortedError", "GateRejectedError", "AlarmFiredError", "ApprovalRevokedError", "SupersededError"} <= sent
    tasks = lambda_tasks()
    for error in sorted(sent):
        assert error in known, f"fail_task sends {error}, which errors.py does not define"
        assert issubclass(known[error], errors.DeploymentError), error
        for name in sorted(CALLBACK_TASKS):
            expected = "Evaluate Health" if (name, error) == ("Bake", "AlarmFiredError") else "Roll Back"
            assert _route(tasks[name], error) == expected, f"{name}: {error}"


def test_every_specific_catch_names_a_class_the_code_raises_or_sends():
    """A Catch naming a base class would never match (exact names), and one naming an error nobody raises is
    dead: both are contract drift."""
    raised: set[str] = set()
    for path in (ROOT / "functions").glob("*/app.py"):
        more_raised, more_sent = _reached(_step_modules(path.parent))
        raised |= more_raised | more_sent
    for name, state in all_states().items():
        for clause in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in clause["ErrorEquals"]:
                if not error.startswith(BUILT_IN_PREFIXES):
                    assert error in raised, f"{name}: {error} is never raised or sent"
