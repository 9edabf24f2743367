"""SageMaker's deployment guardrails, as the emulator plays them: UpdateEndpoint with a DeploymentConfig.

Blue/green: the green fleet is provisioned (``update_endpoint_seconds``), traffic moves to it by the routing
type (ALL_AT_ONCE, CANARY, LINEAR), each shift bakes ``WaitIntervalInSeconds``, the last one is followed by
``TerminationWaitInSeconds``, then the blue fleet is terminated and the endpoint is InService on the new
config. Rolling: batches of the new fleet replace the old, each provisioned (``update_weights_seconds``) and
baked. From the first shift on, any auto-rollback alarm in ALARM sends all traffic back to blue; so does
running past ``MaximumExecutionTimeoutInSeconds``. After a rollback the endpoint is InService on the OLD
config, with no FailureReason (as AWS often leaves it).

A scenario fault can make the green fleet fail to provision (rolled back as above, with a FailureReason), or
make the deployment fail in its first bake and SageMaker's own rollback fail too: the endpoint then ends
``UpdateRollbackFailed`` ("in service with a mix of the old and new endpoint configurations"), still serving,
the new fleet keeping the share of traffic it had when the rollback failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class GuardrailError(ValueError):
    """A DeploymentConfig SageMaker would refuse (the message is the ValidationException's)."""


@dataclass
class GuardedUpdate:
    """A guardrail deployment in flight."""

    started: datetime
    old_config: str
    new_config: str
    shifts: list[tuple[float, float]]  # (seconds after the start, share of traffic on the green fleet)
    done_after: float
    alarms: list[str]
    timeout: int
    rollback_seconds: int
    kind: str  # blue/green ALL_AT_ONCE | CANARY | LINEAR | ROLLING
    provisioned_after: float
    fails_with: str | None = None  # a scenario fault: the green fleet fails to provision, with this reason
    rollback_fails_with: str | None = None  # a scenario fault: the first bake fails, and so does the rollback
    hung: bool = False
    rolled_back_at: datetime | None = None
    stuck_share: float | None = None  # the new fleet's share of traffic once the rollback has failed
    rollback_reason: str = ""
    log: list[tuple[datetime, str]] = field(default_factory=list)

    def green(self, now: datetime) -> float:
        """The new fleet's share of the endpoint's traffic at ``now``."""
        if self.rolled_back_at is not None and now >= self.rolled_back_at:
            return self.stuck_share or 0.0
        elapsed = (now - self.started).total_seconds()
        share = 0.0
        for at, fraction in self.shifts:
            if elapsed >= at:
                share = fraction
        return share

    def stage(self, now: datetime) -> tuple[str, str]:
        """VariantStatus for DescribeEndpoint's PendingDeploymentSummary: (Status, StatusMessage)."""
        if self.rolled_back_at is not None:
            return "ActivatingTraffic", "rolling back: all traffic returns to the blue fleet"
        elapsed = (now - self.started).total_seconds()
        if elapsed < self.provisioned_after or self.hung:
            return "Creating", "provisioning the new fleet"
        green = self.green(now)
        if green >= 1.0 and elapsed >= self.done_after - 1:
            return "Deleting", "terminating the old fleet"
        return "Baking", f"the new fleet serves {green:.0%} of traffic ({self.kind})"


def _in(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise GuardrailError(f"{name} must be between {low} and {high}, got {value}.")


def _fraction(size: dict[str, Any], instances: int, name: str, low: int, high: int) -> float:
    """A CapacitySize as a share of the fleet, checked against SageMaker's limits for it."""
    value = int(size["Value"])
    if size["Type"] == "CAPACITY_PERCENT":
        _in(f"{name}.Value (CAPACITY_PERCENT)", value, low, high)
        return value / 100
    share = 100 * value / max(instances, 1)
    if not low <= share <= high:
        raise GuardrailError(
            f"{name} of {value} instance(s) is {share:.0f}% of the variant's {instances} instance(s); it must be "
            f"between {low}% and {high}%."
        )
    return value / max(instances, 1)


def plan_update(
    config: dict[str, Any],
    variants: list[dict[str, Any]],
    started: datetime,
    old_config: str,
    new_config: str,
    provisioning_seconds: int,
    batch_seconds: int,
) -> GuardedUpdate:
    """Validate a DeploymentConfig against the live variants, and lay out its schedule."""
    blue_green: dict[str, Any] = config.get("BlueGreenUpdatePolicy") or {}
    rolling: dict[str, Any] = config.get("RollingUpdatePolicy") or {}
    if bool(blue_green) == bool(rolling):
        raise GuardrailError(
            "DeploymentConfig must specify exactly one of BlueGreenUpdatePolicy and RollingUpdatePolicy."
        )
    if any("ServerlessConfig" in v for v in variants):
        # "Deployment guardrails only apply to Asynchronous inference and Real-time inference endpoint types"
        raise GuardrailError(
            "Deployment guardrails (DeploymentConfig) apply to real-time and asynchronous endpoints, not to "
            "serverless endpoints."
        )
    alarms = [a["AlarmName"] for a in config.get("AutoRollbackConfiguration", {}).get("Alarms", [])]
    if "AutoRollbackConfiguration" in config and not 1 <= len(alarms) <= 10:
        raise GuardrailError("AutoRollbackConfiguration.Alarms must hold 1 to 10 alarms.")
    instances = max(int(v.get("InitialInstanceCount", 1)) for v in variants)
    policy = blue_green or rolling
    timeout = int(policy.get("MaximumExecutionTimeoutInSeconds", 28800))
    _in("MaximumExecutionTimeoutInSeconds", timeout, 600, 28800)
    shifts: list[tuple[float, float]] = []
    # SageMaker's documented exclusion: on Inf1 there are no guardrails - an all-at-once switch, no baking
    inf1 = any(str(v.get("InstanceType", "")).startswith("ml.inf1.") for v in variants)
    if rolling and not inf1:  # documented exclusions of rolling deployments
        if len(variants) != 1:
            raise GuardrailError("Rolling updates are supported only for endpoints with one instance-based variant.")
        wait = int(rolling["WaitIntervalInSeconds"])
        _in("WaitIntervalInSeconds", wait, 0, 3600)
        batch = _fraction(rolling["MaximumBatchSize"], instances, "MaximumBatchSize", 5, 50)
        if "RollbackMaximumBatchSize" in rolling:
            rollback_batch = _fraction(
                rolling["RollbackMaximumBatchSize"], instances, "RollbackMaximumBatchSize", 5, 100
            )
        else:
            rollback_batch = 1.0
        at, green = 0.0, 0.0
        while green < 1.0:
            at += batch_seconds
            green = min(1.0, round(green + batch, 6))
            shifts.append((at, green))
            at += wait
        return GuardedUpdate(
            started,
            old_config,
            new_config,
            shifts,
            at,
            alarms,
            timeout,
            rollback_seconds=batch_seconds * math.ceil(1 / rollback_batch),
            kind="ROLLING",
            provisioned_after=batch_seconds,
        )
    if inf1:
        kind, steps, wait, termination, alarms = "ALL_AT_ONCE (Inf1: no guardrails)", [1.0], 0, 0, []
    else:
        routing = blue_green["TrafficRoutingConfiguration"]
        wait = int(routing.get("WaitIntervalInSeconds", 0))
        _in("WaitIntervalInSeconds", wait, 0, 3600)
        termination = int(blue_green.get("TerminationWaitInSeconds", 0))
        _in("TerminationWaitInSeconds", termination, 0, 3600)
        kind = routing["Type"]
        if kind == "CANARY":
            steps = [_fraction(routing["CanarySize"], instances, "CanarySize", 0, 50), 1.0]
        elif kind == "LINEAR":
            step = _fraction(routing["LinearStepSize"], instances, "LinearStepSize", 10, 50)
            steps = [min(1.0, round(step * k, 6)) for k in range(1, math.ceil(1 / step) + 1)]
        else:
            steps = [1.0]
    at = float(provisioning_seconds)
    for fraction in steps:
        shifts.append((at, fraction))
        at += wait
    return GuardedUpdate(
        started,
        old_config,
        new_config,
        shifts,
        at + termination,
        alarms,
        timeout,
        rollback_seconds=batch_seconds,
        kind=kind,
        provisioned_after=provisioning_seconds,
    )
