"""The listeners parse their EventBridge events with Powertools' Parser (rollout.eventbridge): an event that is not the
one the function handles - a missing envelope field, a wrong source or detail-type, a detail without its fields, no
object at all - is refused with one line of MalformedEventError, before any AWS call: nothing changes."""

import pytest
from rollout_local.simulator import FunctionError

from tests.helpers import sample_event

LISTENERS = {
    "AlarmListenerFunction": "alarm-listener.json",
    "EndpointListenerFunction": "endpoint-listener.json",
    "PackageListenerFunction": "model-package-approved.json",
}


def without(key):
    return lambda event: {k: v for k, v in event.items() if k != key}


MALFORMED = {
    "no account (the envelope)": (without("account"), "account: Field required"),
    "no time (the envelope)": (without("time"), "time: Field required"),
    "no detail-type": (without("detail-type"), "detail-type: Field required"),
    "another source": (lambda e: {**e, "source": "aws.events"}, "is not a 'aws."),
    "another detail-type": (lambda e: {**e, "detail-type": "Scheduled Event"}, "'Scheduled Event' is not a"),
    "an empty detail": (lambda e: {**e, "detail": {}}, "detail."),
    "a detail that is no object": (lambda e: {**e, "detail": "{}"}, "detail: "),
}


@pytest.mark.parametrize("function", sorted(LISTENERS))
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_event_is_one_line_and_changes_nothing(world, function, case):
    mutate, said = MALFORMED[case]
    before = sum(world.aws.api_calls.values())
    with pytest.raises(FunctionError) as caught:
        world.invoke(function, mutate(sample_event(LISTENERS[function])))
    assert caught.value.error_type == "MalformedEventError"
    assert said in caught.value.message and "\n" not in caught.value.message, caught.value.message
    assert sum(world.aws.api_calls.values()) == before, "a malformed event made AWS calls"


@pytest.mark.parametrize("function", sorted(LISTENERS))
def test_each_listener_refuses_the_others_events(world, function):
    for other in sorted(set(LISTENERS) - {function}):
        with pytest.raises(FunctionError) as caught:
            world.invoke(function, sample_event(LISTENERS[other]))
        assert caught.value.error_type == "MalformedEventError"
        assert "\n" not in caught.value.message


@pytest.mark.parametrize("event", [[], "text", 7])
def test_an_event_that_is_no_object_is_refused(world, event):
    with pytest.raises(FunctionError) as caught:
        world.invoke("AlarmListenerFunction", event)
    assert caught.value.error_type == "MalformedEventError" and "must be a JSON object" in caught.value.message
