"""Shared test helpers: scenarios as dicts, sample events from events/, and the emulated world."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rollout_local.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
APPROVAL_EVENT = "events/model-package-approved.json"
LIVE_ENDPOINT: dict[str, Any] = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1}],
}


def sample_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def scenario(**overrides: Any) -> Scenario:
    """The standard happy path, with whatever the test changes."""
    base: dict[str, Any] = {
        "name": "test",
        "endpoint": LIVE_ENDPOINT,
        "approval": {"group": "churn", "event": APPROVAL_EVENT},
        "policy": {"endpoint_name": "churn-prod"},
        "base_dir": ROOT,
    }
    base.update(overrides)
    return Scenario.model_validate(base)
