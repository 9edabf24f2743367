"""Every showcase scenario in ``scenarios/`` is a test: it runs through the real state machine with local mode's
rules on and ends as its own ``expect:`` says (``timeline-busy-day`` runs through the CLI in test_timeline, which
judges it by the same block: the CLI exits 1 when the report is not as it expects)."""

from pathlib import Path

import pytest
from rollout_local.expect import unmet
from rollout_local.scenario import load_scenario

from tests.helpers import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
RUN_ELSEWHERE = {"timeline-busy-day"}


def test_every_showcase_scenario_says_how_it_ends():
    assert SCENARIOS
    missing = [path.name for path in SCENARIOS if load_scenario(path).expect is None]
    assert missing == [], f"scenarios without expect: {missing}"


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.stem not in RUN_ELSEWHERE], ids=lambda p: Path(p).stem)
def test_showcase_scenario_ends_as_it_expects(run, path):
    scenario = load_scenario(path)
    assert scenario.expect is not None
    report, _ = run(scenario)
    assert unmet(scenario.expect, report) == [], report.reason
    wrong = scenario.expect.model_copy(
        update={"outcome": "other", "new_model_serves": not scenario.expect.new_model_serves}
    )
    assert len(unmet(wrong, report)) == 2, "the check can fail"
    assert report.event_errors == []
