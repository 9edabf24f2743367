"""No silent loss: an event EventBridge cannot deliver, or a listener that keeps failing, ends in the dead-letter
queue with what is needed to replay it."""

import json

from botocore.exceptions import ClientError
from rollout_local.bus import DeadLetters, EventBus, Rule, _events_may_send
from rollout_local.simulator import Simulation
from rollout_local.stack import load_template

from tests.helpers import scenario

QUEUE = "arn:aws:sqs:us-east-1:123456789012:sagemaker-rollout-local-event-dead-letters"
RULE = "arn:aws:events:us-east-1:123456789012:rule/sagemaker-rollout-local-model-approved"


def test_a_listener_that_keeps_failing_is_retried_twice_then_its_event_goes_to_the_queue():
    failing = {"function": "AlarmListenerFunction", "kind": "raises", "error_type": "KeyError", "times": 3}
    story = scenario(
        approval=None,
        policy=None,
        faults=[failing],
        alarms=[{"name": "checkout-conversion-low"}],
        timeline=[{"at_seconds": 30, "action": "set_alarm", "alarm": "checkout-conversion-low", "state": "ALARM"}],
    )
    with Simulation(story) as sim:
        sim.run()
        attempts = [i for i in sim.aws.invocations if i.function == "AlarmListenerFunction"]
        # EventBridge hands the event over 0.5 s later; Lambda retries after one minute, then after two more
        assert [round((i.at - sim.clock.start).total_seconds()) for i in attempts] == [32, 92, 212]
        assert all(i.error == "KeyError" for i in attempts)
        (letter,) = sim.dead_letters()
        record = json.loads(letter["Body"])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["requestPayload"]["detail"]["alarmName"] == "checkout-conversion-low"
        assert record["responsePayload"]["errorType"] == "KeyError"


def test_a_listener_that_recovers_on_a_retry_leaves_nothing_behind():
    once = {"function": "AlarmListenerFunction", "kind": "raises", "error_type": "KeyError", "times": 1}
    story = scenario(
        approval=None,
        policy=None,
        faults=[once],
        alarms=[{"name": "checkout-conversion-low"}],
        timeline=[{"at_seconds": 30, "action": "set_alarm", "alarm": "checkout-conversion-low", "state": "ALARM"}],
    )
    with Simulation(story) as sim:
        sim.run()
        assert sim.dead_letters() == []


class Sent:
    def __init__(self):
        self.messages = []

    def __call__(self, queue, body, attributes):
        self.messages.append((queue, json.loads(body), attributes))


def bus_refusing_starts(rule_arn):
    def start(_event):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "StartExecution")

    template = load_template()
    policy = template["Resources"]["EventDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    statements = [{**s, "Resource": QUEUE, "Condition": {"ArnEquals": {"aws:SourceArn": [RULE]}}} for s in policy]
    sent = Sent()
    bus = EventBus([], None, lambda: None, start, None, dead_letters=DeadLetters({}, {QUEUE: statements}, {}, sent))
    rule = Rule("state machine", None, "arn:aws:states:us-east-1:123456789012:stateMachine:x", True, rule_arn, QUEUE)
    return bus, rule, sent


def test_an_approval_eventbridge_cannot_deliver_lands_in_the_queue_with_why():
    bus, rule, sent = bus_refusing_starts(RULE)
    event = {"source": "aws.sagemaker", "detail": {"ModelPackageArn": "p"}}
    bus.deliver(rule, event)
    ((queue, body, attributes),) = sent.messages
    assert queue == QUEUE and body == event
    assert attributes == {
        "RULE_ARN": RULE,
        "TARGET_ARN": rule.target,
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": "not allowed",
    }


def test_a_queue_whose_policy_does_not_name_the_rule_loses_the_event_as_on_aws():
    bus, rule, sent = bus_refusing_starts("arn:aws:events:us-east-1:123456789012:rule/someone-elses-rule")
    bus.deliver(rule, {"source": "aws.sagemaker"})
    assert sent.messages == [] and bus.errors[-1]["errorType"] == "DeadLetterDenied"


def test_every_rule_of_the_template_has_a_dead_letter_queue_its_policy_lets_it_use():
    with Simulation(scenario()) as sim:
        rules = sim.stack.rules
        assert len(rules) == 4 and all(r.dead_letter_arn for r in rules)  # approvals, alarms, revocations, endpoints
        for rule in rules:
            statements = sim.stack.queue_policies[rule.dead_letter_arn]
            assert _events_may_send(statements, rule.dead_letter_arn, rule.arn), rule.name
        # every function EventBridge invokes (asynchronously) sends a failed invocation somewhere: checkov's
        # CKV_AWS_116 is suppressed for the whole template on the strength of this
        invoked = {r.target for r in rules if r.target != sim.stack.state_machine_arn}
        assert len(invoked) == 3
        for function in invoked:
            config = sim.stack.async_configs[function]
            assert config.on_failure_arn == QUEUE and config.maximum_retry_attempts == 2
