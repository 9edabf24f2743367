"""The dashboard widget's reads: running rollouts from their executions' newest states, recent ones from the
rollout records, live shares from DescribeEndpoint; rendered by ``rollout.console`` (pure).

What it reads, newest first and no more than it shows: ListExecutions (RUNNING, newest first, at most
``MAX_RUNNING``), each running execution's history backwards a page at a time until the first state in it (as
`rollout status` does), DescribeEndpoint per running rollout, and one Query per endpoint for its latest
``recent`` records. It writes nothing and steers nothing (see ``rollout.console``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from rollout import clock
from rollout.aws import sagemaker, stepfunctions, table
from rollout.baking import time_left
from rollout.config import Settings
from rollout.console import (
    DESCRIBE,
    MAX_RUNNING,
    ConsoleView,
    ParamsError,
    Recent,
    Running,
    Verdict,
    WidgetParams,
    parse_params,
    render,
    render_error,
)
from rollout.errors import RolloutError
from rollout.models.policy import Shadow
from rollout.models.progress import Phase, RolloutState, StepRecord
from rollout.reasons import rollback_reason

VERDICT_FIGURES = ("invocations", "error_rate", "latency_ms", "baseline_error_rate", "baseline_latency_ms", "alarm")


def state_of(text: str) -> RolloutState | None:
    """A rollout state from one history payload (a step's input or output), if it carries one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("state"), dict):
        document = document["state"]  # the Bake task's payload wraps the state
    if isinstance(document, dict) and isinstance(document.get("continue"), dict):
        document = document["continue"]  # a continued execution's input
    if not isinstance(document, dict):
        return None
    try:
        return RolloutState.model_validate({k: v for k, v in document.items() if k in RolloutState.model_fields})
    except (ValidationError, ValueError, TypeError):
        return None


def verdict_of(record: StepRecord | Mapping[str, Any]) -> Verdict:
    """A step's latest check with the figures it measured (a state's StepRecord, or a record's JSON of one)."""
    data: Mapping[str, Any] = record.model_dump(mode="json") if isinstance(record, StepRecord) else record
    figures = {name: data[name] for name in VERDICT_FIGURES if data.get(name) is not None}
    return Verdict(
        step=int(data.get("step", 0)),
        weight_percent=float(data.get("weight_percent", 0.0)),
        verdict=str(data.get("verdict", "")),
        reason=str(data.get("reason", "")),
        figures=figures,
    )


def running_of(state: RolloutState, arn: str, shares: dict[str, float], now: datetime) -> Running:
    """What the widget shows of a running rollout's newest state (the same truths as `rollout status`)."""
    step = state.steps[state.step_index] if state.steps and state.step_index < len(state.steps) else None
    bake_seconds, left, paused = time_left(state, now)
    rolling_back = state.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
    return Running(
        endpoint=state.endpoint_name,
        rollout_id=state.rollout_id,
        execution_arn=arn,
        package=f"{state.package.group_name} v{state.package.version}",
        strategy=state.policy.strategy.type,
        phase=state.phase.value,
        step=state.step_index + 1 if step else 0,
        steps=len(state.steps),
        step_percent=step.weight_percent if step else None,
        shadow=isinstance(state.policy.strategy, Shadow),
        new_variant=state.target.variant_name if state.target else None,
        shares=shares,
        gate=state.gate.name if state.gate else None,
        seconds_left=left,
        bake_seconds=bake_seconds,
        paused_by=paused,
        latest=verdict_of(state.history[-1]) if state.history else None,
        rollback_reason=rollback_reason(state) if rolling_back else None,
        message=state.message,
        requested_by=state.request.requested_by,
    )


def recent_of(record: Mapping[str, str]) -> Recent:
    """A rollout record as the widget lists it (its steps are JSON text: the last one is the latest verdict)."""
    latest = None
    try:
        steps = json.loads(record.get("steps") or "[]")
    except json.JSONDecodeError:
        steps = []
    if isinstance(steps, list) and steps and isinstance(steps[-1], dict):
        latest = verdict_of(steps[-1])
    version = record.get("package_version")
    package = f"{record.get('package_group', '?')} v{version}" if version else record.get("package_group", "")
    return Recent(
        endpoint=record.get("endpoint_name", ""),
        rollout_id=record.get("rollout_id", ""),
        started_at=_when(record.get("started_at", "")),
        package=package,
        strategy=record.get("strategy", ""),
        outcome=record.get("outcome", ""),
        reason=record.get("reason", ""),
        latest=latest,
        requested_by=record.get("requested_by"),
    )


def _when(text: str) -> str:
    """An ISO time as a person reads it (UTC, to the minute); text that is not one is shown as it is."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment.tzinfo else text


def live_shares(endpoint: str) -> dict[str, float]:
    """Each production variant's share of the endpoint's traffic now, in percent (DescribeEndpoint)."""
    described = sagemaker.describe_endpoint(endpoint) or {}
    weights = {v["VariantName"]: float(v.get("CurrentWeight", 0.0)) for v in described.get("ProductionVariants", [])}
    total = sum(weights.values())
    return {name: round(100 * w / total, 2) if total else 0.0 for name, w in weights.items()}


def view(params: WidgetParams, settings: Settings, now: datetime) -> ConsoleView:
    """Read what the widget shows. An AWS error is shown as a note: the rest of the view still renders."""
    notes: list[str] = []
    running: list[Running] = []
    try:
        arns = stepfunctions.running_executions(settings.state_machine_arn, MAX_RUNNING)
    except RolloutError as exc:
        arns, notes = [], [*notes, f"running rollouts could not be read: {exc}"]
    for arn in arns:
        try:
            state = next((s for s in map(state_of, stepfunctions.newest_payloads(arn)) if s is not None), None)
            if state is None:
                continue
            if params.endpoints and state.endpoint_name not in params.endpoints:
                continue
            running.append(running_of(state, arn, live_shares(state.endpoint_name), now))
        except RolloutError as exc:
            notes.append(f"{arn.rsplit(':', 1)[-1]} could not be read: {exc}")
    recent: list[Recent] = []
    endpoints = list(dict.fromkeys([*params.endpoints, *(r.endpoint for r in running)]))
    live = {r.rollout_id for r in running}
    if params.recent:
        for endpoint in endpoints:
            try:
                records = table.list_records(settings.table_name, endpoint, params.recent + 1)
            except RolloutError as exc:
                notes.append(f"the records of {endpoint} could not be read: {exc}")
                continue
            # the running rollout's record says "running": it is listed above, with its live state
            shown = [recent_of(r) for r in records if r.get("rollout_id") not in live]
            recent += shown[: params.recent]
    return ConsoleView(now=now, running=running, recent=recent, params=params, notes=notes)


def widget(event: Mapping[str, Any], settings: Settings) -> str:
    """The custom widget: ``describe`` gets the documentation (Markdown), any other call the HTML."""
    if "describe" in event:  # the console asks for the widget's documentation (AWS's samples answer it so)
        return DESCRIBE
    try:
        params = parse_params(dict(event))
    except ParamsError as exc:
        return render_error(str(exc))
    return render(view(params, settings, clock.now()))
