"""events/verify-variant.json (the `sam local invoke VerifyVariantFunction -e` sample) is the exact input the
function receives in scenarios/canary-verified.yaml, as `python -m rollout_local.capture_events` captures it."""

from rollout_local.capture_events import EXECUTION_NAME, file_name
from rollout_local.scenario import load_scenario
from rollout_local.simulator import Simulation

from tests.helpers import ROOT, sample_event


def test_the_verify_variant_sample_is_what_the_function_receives_before_any_traffic():
    with Simulation(load_scenario(ROOT / "scenarios" / "canary-verified.yaml")) as simulation:
        report = simulation.run(EXECUTION_NAME)
        received = [i.event for i in simulation.aws.invocations if i.function == "VerifyVariantFunction"]
    assert report.outcome == "succeeded", report.reason
    assert file_name("VerifyVariantFunction") == "verify-variant.json"
    assert received and received[0] == sample_event("verify-variant.json")
    state = received[0]
    assert state["next"] == "verify" and state["verification"] is None, "judged before it has a verdict"
    assert state["policy"]["verification"]["sample_size"] == 100
    assert state["target"]["variant_name"] and state["phase"] == "updating", "the new variant is live at weight 0"
