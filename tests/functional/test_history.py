"""GetExecutionHistory is written as JSON directly: what boto3 reads is what moto's own serializer gives."""

from unittest import mock

from moto.core.responses import ActionResult
from moto.stepfunctions.responses import StepFunctionResponse


def moto_s_own(response):
    return ActionResult(response.stepfunction_backend.get_execution_history(response._get_param("executionArn")))


def test_the_history_boto3_reads_is_the_one_moto_serializes(world):
    arn = world.start(["not", "an", "object"])  # a short execution: its rejection is recorded, then it fails
    world.wait([arn])
    fast = world.sfn.get_execution_history(executionArn=arn)
    with mock.patch.object(StepFunctionResponse, "get_execution_history", moto_s_own):
        slow = world.sfn.get_execution_history(executionArn=arn)
    assert len(fast["events"]) > 10 and fast["events"] == slow["events"]
    assert fast.get("nextToken") == slow.get("nextToken")
    backwards = world.sfn.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
    assert backwards == list(reversed(fast["events"])), "AWS honours reverseOrder (moto does not)"
