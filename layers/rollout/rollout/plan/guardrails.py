"""SageMaker's own deployment guardrails: the DeploymentConfig of a blue/green or rolling UpdateEndpoint.

A room because with guardrails SageMaker shifts, bakes and rolls back by itself: this is the one request that hands
the rollout's schedule to SageMaker instead of walking it here.
"""

from __future__ import annotations

from typing import Any

from rollout.models.policy import BlueGreen, Size


def _capacity_size(size: Size) -> dict[str, Any]:
    return {"Type": size.type, "Value": size.value}


def deployment_config(strategy: BlueGreen, alarms: tuple[str, ...]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig for the policy's blue/green or rolling update."""
    config: dict[str, Any] = {}
    if strategy.rolling is not None:
        rolling = strategy.rolling
        policy: dict[str, Any] = {
            "MaximumBatchSize": _capacity_size(rolling.max_batch_size),
            "WaitIntervalInSeconds": rolling.wait_interval_seconds,
            "MaximumExecutionTimeoutInSeconds": strategy.max_execution_timeout_seconds,
        }
        if rolling.rollback_max_batch_size is not None:
            policy["RollbackMaximumBatchSize"] = _capacity_size(rolling.rollback_max_batch_size)
        config["RollingUpdatePolicy"] = policy
    else:
        routing = strategy.routing
        traffic: dict[str, Any] = {"Type": routing.type, "WaitIntervalInSeconds": routing.wait_interval_seconds}
        if routing.canary_size is not None:
            traffic["CanarySize"] = _capacity_size(routing.canary_size)
        if routing.linear_step_size is not None:
            traffic["LinearStepSize"] = _capacity_size(routing.linear_step_size)
        blue_green: dict[str, Any] = {
            "TrafficRoutingConfiguration": traffic,
            "MaximumExecutionTimeoutInSeconds": strategy.max_execution_timeout_seconds,
        }
        if strategy.termination_wait_seconds is not None:
            blue_green["TerminationWaitInSeconds"] = strategy.termination_wait_seconds
        config["BlueGreenUpdatePolicy"] = blue_green
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config
