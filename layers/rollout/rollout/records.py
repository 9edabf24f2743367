"""The rollout record's attributes: what Acquire Endpoint Lock writes as ``running`` and Record Outcome as the end.
Pure: the table adapter adds the keys and writes it."""

from __future__ import annotations

import json

from rollout.models.progress import RolloutState


def record_fields(state: RolloutState, outcome: str) -> dict[str, str | None]:
    """The rollout record's attributes (the table module adds the keys)."""
    return {
        "outcome": outcome,
        "reason": state.reason,
        "package_arn": state.package.arn,
        "package_group": state.package.group_name,
        "package_version": str(state.package.version) if state.package.version is not None else None,
        "strategy": state.policy.strategy.type,
        "source": state.request.source.value,
        "requested_by": state.request.requested_by,
        "execution_arn": state.execution_arn,
        "started_at": state.started_at.isoformat(),
        "baseline_config": state.baseline.config_name if state.baseline else None,
        "target_config": state.target.config_name if state.target else None,
        "steps": json.dumps([r.model_dump(mode="json") for r in state.history]) if state.history else None,
        "experiment": state.experiment.model_dump_json() if state.experiment else None,
        "leftovers": ", ".join(state.leftovers) if state.leftovers else None,
        "verification": state.verification.model_dump_json() if state.verification else None,
    }
