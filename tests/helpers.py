"""Shared test helpers: scenarios as dicts, sample events from events/, and the emulated world."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


@dataclass
class IamAccount:
    """The emulated account as local IAM's checks see it (tags, configs, keys, the service-linked role)."""

    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)  # endpoint -> config
    keys: dict[str, str] = field(default_factory=dict)  # config -> KmsKeyId
    scalable: dict[str, list[str]] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)

    def resource_tags(self, arn):
        return self.tags.get(arn, {})

    def endpoint_config(self, endpoint):
        return self.configs.get(endpoint)

    def config_kms_key(self, config):
        return self.keys.get(config)

    def scalable_variants(self, endpoint):
        return self.scalable.get(endpoint, [])

    def service_linked_role_exists(self, role_name):
        return role_name in self.roles

    def table_hash_key(self, table):
        return "pk"

    def kms_key_arn(self, key_id):
        return key_id if key_id.startswith("arn:") else f"arn:aws:kms:us-east-1:123456789012:key/{key_id}"


# an endpoint that captures its requests (DataCaptureConfig): what pre-traffic verification replays
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": "s3://churn-captures/datacapture",
    "CaptureOptions": [{"CaptureMode": "InputAndOutput"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
CAPTURING_ENDPOINT = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2, "weight": 1}],
    "config_extras": {"DataCaptureConfig": CAPTURE},
}
