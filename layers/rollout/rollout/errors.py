"""The error taxonomy.

Class names are part of the contract: the state machine's Retry and Catch blocks match them by name
(a Lambda function's ``errorType`` is the exception's class name). Rename one and the ASL must change too.
"""

from __future__ import annotations


class RolloutError(Exception):
    """Base of every error this service raises on purpose."""


# --- Refusals: raised before anything is touched; the execution ends as "rejected". ---------------------


class RejectedError(RolloutError):
    """A check before the rollout failed; nothing was changed."""


class MalformedEventError(RejectedError):
    """The execution input is neither an approval event nor a valid manual start."""


class PolicyError(RejectedError):
    """The resolved rollout policy is missing or invalid. The message names the field and its source."""


class OverrideRefusedError(RejectedError):
    """Package metadata or a manual start asked for more than the operator's policy lets it set. The message names
    each refused field, its source and the rule."""


class EndpointNotAllowedError(RejectedError):
    """The rollout would go to an endpoint outside its model package group's binding (the operator's policy)."""


class PackageNotFoundError(RejectedError):
    """The model package named by the event or input does not exist."""


class PackageNotApprovedError(RejectedError):
    """The model package is not in the Approved state."""


class EndpointNotInServiceError(RejectedError):
    """The endpoint exists but is not InService, so SageMaker would refuse an update."""


class EndpointConfigNotFoundError(RejectedError):
    """The endpoint's current EndpointConfig is gone, so there would be nothing to roll back to."""


class InvalidNameError(RejectedError):
    """A name this rollout would use breaks SageMaker's naming rules."""


class UnsupportedEndpointError(RejectedError):
    """The strategy cannot work on this endpoint's shape (guardrail exclusions, shadow or A/B preconditions)."""


class AlarmNotFoundError(RejectedError):
    """An alarm the policy names does not exist, so it could never stop a bad rollout."""


class AlarmAlreadyFiringError(RejectedError):
    """A watched alarm is in ALARM before the endpoint was touched: the rollout would be judged by an outage it did
    not cause (the policy may choose alarm_at_start fix_forward)."""


class DowngradeError(RejectedError):
    """The approved version is older than the one the endpoint serves (a manual start may allow it)."""


class AlreadyDeployedError(RejectedError):
    """The endpoint already serves this version; an approval event for it (a lifecycle change) deploys nothing."""


# --- Failures after the endpoint was (or may have been) touched: the workflow rolls back. ---------------


class DeploymentError(RolloutError):
    """The new configuration did not become healthy and serving."""


class UpdateFailedError(DeploymentError):
    """SageMaker reported the update (or creation) as failed."""


class UpdateTimedOutError(DeploymentError):
    """The endpoint did not reach InService within the policy's update timeout."""


class VerificationFailedError(DeploymentError):
    """The endpoint is InService but does not serve the configuration we deployed."""


class GuardrailRollbackError(DeploymentError):
    """SageMaker's deployment guardrails rolled the update back: the endpoint is InService on its old config."""


class AlarmFiredError(DeploymentError):
    """An alarm the rollout watches went to ALARM during a bake (sent by the alarm listener, or found at once)."""


class AbortedError(DeploymentError):
    """A person aborted the rollout (``rollout abort``); the cause says who and why."""


class ApprovalRevokedError(DeploymentError):
    """The model package lost its approval in the registry while its rollout ran."""


class SupersededError(DeploymentError):
    """A newer version of the same model package group was approved for the endpoint (policy on_busy: supersede)."""


class GateRejectedError(DeploymentError):
    """A person rejected a gate (``rollout approve --reject``)."""


class GateTimedOutError(DeploymentError):
    """A gate waited its timeout and the policy says roll back."""


class HealthCheckFailedError(DeploymentError):
    """A step's health analysis failed (an alarm, or the built-in checks past the failure threshold)."""


class MetricsUnavailableError(DeploymentError):
    """The alarms or metrics could not be read for more checks in a row than the policy's consecutive_error_limit:
    the rollout cannot judge the new model, so it rolls back (this is not a verdict on the model)."""


class PreTrafficVerificationError(DeploymentError):
    """The new variant failed its pre-traffic verification on replayed requests: it never served a caller."""


class VerificationSampleError(DeploymentError):
    """The requests to replay could not be found or read (no capture, a file not in SageMaker's format)."""


class HistoryQuotaError(DeploymentError):
    """The execution neared Step Functions' history quota and could not continue in a fresh execution."""


# --- A person must look: the rollout stops and leaves the endpoint exactly as it is (needs_attention). --------


class RollbackFailedError(RolloutError):
    """The endpoint could not be put back on its previous configuration. A person must look."""


class DriftError(RolloutError):
    """The endpoint changed under the rollout (someone else's config, weights or instance counts): the rollout
    stops without overwriting that change. A person must look."""


# --- Transient: the state machine retries these with backoff; never a health verdict. -------------------


class TransientError(RolloutError):
    """AWS could not answer now, even after the SDK's own retries: the state machine retries the step with
    backoff (every task lists each subclass by name in its Retry), and nothing decides a model's fate on it."""


class ThrottledError(TransientError):
    """AWS throttled a call even after the SDK's own retries."""


class AwsUnavailableError(TransientError):
    """AWS answered with a server error (HTTP 5xx), or did not answer in time, even after the SDK's retries."""


class AwsServiceError(RolloutError):
    """An AWS call failed in a way this service does not interpret (not retried: retrying would not help)."""


def transient_error_names() -> list[str]:
    """The class names the state machine's transient Retry lists (Step Functions matches names, not classes)."""
    names, pending = [], list(TransientError.__subclasses__())
    while pending:
        kind = pending.pop(0)
        names.append(kind.__name__)
        pending.extend(kind.__subclasses__())
    return names


def is_rejection(error_name: str) -> bool:
    """True when a caught error (by class name, as Step Functions reports it) means nothing was touched."""
    pending: list[type[RolloutError]] = [RejectedError]
    while pending:
        kind = pending.pop()
        if kind.__name__ == error_name:
            return True
        pending.extend(kind.__subclasses__())
    return False
