"""Each handler under moto and the emulator, fed the sample events in events/ (the `sam local invoke` files)."""

import pytest
from rollout_local.emulator.sent import published
from rollout_local.simulator import FunctionError

from tests.helpers import sample_event


def records(world):
    items = world.session.client("dynamodb").scan(TableName=world.stack.table_name)["Items"]
    return {item["sk"]["S"].split("#")[0]: item for item in items}


def notifications(world):
    return published(world.stack.topic_arn)


def test_the_whole_chain_of_handlers_from_the_sample_events(world):
    resolved = world.invoke("ResolveRolloutFunction", sample_event("resolve-rollout.json"))
    assert resolved["policy"]["endpoint_name"] == "churn-prod"
    assert resolved["baseline"] is None, "the endpoint is looked at only once the lock is held"
    assert resolved == sample_event("acquire-lock.json")

    locked = world.invoke("AcquireLockFunction", sample_event("acquire-lock.json"))
    assert locked["lock"]["status"] == "acquired"
    assert {"LOCK", "CLAIM", "ROLLOUT"} <= set(records(world))

    baselined = world.invoke("SnapshotEndpointFunction", sample_event("snapshot-endpoint.json"))
    assert baselined["baseline"]["config_name"] == "churn-prod-config-v0"
    assert baselined["baseline"]["variants"][0]["instance_count"] == 2

    prepared = world.invoke("PrepareTargetFunction", sample_event("prepare-target.json"))
    target = prepared["target"]
    assert target["model_name"] in world.sagemaker.models
    config = world.sagemaker.configs[target["config_name"]]
    assert config["ProductionVariants"][0]["ModelName"] == target["model_name"]
    assert world.sagemaker.models[target["model_name"]]["Containers"] == [
        {"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"}
    ]

    updating = world.invoke("StartUpdateFunction", sample_event("start-update.json"))
    assert updating["touched"] and world.sagemaker.endpoints["churn-prod"].status == "Updating"
    world.invoke("StartUpdateFunction", sample_event("start-update.json"))  # a retried step does not update twice
    assert world.aws.api_calls["sagemaker:UpdateEndpoint"] == 1

    still = world.invoke("CheckEndpointFunction", sample_event("check-endpoint.json"))
    assert still["phase"] == "updating"
    world.clock.advance(600)
    settled = world.invoke("CheckEndpointFunction", sample_event("check-endpoint.json"))
    # the sample policy's only step has no bake (all_at_once, bake_seconds 0): the update was the promotion, and the
    # post-promotion bake judges the new model (never a check on an empty window)
    assert (settled["phase"], settled["next"]) == ("verifying", "bake"), "the post-promotion bake judges the model"
    world.clock.advance(settled["policy"]["post_promotion_bake_seconds"])
    done = world.invoke("EvaluateHealthFunction", settled)
    assert (done["phase"], done["next"]) == ("deployed", "done")
    assert done["history"][0]["verdict"] == "pass"

    world.invoke("ReleaseLockFunction", {**done, "lock": {**done["lock"], "status": "acquired"}})
    assert "LOCK" not in records(world)
    finished = world.invoke("RecordOutcomeFunction", done)
    assert finished["outcome"] == "succeeded"
    assert records(world)["ROLLOUT"]["outcome"]["S"] == "succeeded"
    assert any("succeeded" in message for message in notifications(world))


def test_roll_back_puts_an_updated_endpoint_back_on_its_previous_config(world):
    for step, event in [
        ("ResolveRolloutFunction", "resolve-rollout.json"),
        ("AcquireLockFunction", "acquire-lock.json"),
        ("SnapshotEndpointFunction", "snapshot-endpoint.json"),
        ("PrepareTargetFunction", "prepare-target.json"),
        ("StartUpdateFunction", "start-update.json"),
    ]:
        world.invoke(step, sample_event(event))
    world.clock.advance(600)
    world.sagemaker.settle()
    assert world.sagemaker.endpoints["churn-prod"].config_name != "churn-prod-config-v0"

    state = world.invoke("RollBackFunction", sample_event("roll-back.json"))
    assert state["phase"] == "rolling_back" and "updating churn-prod back" in state["message"]
    world.clock.advance(600)
    state = world.invoke("RollBackFunction", state)
    assert state["phase"] == "rolled_back"
    assert world.sagemaker.endpoints["churn-prod"].config_name == "churn-prod-config-v0"

    cleaned = world.invoke("CleanUpFunction", state)
    assert cleaned["target"]["config_name"] not in world.sagemaker.configs
    assert cleaned["target"]["model_name"] not in world.sagemaker.models
    assert "churn-prod-config-v0" in world.sagemaker.configs, "the baseline config must survive"


def test_record_rejection_writes_the_record_and_tells_the_topic(world):
    result = world.invoke("RecordRejectionFunction", sample_event("record-rejection.json"))
    assert result["outcome"] == "rejected" and "PolicyError" in result["reason"]
    assert records(world)["ROLLOUT"]["outcome"]["S"] == "rejected"
    assert any("rejected" in message for message in notifications(world))


def snapshot_refusal(world, error_type):
    world.invoke("AcquireLockFunction", sample_event("acquire-lock.json"))
    with pytest.raises(FunctionError) as caught:
        world.invoke("SnapshotEndpointFunction", sample_event("snapshot-endpoint.json"))
    assert caught.value.error_type == error_type
    assert world.aws.api_calls["sagemaker:UpdateEndpoint"] == 0
    return caught.value.message


def resolve_with(world, **input_changes):
    payload = sample_event("resolve-rollout.json")
    payload["input"] = {**payload["input"], **input_changes}
    return world.invoke("ResolveRolloutFunction", payload)


def expect_refusal(world, error_type, **input_changes):
    before = world.sagemaker.endpoints["churn-prod"].config_name
    with pytest.raises(FunctionError) as caught:
        resolve_with(world, **input_changes)
    assert caught.value.error_type == error_type
    assert world.sagemaker.endpoints["churn-prod"].config_name == before
    assert world.aws.api_calls["sagemaker:UpdateEndpoint"] == 0
    return caught.value.message


def test_resolve_refuses_a_package_that_does_not_exist(world):
    missing = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/99"
    detail = {**sample_event("resolve-rollout.json")["input"]["detail"], "ModelPackageArn": missing}
    assert missing in expect_refusal(world, "PackageNotFoundError", detail=detail)


def test_resolve_refuses_a_package_that_is_not_approved(world):
    arn = world.create_package("churn", status="PendingManualApproval")
    detail = {**sample_event("resolve-rollout.json")["input"]["detail"], "ModelPackageArn": arn}
    assert "PendingManualApproval" in expect_refusal(world, "PackageNotApprovedError", detail=detail)


def test_snapshot_refuses_an_endpoint_that_is_not_in_service(world):
    world.sagemaker.endpoints["churn-prod"].status = "Updating"
    assert "not InService" in snapshot_refusal(world, "EndpointNotInServiceError")


def test_snapshot_refuses_an_endpoint_whose_config_is_gone(world):
    del world.sagemaker.configs["churn-prod-config-v0"]
    assert "nothing to roll back to" in snapshot_refusal(world, "EndpointConfigNotFoundError")


def test_resolve_refuses_a_malformed_event(world):
    message = expect_refusal(world, "MalformedEventError", **{"detail-type": "Something Else"})
    assert "'Something Else' is not a 'aws.sagemaker'/'SageMaker Model Package State Change' event" in message


@pytest.fixture
def running(monkeypatch):
    """Executions the handlers should take as running (the sample events name executions moto never ran)."""
    from rollout.aws import stepfunctions

    alive: set[str] = set()
    monkeypatch.setattr(stepfunctions, "execution_running", lambda arn: arn in alive)
    return alive


def test_a_queued_rollout_waits_then_gives_up_after_its_queue_timeout(world, running):
    running.update(
        {sample_event("acquire-lock.json")["execution_arn"], "arn:aws:states:us-east-1:123456789012:execution:m:other"}
    )
    first = world.invoke("AcquireLockFunction", sample_event("acquire-lock.json"))
    assert first["lock"]["status"] == "acquired"
    second = {
        **sample_event("acquire-lock.json"),
        "rollout_id": "other",
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:other",
        "request": {**sample_event("acquire-lock.json")["request"], "source": "manual"},
    }
    queued = world.invoke("AcquireLockFunction", second)
    assert queued["lock"]["status"] == "busy" and "sample-rollout" in queued["message"]
    world.clock.advance(3601)
    refused = world.invoke("AcquireLockFunction", queued)
    assert refused["lock"]["status"] == "refused" and refused["outcome"] == "rejected"
    assert "queue_timeout_seconds" in refused["reason"]


def test_a_second_delivery_of_the_same_approval_is_a_duplicate(world):
    world.invoke("AcquireLockFunction", sample_event("acquire-lock.json"))
    copy = {
        **sample_event("acquire-lock.json"),
        "rollout_id": "copy",
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:copy",
    }
    duplicate = world.invoke("AcquireLockFunction", copy)
    assert duplicate["lock"]["status"] == "duplicate" and duplicate["outcome"] == "duplicate"
    assert world.aws.api_calls["dynamodb:PutItem"] >= 2


def test_a_lock_whose_execution_ended_is_taken_over(world, running):
    first = sample_event("acquire-lock.json")
    running.add(first["execution_arn"])
    world.invoke("AcquireLockFunction", first)
    other = {
        **first,
        "rollout_id": "later",
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:later",
        "request": {**first["request"], "source": "manual"},
    }
    running.add(other["execution_arn"])
    assert world.invoke("AcquireLockFunction", other)["lock"]["status"] == "busy", "the holder still runs"
    running.discard(first["execution_arn"])  # it ended without releasing the lock
    taken = world.invoke("AcquireLockFunction", other)
    assert taken["lock"]["status"] == "acquired" and "taken over from rollout sample-rollout" in taken["message"]
