"""Verify New Variant: before a caller is served by the new variant (weight 0), replay a sample of real requests
to it and to the baseline with TargetVariant, and compare errors, latency and answers (``rollout.verification``).
The replay only reads: InvokeEndpoint never changes the endpoint."""

from __future__ import annotations

from datetime import timedelta

from rollout import clock
from rollout.aws import runtime, s3, sagemaker
from rollout.config import Settings
from rollout.errors import VerificationSampleError
from rollout.models.progress import RolloutState
from rollout.notifications.announcing import announce
from rollout.notifications.kinds import EventKind
from rollout.transition import VerificationFailed, VerificationPassed, apply, failure, transition
from rollout.verification import Replayed, judge_replay


def sample_source(state: RolloutState, baseline_variant: str) -> str:
    """Where the requests come from: the policy's sample, else the baseline variant's data capture."""
    policy = state.policy.verification
    assert policy is not None
    if policy.sample_s3_uri:
        return policy.sample_s3_uri
    baseline = state.require_baseline()
    destination = sagemaker.capture_destination(baseline.config_name) if baseline.config_name else None
    if destination is None:
        raise VerificationSampleError(
            f"verification needs requests to replay: endpoint config {baseline.config_name} captures no requests "
            "(DataCaptureConfig with CaptureMode Input) and the policy names no verification.sample_s3_uri"
        )
    return f"{destination.rstrip('/')}/{state.endpoint_name}/{baseline_variant}/"


def verify_new_variant(state: RolloutState, settings: Settings) -> RolloutState:
    """Replay, judge, record; a failing verification raises PreTrafficVerificationError (the workflow rolls back)."""
    policy, target = state.policy.verification, state.target
    assert policy is not None and target is not None and target.variant_name, "verification needs a new variant"
    baseline_variant = max(state.require_baseline().variants, key=lambda v: v.weight).name
    source = sample_source(state, baseline_variant)
    requests = s3.captured_requests(source, policy.sample_size)
    deadline = clock.now() + timedelta(seconds=policy.time_budget_seconds)
    replayed: list[Replayed] = []
    for request in requests:
        if clock.now() >= deadline:
            break
        old = runtime.invoke_variant(state.endpoint_name, baseline_variant, request.body, request.content_type)
        new = runtime.invoke_variant(state.endpoint_name, target.variant_name, request.body, request.content_type)
        replayed.append(Replayed(request.body, old, new))
    result = judge_replay(policy, replayed, source, baseline_variant)
    if replayed:  # the replay is in CloudWatch's minute of its last call: later checks start after it
        result = result.model_copy(update={"replayed_until": clock.now()})
    state.verification = result
    verdict = "pass" if result.passed else "fail"
    announce(
        state,
        EventKind.VERIFIED,
        settings,
        verdict=verdict,
        detail=result.reason,
        verification=result.model_dump(mode="json"),
    )
    state.message = result.reason
    change = transition(state, VerificationPassed() if result.passed else VerificationFailed())
    if change.fails is not None:
        state.reason = result.reason
        raise failure(change, result.reason)
    return apply(state, change, clock.now())
