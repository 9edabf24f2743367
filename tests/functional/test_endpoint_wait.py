"""Waiting for an endpoint: Wait For Endpoint registers its task token for the endpoint; SageMaker's endpoint
events (through the endpoint listener) end the wait; the emulator sends those events with AWS's shape."""

import copy

import pytest
from rollout_local.simulator import FunctionError

from tests.helpers import sample_event


def waiting_item(world):
    key = {"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": "WAIT"}}
    return world.session.client("dynamodb").get_item(TableName=world.stack.table_name, Key=key).get("Item")


def updating(world):
    """Put the live endpoint into Updating (a weight change, through the API), as during a rollout."""
    world.sm.update_endpoint_weights_and_capacities(
        EndpointName="churn-prod", DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 1.0}]
    )


def test_the_wait_registers_its_token_as_the_endpoints_waiting_task(world):
    updating(world)
    event = sample_event("wait-endpoint.json")
    result = world.invoke("WaitEndpointFunction", event)
    assert result == {"endpoint": "churn-prod", "status": "Updating", "waiting": True}
    item = waiting_item(world)
    assert item["task_token"]["S"] == event["task_token"] and item["kind"]["S"] == "endpoint"
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 0


def test_an_endpoint_that_settled_before_the_token_was_registered_ends_the_wait_at_once(world):
    # InService already: the event that said so came before the token was there - nobody would wake the task
    result = world.invoke("WaitEndpointFunction", sample_event("wait-endpoint.json"))
    assert result["waiting"] is False and result["status"] == "InService"
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 1


def test_the_listener_wakes_the_waiting_task_and_shrugs_off_ended_ones(world):
    updating(world)
    world.invoke("WaitEndpointFunction", sample_event("wait-endpoint.json"))
    result = world.invoke("EndpointListenerFunction", sample_event("endpoint-listener.json"))
    # the sample's token belongs to a run that is over: Step Functions says so, and the listener moves on
    assert result == {"endpoint": "churn-prod", "status": "IN_SERVICE", "woke": None}
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 1


@pytest.mark.parametrize("status", ["UPDATING", "CREATING", "SYSTEM_UPDATING", "ROLLING_BACK", "DELETING"])
def test_a_change_that_only_began_wakes_nobody(world, status):
    updating(world)
    world.invoke("WaitEndpointFunction", sample_event("wait-endpoint.json"))
    event = sample_event("endpoint-listener.json")
    event["detail"]["EndpointStatus"] = status
    assert world.invoke("EndpointListenerFunction", event)["woke"] is None
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 0 and world.aws.api_calls["dynamodb:GetItem"] == 0


def test_a_deployment_stage_wakes_the_wait_whatever_the_status(world):
    updating(world)
    world.invoke("WaitEndpointFunction", sample_event("wait-endpoint.json"))
    event = sample_event("endpoint-listener.json")
    event["detail-type"] = "SageMaker Endpoint Deployment State Change"
    event["detail"]["EndpointStatus"] = "UPDATING"
    world.invoke("EndpointListenerFunction", event)
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 1


def test_a_bake_is_not_woken_by_an_endpoint_event(world):
    # an autoscaling change mid-bake must not end the bake: only an endpoint wait is woken
    world.invoke("WatchBakeFunction", sample_event("watch-bake.json"))
    assert world.invoke("EndpointListenerFunction", sample_event("endpoint-listener.json"))["woke"] is None
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 0


def test_an_event_for_an_endpoint_nobody_waits_for_changes_nothing(world):
    event = sample_event("endpoint-listener.json")
    event["detail"]["EndpointName"] = "someone-elses-endpoint"
    assert world.invoke("EndpointListenerFunction", event)["woke"] is None
    assert world.aws.api_calls["sfn:SendTaskSuccess"] == 0


def test_the_listener_refuses_other_events(world):
    for event in (sample_event("model-package-approved.json"), sample_event("alarm-listener.json")):
        with pytest.raises(FunctionError) as caught:
            world.invoke("EndpointListenerFunction", event)
        assert caught.value.error_type == "MalformedEventError"


def test_the_emulator_sends_each_status_transition_with_aws_shape(world):
    sent = []
    world.sagemaker.on_event = sent.append
    updating(world)
    world.clock.advance(world.scenario.timings.update_weights_seconds)
    world.sagemaker.settle()
    statuses = [e["detail"]["EndpointStatus"] for e in sent]
    assert statuses == ["UPDATING", "IN_SERVICE"]
    event = sent[-1]
    assert event["source"] == "aws.sagemaker" and event["detail-type"] == "SageMaker Endpoint State Change"
    assert event["resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod"]
    detail = event["detail"]
    assert detail["EndpointName"] == "churn-prod" and isinstance(detail["LastModifiedTime"], float)
    assert detail["ProductionVariants"][0]["VariantName"] == "blue" and detail["Tags"] == {}
    # the rule in template.yaml selects it, and the listener is its target
    matched = [rule.name for rule in world.bus.rules if rule.pattern.matches_event(copy.deepcopy(event))]
    assert matched == ["EndpointListenerFunction"]
    # settling again, with nothing new, sends nothing
    world.sagemaker.settle()
    assert len(sent) == 2
