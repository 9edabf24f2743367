"""Settings from the environment the SAM template gives every function (``Globals.Function.Environment``)."""

from __future__ import annotations

import os

from rollout.continuation import DEFAULT_CONTINUE_AFTER
from rollout.frozen import frozen


@frozen
class Settings:
    table_name: str
    topic_arn: str
    event_bus_name: str
    policy_parameter_prefix: str
    default_policy: str
    execution_role_arn: str
    lock_lease_seconds: int
    dedupe_window_seconds: int
    continue_after_events: int
    state_machine_arn: str = ""  # the rollout state machine (retry and undo start executions of it)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env["ROLLOUT_TABLE_NAME"],
            topic_arn=env.get("NOTIFY_TOPIC_ARN", ""),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            policy_parameter_prefix=env.get("POLICY_PARAMETER_PREFIX", "/rollout/policies").rstrip("/"),
            default_policy=env.get("DEFAULT_POLICY", "{}") or "{}",
            execution_role_arn=env["SAGEMAKER_EXECUTION_ROLE_ARN"],
            lock_lease_seconds=int(env.get("LOCK_LEASE_SECONDS", "31536000")),
            dedupe_window_seconds=int(env.get("DEDUPE_WINDOW_SECONDS", "86400")),
            continue_after_events=int(env.get("CONTINUE_AFTER_EVENTS", str(DEFAULT_CONTINUE_AFTER))),
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
        )

    def policy_parameter_name(self, group_name: str) -> str:
        return f"{self.policy_parameter_prefix}/{group_name}"
