"""Step Functions: failing a waiting callback task when something it watches goes wrong, whether an execution
still runs, starting one (a person's retry or undo), and reading running rollouts' newest states (the console)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated

if TYPE_CHECKING:  # request and response shapes checked by mypy (mypy-boto3-stepfunctions: dev only, not shipped)
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import GetExecutionHistoryInputTypeDef, ListExecutionsInputTypeDef


def _sfn(sfn: SFNClient | None = None) -> SFNClient:
    found: SFNClient = sfn or client("stepfunctions")
    return found


GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def fail_task(token: str, error: str, cause: str) -> bool:
    """SendTaskFailure. False when the task is no longer waiting (its bake already ended)."""
    with translated("states:SendTaskFailure"):
        try:
            _sfn().send_task_failure(taskToken=token, error=error, cause=cause[:32768])
        except ClientError as exc:
            if error_code(exc) in GONE:
                return False
            raise
    return True


def succeed_task(token: str, output: str) -> bool:
    """SendTaskSuccess. False when the task is no longer waiting (a durable request then reaches the next check)."""
    with translated("states:SendTaskSuccess"):
        try:
            _sfn().send_task_success(taskToken=token, output=output)
        except ClientError as exc:
            if error_code(exc) in GONE:
                return False
            raise
    return True


def execution_running(execution_arn: str) -> bool:
    """Is that execution still running? (A lock or queue place of an execution that ended is stale.)"""
    if not execution_arn:
        return True  # an item written before executions were recorded: assume alive, its lease still bounds it
    with translated("states:DescribeExecution"):
        try:
            described = _sfn().describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return False
            raise
    return str(described.get("status")) == "RUNNING"


def start_execution(
    state_machine_arn: str, execution_input: str, name: str, sfn: SFNClient | None = None
) -> str | None:
    """StartExecution with a name of the caller's choosing; None when an execution of that name exists already
    (names are unique per state machine: the same request made twice starts one rollout). ``sfn``: a client of the
    caller's (an operator's session), else the shared one."""
    with translated("states:StartExecution"):
        try:
            started = _sfn(sfn).start_execution(stateMachineArn=state_machine_arn, input=execution_input, name=name)
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return None
            raise
    return str(started["executionArn"])


def running_executions(state_machine_arn: str, most: int) -> list[str]:
    """The ARNs of the state machine's running executions, newest first (ListExecutions lists newest first),
    at most ``most`` of them: a page at a time, stopping once it has enough."""
    arns: list[str] = []
    kwargs: ListExecutionsInputTypeDef = {
        "stateMachineArn": state_machine_arn,
        "statusFilter": "RUNNING",
        "maxResults": most,
    }
    while len(arns) < most:
        with translated("states:ListExecutions"):
            page = client("stepfunctions").list_executions(**kwargs)
        arns += [str(e["executionArn"]) for e in page.get("executions", [])]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return arns[:most]


def newest_payloads(execution_arn: str, page: int = 20, most: int = 200) -> Iterator[str]:
    """The execution's state inputs and outputs, newest first (GetExecutionHistory with reverseOrder), a small
    page at a time: the caller stops at the first it can use, so a long history is never read whole."""
    kwargs: GetExecutionHistoryInputTypeDef = {"executionArn": execution_arn, "maxResults": page, "reverseOrder": True}
    read = 0
    while read < most:
        with translated("states:GetExecutionHistory"):
            answer = client("stepfunctions").get_execution_history(**kwargs)
        for event in answer.get("events", []):
            read += 1
            exited, entered = event.get("stateExitedEventDetails"), event.get("stateEnteredEventDetails")
            text = exited.get("output") if exited else entered.get("input") if entered else None
            if text:
                yield str(text)
        if not answer.get("nextToken"):
            return
        kwargs["nextToken"] = answer["nextToken"]
