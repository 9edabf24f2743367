"""What asks for a rollout: the request (from an approval event, the console or the CLI) and the model package.

A room because a request is neither policy nor progress: it names which package to deploy and who asked, and is
checked against the operator's policy before anything else happens.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from rollout.models.base import SAGEMAKER_NAME, Frozen

# A model package ARN (SageMaker's ModelPackageArn: at most 2048 characters, the name part non-blank). The length is
# a max_length beside the pattern, not a bounded repeat in it: pydantic-core's Rust regex expands `[\S]{1,2048}`
# (a Unicode class 2048 times over) into an automaton that took ~30 ms to compile - a third of a handler's first
# invocation - where `\S+` takes 0.2 ms; with the whole ARN at most 2048 characters the name is too, as before.
MODEL_PACKAGE_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:model-package/\S+$"
MODEL_PACKAGE_ARN_MAX = 2048


class StartSource(StrEnum):
    EVENT = "event"
    MANUAL = "manual"


class RolloutRequest(Frozen):
    """What to roll out, wherever the execution came from (approval event, console, CLI)."""

    model_package_arn: str = Field(pattern=MODEL_PACKAGE_ARN, max_length=MODEL_PACKAGE_ARN_MAX)
    source: StartSource
    endpoint_name: str | None = Field(default=None, pattern=SAGEMAKER_NAME)
    policy_override: dict[str, object] | None = None
    event_id: str | None = None
    approved_at: datetime | None = Field(
        default=None, description="when the registry changed the package (the event's LastModifiedTime): which approval"
    )
    allow_downgrade: bool = Field(default=False, description="a manual start may roll out an older version")
    requested_by: str | None = Field(
        default=None,
        max_length=600,
        description="who asked for this rollout, as the steering API authenticated them (retry, undo); checked "
        "against the steering function's durable request, refused from any other source",
    )


class ModelPackage(Frozen):
    """The parts of a registry model package this service reads."""

    arn: str
    group_name: str
    version: int | None
    approval_status: str
    metadata: dict[str, str] = Field(default_factory=dict)
    modified_by: str | None = Field(default=None, description="who last changed it, as the registry reports")
    modified_at: datetime | None = None
    approval_description: str | None = None

    def changed(self) -> str:
        """The registry's account of the last change: status, who, when, and why."""
        who = f" by {self.modified_by}" if self.modified_by else ""
        when = f" at {self.modified_at.isoformat()}" if self.modified_at else ""
        why = f": {self.approval_description}" if self.approval_description else ""
        return f"{self.approval_status}{who}{when}{why}"
