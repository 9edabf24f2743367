"""What must still hold before the rollout touches the endpoint again: nobody else changed it, and the package is
still approved.

Someone else's change is never overwritten: every step that looks at the endpoint compares it with what the rollout
last left (``RolloutState.expected``); a config, weight or instance count the rollout did not set stops the rollout
with ``DriftError``. Roll Back then leaves the endpoint exactly as it is, and the rollout ends ``needs_attention``
with the difference named; the endpoint is held until a person releases it (``rollout release``).

A revoked approval stops the rollout: Start Update and Promote ask the registry again before the new model gets
traffic, so a lost package event cannot promote a revoked model.
"""

from __future__ import annotations

from rollout.aws import registry
from rollout.decide import drift, expectation
from rollout.errors import ApprovalRevokedError, DriftError
from rollout.models.endpoint import EndpointSnapshot
from rollout.models.progress import RolloutState


def require_drift_free(state: RolloutState, observed: EndpointSnapshot) -> None:
    """Raise DriftError when the endpoint is not as the rollout left it."""
    said = drift(state, observed)
    if said:
        raise DriftError(f"{said}. The rollout stops without touching the endpoint again, so that change is kept")


def expect(state: RolloutState, observed: EndpointSnapshot) -> None:
    """The endpoint as observed now is what the rollout left: later looks compare with it."""
    state.expected = expectation(state, observed)


def require_approval(state: RolloutState) -> None:
    """Before the new model gets (all) traffic: the package must still be Approved."""
    package = registry.describe_model_package(state.package.arn)
    if package.approval_status != "Approved":
        raise ApprovalRevokedError(
            f"the approval of {state.package.arn} was revoked in the model registry: {package.changed()}"
        )
