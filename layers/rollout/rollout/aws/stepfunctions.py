"""Step Functions: failing a waiting callback task when something it watches goes wrong."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated

GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def fail_task(token: str, error: str, cause: str) -> bool:
    """SendTaskFailure. False when the task is no longer waiting (its bake already ended)."""
    with translated("states:SendTaskFailure"):
        try:
            client("stepfunctions").send_task_failure(taskToken=token, error=error, cause=cause[:32768])
        except ClientError as exc:
            if error_code(exc) in GONE:
                return False
            raise
    return True
