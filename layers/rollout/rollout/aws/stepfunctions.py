"""Step Functions: failing a waiting callback task when something it watches goes wrong, whether an execution
still runs, and starting one (a person's retry or undo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated

if TYPE_CHECKING:  # request and response shapes checked by mypy (mypy-boto3-stepfunctions: dev only, not shipped)
    from mypy_boto3_stepfunctions import SFNClient


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
