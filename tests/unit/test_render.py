"""The timeline a person reads: one line per wait, each check once, events in the order they happened."""

from rollout_local.render import _timeline_lines
from rollout_local.report import TimelineEntry


def entry(t, state, note="", rollout="r", **more):
    return TimelineEntry(t=t, state=state, note=note, rollout=rollout, **more)


def test_a_wait_and_its_polls_are_one_line_then_the_look_with_news():
    entries = [entry(5, "Start Update", "updating endpoint e")]
    t = 7.0
    for second in range(1, 6):
        entries += [
            entry(t, "Wait For Endpoint", "30 s"),
            entry(t + 30, "Check Endpoint", f"e is Updating ({30 * second} s)"),
        ]
        t += 31
    entries += [entry(t, "Wait For Endpoint", "30 s"), entry(t + 30, "Check Endpoint", "variant v is live")]
    lines = _timeline_lines(entries)
    assert lines == [
        "   +00:05  Start Update             updating endpoint e",
        "   +00:07  Wait For Endpoint        3m05s, 6 checks: e is Updating",
        "   +03:12  Check Endpoint           variant v is live",
    ]


def test_a_bake_that_repeats_the_check_before_it_is_left_out():
    entries = [
        entry(60, "Check Endpoint", "step 1/2: 10% of traffic on the new model, baking 600 s"),
        entry(60, "Bake", "step 1/2: 10% of traffic on the new model, baking 600 s"),
        entry(120, "Evaluate Health", "step 1/2 (10%): pass - 5XX rate 0.10%"),
        entry(121, "Bake", "step 1/2 (10%): pass - 5XX rate 0.10%"),
        entry(180, "Evaluate Health", "step 1/2 (10%): pass - 5XX rate 0.12%"),
    ]
    states = [line.split()[1] for line in _timeline_lines(entries)]
    assert states == ["Check", "Evaluate", "Evaluate"]


def test_a_wait_ended_by_an_alarm_is_told_after_the_alarm_at_the_time_it_ended():
    entries = [
        entry(852, "Evaluate Health", "step 1/2 (20%): pass"),
        entry(853, "Bake", "AlarmFiredError: alarm a went to ALARM", ended=900.4, failed=True),
        entry(900.0, "alarm a", "OK -> ALARM: conversion fell", rollout=None),
        entry(901, "Evaluate Health", "step 1/2 (20%): fail - alarm a is in ALARM"),
    ]
    lines = _timeline_lines(sorted(entries, key=lambda e: e.t))
    assert [line.split()[1] for line in lines] == ["Evaluate", "alarm", "Bake", "Evaluate"]
    assert lines[2].startswith("   +15:00  Bake"), "the time it ended, not the time it began"
