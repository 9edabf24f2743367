"""The human side of a rollout event: one short SNS subject and sentence naming the endpoint, the package version,
the step and the reason - fitted to SNS's limits. Pure."""

from __future__ import annotations

import unicodedata
from typing import Any

from rollout.notifications.kinds import EventKind

SNS_SUBJECT_MAX = 99  # SNS Publish: "less than 100 characters long", no line breaks or control characters
SNS_MESSAGE_MAX_BYTES = 256 * 1024  # SNS Publish: at most 256 KB of UTF-8


def human_message(detail: dict[str, Any]) -> tuple[str, str]:
    """A short subject and sentence naming the endpoint, the package version, the step and the reason."""
    group = detail.get("model_package_group")
    version = (
        f"{group} v{detail.get('model_package_version')}"
        if group
        else str(detail.get("model_package_arn") or "an unknown package")
    )
    where = f"{version} -> {detail['endpoint_name']}"
    step = f" step {detail['step']}/{detail['steps']} ({detail['weight_percent']:g}%)" if detail.get("step") else ""
    kind = detail["event"]
    sentences = {
        EventKind.STARTED.value: f"Rollout of {version} to {detail['endpoint_name']} started ({detail['strategy']}).",
        EventKind.STEP_SHIFTED.value: f"{where}:{step} - traffic shifted.",
        EventKind.VERIFIED.value: f"{where}: pre-traffic verification {detail.get('verdict')}: {detail.get('detail')}",
        EventKind.STEP_VERDICT.value: f"{where}:{step} - verdict {detail.get('verdict')}: {detail.get('detail')}",
        EventKind.WAITING_FOR_APPROVAL.value: f"{where}: waiting for approval at gate '{detail.get('gate')}' "
        f"(rollout approve {detail['endpoint_name']}).",
        EventKind.APPROVED.value: f"{where}: gate '{detail.get('gate')}' approved by {detail.get('by')}.",
        EventKind.PROMOTED.value: f"{where}: every step passed; promoting the new model.",
        EventKind.EXPERIMENT_CONCLUDED.value: f"{where}: {detail.get('test')} concluded - winner "
        f"{detail.get('winner')}, decision {detail.get('decision')}: {detail.get('detail')}",
        EventKind.ABORTED.value: f"{where}: aborted and rolled back. Reason: {detail.get('reason')}",
        EventKind.SUCCEEDED.value: f"{where}: rollout succeeded. {detail.get('reason') or ''}".strip(),
        EventKind.ROLLED_BACK.value: f"{where}: rolled back{step}. Reason: {detail.get('reason')}",
        EventKind.FAILED.value: f"{where}: rollout failed before it changed the endpoint. "
        f"Reason: {detail.get('reason')}",
        EventKind.NEEDS_ATTENTION.value: f"{where}: NEEDS ATTENTION - the rollout stopped and left the endpoint as it "
        f"is; it is held until a person runs 'rollout release {detail['endpoint_name']}'. "
        f"Reason: {detail.get('reason')}",
        EventKind.WAITING_FOR_RELEASE.value: f"{where}: waiting - the endpoint is held for a person after rollout "
        f"{detail.get('held_by')} (rollout release {detail['endpoint_name']}).",
        EventKind.REJECTED.value: f"{where}: rollout rejected, nothing changed. Reason: {detail.get('reason')}",
        EventKind.SUPERSEDED.value: f"{where}: skipped, nothing changed. Reason: {detail.get('reason')}",
    }
    return sns_subject(f"{kind}: {where}"), sns_message(sentences.get(kind, f"{where}: {kind}"))


def sns_subject(text: str) -> str:
    """``text`` as a subject SNS accepts: control characters and line breaks become spaces, whitespace runs
    one space, at most 99 characters (a longer one is cut and ends in "..."). Empty when nothing is left."""
    visible = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    cleaned = " ".join(visible.split())  # split() also breaks on Unicode line and paragraph separators
    if len(cleaned) <= SNS_SUBJECT_MAX:
        return cleaned
    return cleaned[: SNS_SUBJECT_MAX - 3].rstrip() + "..."


def sns_message(text: str) -> str:
    """``text`` cut to SNS's 256 KB message limit (whole characters, marked as cut)."""
    if len(text.encode("utf-8")) <= SNS_MESSAGE_MAX_BYTES:
        return text
    marker = " ... (cut to SNS's 256 KB message limit)"
    room = SNS_MESSAGE_MAX_BYTES - len(marker.encode("utf-8"))
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + marker
