"""What every model of the domain shares: the frozen, strict base and the SageMaker name pattern.

A room of its own because policy, request, endpoint and progress all derive from it, and none of them should have to
import another idea to get it.
"""

from pydantic import BaseModel, ConfigDict

SAGEMAKER_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # endpoint, variant and config names (CreateEndpoint)


class Frozen(BaseModel):
    """Immutable, refuses unknown fields, and builds its validator on first use (a handler's cold start pays only
    for the models it touches)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
