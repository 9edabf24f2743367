"""The fault matrix: every fault kind local mode can inject, every strategy, and every phase it can hit, each at least
once, in a representative set of cells (the full product would not fit CI's time). The workflow test
``tests/workflow/test_fault_matrix.py`` runs each cell and checks the promise; the README's table is generated from
these cells:

    .venv/bin/python -m tests.fault_matrix README.md          # rewrite the table in place
    .venv/bin/python -m tests.fault_matrix --check README.md  # exit 1 when it is stale (a unit test does this too)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = {
    "server error": "a 5xx outlasting the SDK's 5 attempts (AwsUnavailableError)",
    "throttling": "throttling outlasting the SDK's 5 attempts (ThrottledError)",
    "access denied": "IAM denies the call (AccessDeniedException)",
    "validation": "the service refuses the request (ValidationException)",
    "update fails": "SageMaker ends the change Failed",
    "sagemaker reverts": "SageMaker ends the change InService on the old config, with a FailureReason",
    "update hangs": "the change never finishes (Updating)",
    "rollback fails": "a guarded update fails and so does SageMaker's own rollback (UpdateRollbackFailed)",
    "slow update": "the change takes longer than the deployment may (duration_seconds)",
    "function raises": "a Lambda function raises (an unhandled error)",
    "function timeout": "a Lambda function runs past its Timeout (Sandbox.Timedout)",
}
STRATEGIES = ("all_at_once", "canary", "linear", "steps", "blue_green", "ab_test", "shadow")
PHASES = ("prepare", "shift", "bake", "promote", "rollback", "cleanup")


@dataclass(frozen=True)
class Cell:
    """One fault in one strategy at one phase, and what the rollout must end with."""

    kind: str
    strategy: str
    phase: str
    fault: dict[str, Any]
    outcome: str
    says: str  # the record's reason (or, for a success, a timeline note) names it
    leftovers: tuple[str, ...] = ()  # kinds of resources the record must name as left behind
    policy: dict[str, Any] = field(default_factory=dict)
    behaviour: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.strategy}-{self.phase}-{self.kind.replace(' ', '-')}"

    def shown(self) -> str:
        """The fault as a scenario writes it."""
        fault = dict(self.fault)
        what = fault.pop("api", None) or fault.pop("function")
        rest = ", ".join(f"{k} {v}" for k, v in fault.items())
        return f"`{what}` {rest}".strip()


BLUE_GREEN = {"type": "blue_green", "traffic_routing": {"type": "ALL_AT_ONCE", "wait_interval_seconds": 60}}
CELLS: tuple[Cell, ...] = (
    Cell(
        "validation",
        "all_at_once",
        "prepare",
        {"api": "sagemaker:CreateEndpointConfig", "error": "ValidationException", "times": 10},
        "failed",
        "sagemaker:CreateEndpointConfig failed: ValidationException",
    ),
    Cell(
        "function raises",
        "canary",
        "prepare",
        {"function": "PrepareTargetFunction", "kind": "raises", "error_type": "KeyError"},
        "failed",
        "KeyError",
    ),
    Cell(
        "throttling",
        "canary",
        "shift",
        {"api": "sagemaker:UpdateEndpointWeightsAndCapacities", "error": "ThrottlingException", "times": 7},
        "succeeded",
        "ThrottledError",
    ),
    Cell(
        "update fails",
        "linear",
        "shift",
        {"api": "sagemaker:UpdateEndpointWeightsAndCapacities", "endpoint_status_after": "Failed", "after_calls": 1},
        "rolled_back",
        "UpdateFailedError",
    ),
    Cell(
        "server error",
        "steps",
        "bake",
        {"api": "cloudwatch:GetMetricData", "error": "ServiceUnavailable", "times": 10},
        "succeeded",
        "could not read the alarms, metrics or endpoint",
    ),
    Cell(
        "function timeout",
        "ab_test",
        "bake",
        {"function": "EvaluateHealthFunction", "kind": "timeout"},
        "rolled_back",
        "Sandbox.Timedout",
    ),
    Cell(
        "slow update",
        "blue_green",
        "promote",
        {"api": "sagemaker:UpdateEndpoint", "duration_seconds": 1200},
        "rolled_back",
        "ran past max_execution_timeout_seconds=600",
        policy={"max_execution_timeout_seconds": 600},
    ),
    Cell(
        "update fails",
        "shadow",
        "promote",
        {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Failed", "after_calls": 1},
        "rolled_back",
        "UpdateFailedError",
    ),
    Cell(
        "sagemaker reverts",
        "canary",
        "promote",
        {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "InService", "after_calls": 1},
        "rolled_back",
        "VerificationFailedError",
    ),
    Cell(
        "update hangs",
        "all_at_once",
        "promote",
        {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "Updating"},
        "needs_attention",
        "did not finish within rollback_deadline_seconds=600 (the endpoint is Updating",
        policy={"update_timeout_seconds": 300, "rollback_deadline_seconds": 600},
    ),
    Cell(
        "rollback fails",
        "blue_green",
        "promote",
        {"api": "sagemaker:UpdateEndpoint", "endpoint_status_after": "UpdateRollbackFailed"},
        "needs_attention",
        "endpoint churn-prod is UpdateRollbackFailed",
    ),
    Cell(
        "server error",
        "linear",
        "rollback",
        {"api": "sagemaker:UpdateEndpoint", "error": "InternalFailure", "times": 10, "after_calls": 1},
        "rolled_back",
        "HealthCheckFailedError",
        behaviour={"new": {"error_rate": 0.08}},
    ),
    Cell(
        "function raises",
        "steps",
        "rollback",
        {"function": "RollBackFunction", "kind": "raises", "error_type": "RuntimeError", "times": 2},
        "rolled_back",
        "HealthCheckFailedError",
        behaviour={"new": {"error_rate": 0.08}},
    ),
    Cell(
        "access denied",
        "ab_test",
        "cleanup",
        {"api": "sagemaker:DeleteEndpointConfig", "error": "AccessDeniedException", "times": 1},
        "succeeded",
        "left behind",
        leftovers=("endpoint-config",),
    ),
    Cell(
        "function timeout",
        "shadow",
        "cleanup",
        {"function": "CleanUpFunction", "kind": "timeout", "times": 10},
        "succeeded",
        "Sandbox.Timedout",
        leftovers=("endpoint-config",),
    ),
)


def table() -> str:
    """The README's fault-matrix table (markdown)."""
    rows = [
        "| strategy | phase | fault kind | injected | must end | the record says |",
        "|---|---|---|---|---|---|",
    ]
    for cell in CELLS:
        left = f"; leftovers named: {', '.join(cell.leftovers)}" if cell.leftovers else ""
        rows.append(
            f"| `{cell.strategy}` | {cell.phase} | {cell.kind} | {cell.shown()} | `{cell.outcome}` | "
            f"{cell.says}{left} |"
        )
    return "\n".join(rows)


BEGIN, END = "<!-- fault-matrix:begin (python -m tests.fault_matrix README.md) -->", "<!-- fault-matrix:end -->"


def rendered(readme: str) -> str:
    """The README with its fault-matrix section regenerated."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest:
        raise ValueError(f"the README has no {BEGIN} marker")
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if not a.startswith("--")] or ["README.md"]
    path = Path(paths[0])
    text = path.read_text()
    new = rendered(text)
    if check:
        if new != text:
            print(f"{path}: the fault matrix is stale; run python -m tests.fault_matrix {path}", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
