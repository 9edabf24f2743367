"""Scenario files: every key checked when the file loads, each mistake one line naming the entry and the key."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from rollout_local.agenda import Agenda
from rollout_local.emulator.clock import VirtualClock
from rollout_local.emulator.sagemaker import SageMakerEmulator
from rollout_local.emulator.world import Behaviour
from rollout_local.registry import Registry
from rollout_local.scenario import ScenarioError, endpoint_name_of, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "name": "t",
    "endpoint": {"name": "churn-prod", "variants": [{"name": "blue"}]},
    "approval": {"group": "churn", "event": "events/model-package-approved.json"},
    "policy": {"endpoint_name": "churn-prod"},
}


def error(**changes):
    with pytest.raises(ScenarioError) as raised:
        parse_scenario({**BASE, **changes}, ROOT)
    message = str(raised.value)
    assert "\n" not in message, "one line"
    return message


def timeline_error(*entries):
    return error(timeline=list(entries))


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads(path):
    assert load_scenario(path).name == path.stem


def test_a_timeline_with_every_action_loads():
    scenario = parse_scenario(
        {
            **BASE,
            "alarms": [{"name": "conversion", "script": [{"at_seconds": 0, "state": "OK"}]}],
            "timeline": [
                {"at_seconds": 0, "action": "approve", "group": "churn"},
                {"at_seconds": 10, "action": "approve", "package": "churn/1", "duplicates": 1},
                {"at_seconds": 20, "action": "set_approval", "package": "churn/2", "status": "Rejected"},
                {"at_seconds": 30, "action": "package_event", "package": "churn/1", "metadata": {"stage": "old"}},
                {"at_seconds": 40, "action": "operator", "command": "approve"},
                {"at_seconds": 40, "action": "operator", "command": "start", "package": "churn/1"},
                {"at_seconds": 45, "action": "start_execution", "input": None},
                {"at_seconds": 50, "action": "update_weights", "endpoint": "churn-prod", "weights": {"blue": 2}},
                {"at_seconds": 60, "action": "set_alarm", "alarm": "conversion", "state": "ALARM"},
                {"at_seconds": 60, "action": "set_alarm", "alarm": "sagemaker-rollout-x-5xx", "state": "ALARM"},
                {
                    "at_seconds": 70,
                    "action": "update_endpoint",
                    "endpoint": "churn-prod",
                    "variants": [{"name": "hotfix", "package": "churn/2"}],
                },
                {
                    "at_seconds": 80,
                    "action": "update_endpoint",
                    "endpoint": "churn-prod",
                    "config": "churn-prod-config-t10",
                },
                {"at_seconds": 90, "action": "delete_config", "endpoint": "churn-prod"},
                {"at_seconds": 90, "action": "delete_config", "config": "churn-prod-config-v0"},
                {"at_seconds": 99, "action": "delete_endpoint", "endpoint": "churn-prod"},
            ],
        },
        ROOT,
    )
    assert [e.action for e in scenario.timeline][:3] == ["approve", "approve", "set_approval"]


def test_the_one_endpoint_shorthand_and_several_endpoints():
    several = parse_scenario(
        {
            **BASE,
            "endpoint": None,
            "endpoints": [
                {"name": "a-prod", "variants": [{"name": "blue"}]},
                {"name": "churn-prod", "variants": [{"name": "blue"}]},
            ],
        },
        ROOT,
    )
    assert [e.name for e in several.live_endpoints()] == ["a-prod", "churn-prod"]
    assert endpoint_name_of(several) == "churn-prod", "the endpoint the approval targets"


CASES = {
    "an unknown action, with the likely one": (
        [{"at_seconds": 1, "action": "aprove", "group": "churn"}],
        "timeline[0]: unknown action 'aprove' (did you mean 'approve'?)",
    ),
    "no action": ([{"at_seconds": 1, "group": "churn"}], "timeline[0]: every timeline entry needs 'action'"),
    "a mistyped key": (
        [{"at_seconds": 1, "action": "set_approval", "package": "churn/1", "status": "Rejected", "reson": "x"}],
        "timeline[0]: unknown key 'reson'",
    ),
    "a key of a nested variant": (
        [{"at_seconds": 1, "action": "update_endpoint", "endpoint": "churn-prod", "variants": [{"nmae": "x"}]}],
        "timeline[0].variants[0]: unknown key 'nmae' (did you mean 'name'?)",
    ),
    "a missing key": ([{"at_seconds": 1, "action": "set_approval", "package": "churn/1"}], "missing 'status'"),
    "a status SageMaker does not have": (
        [{"at_seconds": 1, "action": "set_approval", "package": "churn/1", "status": "approved"}],
        "timeline[0].status: Input should be 'Approved', 'Rejected' or 'PendingManualApproval'",
    ),
    "a package that is not group/version": (
        [{"at_seconds": 1, "action": "package_event", "package": "churn"}],
        "timeline[0].package: 'churn' is not group/version",
    ),
    "a version not registered by then": (
        [
            {"at_seconds": 1, "action": "set_approval", "package": "churn/2", "status": "Rejected"},
            {"at_seconds": 2, "action": "approve", "group": "churn"},
        ],
        "timeline[0] (set_approval): package churn/2: only versions 1-1 of churn are registered by then",
    ),
    "a mistyped group": (
        [{"at_seconds": 1, "action": "package_event", "package": "chrun/1"}],
        "no version of group 'chrun' is registered (did you mean 'churn'?)",
    ),
    "entries out of time order": (
        [
            {"at_seconds": 100, "action": "approve", "group": "churn"},
            {"at_seconds": 50, "action": "approve", "group": "churn"},
        ],
        "timeline[1] (approve): at_seconds 50 comes before the previous entry's 100",
    ),
    "a negative time": ([{"at_seconds": -1, "action": "approve", "group": "churn"}], "timeline[0].at_seconds"),
    "an unknown endpoint": (
        [{"at_seconds": 1, "action": "update_weights", "endpoint": "churn-prd", "weights": {"blue": 1}}],
        "unknown endpoint 'churn-prd' (did you mean 'churn-prod'?)",
    ),
    "an unknown config": (
        [{"at_seconds": 1, "action": "delete_config", "config": "churn-prod-config-v1"}],
        "unknown config 'churn-prod-config-v1' (did you mean 'churn-prod-config-v0'?)",
    ),
    "an alarm nobody declared": (
        [{"at_seconds": 1, "action": "set_alarm", "alarm": "convresion", "state": "ALARM"}],
        "unknown alarm 'convresion'",
    ),
    "both group and package": (
        [{"at_seconds": 1, "action": "approve", "group": "churn", "package": "churn/1"}],
        "approve needs exactly one of 'group' (a new version) or 'package'",
    ),
    "a start without a package": (
        [{"at_seconds": 1, "action": "operator", "command": "start"}],
        "operator start needs 'package'",
    ),
    "weights that change nothing": (
        [{"at_seconds": 1, "action": "update_weights", "endpoint": "churn-prod"}],
        "update_weights needs 'weights' or 'instance_counts'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_timeline_entry_is_one_specific_line(case):
    entries, expected = CASES[case]
    assert expected in timeline_error(*entries)


def test_other_mistakes_are_one_specific_line_too():
    assert error(timelnie=[]) == "scenario: unknown key 'timelnie' (did you mean 'timeline'?)"
    assert error(model_behaviour={"new": {"error_rat": 0.1}}) == (
        "model_behaviour.new: unknown key 'error_rat' (did you mean 'error_rate'?)"
    )
    assert "model_behaviour.chrun: not 'baseline', 'new'" in error(model_behaviour={"chrun": {}})
    assert error(policies={"churn": {}}) == "policy and policies.churn both set the approval group's policy: keep one"
    assert "policies.frud: no package of group 'frud'" in error(policies={"frud": {}})
    assert "not both" in error(endpoints=[{"name": "x", "variants": [{"name": "a"}]}])
    assert "without an approval use policies" in error(approval=None)
    two = [{"name": "a", "variants": [{"name": "v"}]}, {"name": "b", "variants": [{"name": "v"}]}]
    metric_alarm = {"name": "a-5xx", "metric": "Invocation5XXErrors", "variant": "v"}
    assert "name its 'endpoint'" in error(
        endpoint=None, endpoints=two, alarms=[metric_alarm], policy=None, approval=None
    )


def test_load_scenario_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\napproval: {group: churn, manual: {}}\ntimeline: [{at_seconds: 1, action: nope}]\n")
    with pytest.raises(ScenarioError, match=r"^.*bad\.yaml: timeline\[0\]: unknown action 'nope'"):
        load_scenario(path)


# --- how models behave ------------------------------------------------------------------------------------------


def test_the_most_specific_behaviour_wins():
    clock = VirtualClock()
    sagemaker = SageMakerEmulator(clock.now)
    for group in ("churn", "fraud"):
        sagemaker.op_CreateModelPackageGroup({"ModelPackageGroupName": group})
    arns = {}
    for group, version in (("churn", 1), ("churn", 2), ("fraud", 1)):
        arns[(group, version)] = sagemaker.op_CreateModelPackage({"ModelPackageGroupName": group})["ModelPackageArn"]
    for name, key in (("m-churn-1", ("churn", 1)), ("m-churn-2", ("churn", 2)), ("m-fraud", ("fraud", 1))):
        sagemaker.op_CreateModel(
            {"ModelName": name, "ExecutionRoleArn": "r", "Containers": [{"ModelPackageName": arns[key]}]}
        )
    registry = Registry(sagemaker, None, None, clock.now, lambda event: None)
    registry.approved = {arns[("churn", 2)], arns[("fraud", 1)]}
    slow, bad, by_name, new = (Behaviour(latency_ms=n) for n in (1, 2, 3, 4))
    registry.behaviours = {"churn": [slow], "churn/2": [bad], "m-fraud": [by_name], "new": [new]}
    assert registry.behaviour_of("m-churn-2") == ([bad], True), "group/version beats group"
    assert registry.behaviour_of("m-churn-1") == ([slow], False), "group beats baseline"
    assert registry.behaviour_of("m-fraud") == ([by_name], True), "the model's name beats everything"
    registry.behaviours = {"new": [new]}
    assert registry.behaviour_of("m-fraud") == ([new], True)
    assert registry.behaviour_of("m-churn-1") == ([], False), "no baseline behaviour: the world's default"


# --- the agenda -------------------------------------------------------------------------------------------------


def test_the_agenda_runs_calls_at_their_exact_time_in_the_order_scheduled():
    clock = VirtualClock()
    agenda = Agenda(clock)
    ran = []

    def note(label):
        return lambda: ran.append((label, clock.elapsed()))

    agenda.at(clock.start + timedelta(seconds=20.5), note("b"))
    agenda.at(clock.start + timedelta(seconds=7), note("a"))
    agenda.at(clock.start + timedelta(seconds=20.5), note("c"))
    agenda.at(clock.start + timedelta(seconds=7), lambda: agenda.at(clock.now(), note("a-then")))
    clock.enter()
    agenda.start()
    clock.exit()
    done = threading.Event()
    agenda.at(clock.start + timedelta(seconds=30), done.set)
    assert done.wait(10)
    agenda.stop(timeout=10)
    assert ran == [("a", 7.0), ("a-then", 7.0), ("b", 20.5), ("c", 20.5)]
    assert not agenda.pending() and agenda.errors == []


def test_a_file_that_is_not_yaml_is_one_line_too(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\n  bad: [\n")
    with pytest.raises(
        ScenarioError, match=r"broken\.yaml: not valid YAML: mapping values are not allowed here at line 2"
    ):
        load_scenario(path)
