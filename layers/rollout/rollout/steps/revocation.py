"""The package listener: a model package that loses its approval takes its running rollouts with it.

The EventBridge rule delivers every ``SageMaker Model Package State Change`` whose status is not Approved. A
rollout deploying that package gets a durable ``revoke`` request (seen at its next check) and, when it waits in a
bake or gate, its task fails at once with ``ApprovalRevokedError``: it rolls back, and the record says who changed
the package and when, as the registry reports it. A queued rollout sees the revocation when it next asks for the
lock; Start Update and Promote check the approval again before they give the new model traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollout.aws import registry, stepfunctions, table
from rollout.config import Settings
from rollout.errors import ApprovalRevokedError


def on_package_change(event: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Revoke the rollouts of a package whose approval is gone."""
    from rollout.eventbridge import ApprovalEvent, parse_event  # the Parser: loaded by the first event, not the import

    parsed = parse_event(event, ApprovalEvent)
    arn = parsed.detail.ModelPackageArn
    if parsed.detail.ModelApprovalStatus == "Approved":
        return {"package": arn, "revoked": []}
    package = registry.describe_model_package(arn)
    if package.approval_status == "Approved":  # approved again since the event was sent
        return {"package": arn, "revoked": []}
    reason = f"the approval of {arn} was revoked in the model registry: {package.changed()}"
    by = package.modified_by or "the model registry"
    revoked = []
    for rollout_id, endpoint in table.rollouts_of_package(settings.table_name, arn):
        table.put_request(settings.table_name, endpoint, rollout_id, "revoke", by, reason)
        waiting = table.waiting(settings.table_name, endpoint)
        if waiting is not None and waiting.rollout_id == rollout_id:
            stepfunctions.fail_task(waiting.token, ApprovalRevokedError.__name__, reason)
        revoked.append(rollout_id)
    return {"package": arn, "revoked": revoked}
