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

SOURCES = (
    "standard-happy-path",
    "standard-update-fails",
    "invalid-policy",
    "canary-happy-path",
    "canary-alarm-mid-bake",
    "canary-verified",  # the only source of verify-variant.json (a pre-traffic verification)
)
EXECUTION_NAME = "sample-rollout"
# files whose most useful sample comes from a later source than the first that invokes the function
PREFERRED = {"watch-bake.json": "canary-alarm-mid-bake", "shift-traffic.json": "canary-alarm-mid-bake"}


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
            seen: set[str] = set()
            for invocation in simulation.aws.invocations:
                name = file_name(invocation.function)
                if PREFERRED.get(name) == source and name not in seen:
                    captured[name] = invocation.event
                captured.setdefault(name, invocation.event)
                seen.add(name)
    return captured


def main() -> int:
    for name, event in sorted(capture().items()):
        (ROOT / "events" / name).write_text(json.dumps(event, indent=2, sort_keys=True) + "\n")
        print(f"events/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
