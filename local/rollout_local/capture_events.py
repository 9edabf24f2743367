"""Regenerate the per-function sample events in events/ from simulated runs: `python -m rollout_local.capture_events`.

Each file is the exact input one function received in a real local run, so `sam local invoke -e` and the
functional tests are fed the same payloads the state machine sends. Names and times are deterministic.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from rollout_local.scenario import load_scenario
from rollout_local.simulator import Simulation
from rollout_local.stack import ROOT

SOURCES = ("standard-happy-path", "standard-update-fails", "invalid-policy")
EXECUTION_NAME = "sample-rollout"


def file_name(function: str) -> str:
    """ResolveRolloutFunction -> resolve-rollout.json"""
    stem = re.sub(r"Function$", "", function)
    return re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower() + ".json"


def capture(root: Path = ROOT) -> dict[str, dict[str, object]]:
    captured: dict[str, dict[str, object]] = {}
    for source in SOURCES:
        scenario = load_scenario(root / "scenarios" / f"{source}.yaml")
        with Simulation(scenario) as simulation:
            simulation.run(EXECUTION_NAME)
            for invocation in simulation.aws.invocations:
                captured.setdefault(file_name(invocation.function), invocation.event)
    return captured


def main() -> int:
    for name, event in sorted(capture().items()):
        (ROOT / "events" / name).write_text(json.dumps(event, indent=2, sort_keys=True) + "\n")
        print(f"events/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
