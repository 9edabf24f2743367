"""The fast path: a bake registers its task token under the watched alarms; the listener fails it on ALARM."""

import pytest
from rollout_local.simulator import FunctionError

from tests.helpers import sample_event

ALARM = "checkout-conversion-low"


def watchers(world):
    items = world.session.client("dynamodb").scan(TableName=world.stack.table_name)["Items"]
    return [item for item in items if item["pk"]["S"] == f"ALARM#{ALARM}"]


def create_alarm(world, state):
    cloudwatch = world.session.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="Business",
        MetricName="Conversion",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.02,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="set by the test")


def test_a_bake_registers_its_token_under_every_watched_alarm(world):
    create_alarm(world, "OK")
    event = sample_event("watch-bake.json")
    assert world.invoke("WatchBakeFunction", event)["watching"] == [ALARM]
    (item,) = watchers(world)
    assert item["task_token"]["S"] == event["task_token"]


def test_an_alarm_already_in_alarm_fails_the_bake_at_once(world):
    create_alarm(world, "ALARM")
    with pytest.raises(FunctionError) as caught:
        world.invoke("WatchBakeFunction", sample_event("watch-bake.json"))
    assert caught.value.error_type == "AlarmFiredError" and "as the bake of step 1 starts" in caught.value.message


def test_the_listener_fails_the_watching_bakes_and_shrugs_off_ended_ones(world):
    create_alarm(world, "OK")
    world.invoke("WatchBakeFunction", sample_event("watch-bake.json"))
    result = world.invoke("AlarmListenerFunction", sample_event("alarm-listener.json"))
    # the sample's token belongs to a run that is over: Step Functions says so, and the listener moves on
    assert result == {"alarm": ALARM, "failed_bakes": []}
    assert world.aws.api_calls["sfn:SendTaskFailure"] == 1


def test_the_listener_ignores_alarms_that_recover(world):
    event = sample_event("alarm-listener.json")
    event["detail"]["state"]["value"] = "OK"
    assert world.invoke("AlarmListenerFunction", event)["failed_bakes"] == []
    assert world.aws.api_calls["dynamodb:Query"] == 0


def test_the_listener_refuses_other_events(world):
    with pytest.raises(FunctionError) as caught:
        world.invoke("AlarmListenerFunction", sample_event("model-package-approved.json"))
    assert caught.value.error_type == "MalformedEventError"
