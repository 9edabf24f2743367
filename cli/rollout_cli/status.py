"""`rollout status`: what a running rollout is doing now, told truthfully at every phase, and how it ended.

The latest state comes from the execution's history read newest-first (``reverseOrder``), one small page at a
time, stopping at the first event that carries the rollout's state: a 30-day test's tens of thousands of events
are never paged through. Live shares come from DescribeEndpoint (``CurrentWeight``, as percentages of the
endpoint's traffic); the time left is the bake's (or the gate's), not the time to the next periodic check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rollout import console
from rollout.aws import sagemaker
from rollout.baking import time_left
from rollout.models.policy import Shadow
from rollout.models.progress import Phase, RolloutState
from rollout.reasons import rollback_reason
from rollout.steps.console import state_of

HISTORY_PAGE = 20  # events per GetExecutionHistory call: the state is almost always in the newest few
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
FAIL_OUTCOMES = {
    "RolloutRolledBack": "rolled_back",
    "RolloutRejected": "rejected",
    "RolloutFailed": "failed",
    "RolloutNeedsAttention": "needs_attention",
}
# the widget's words, with room for the longer ones a terminal line has
PHASE_WORDS = {
    **console.PHASE_WORDS,
    "verifying": "promoted, judging it once more (post-promotion bake)",
    "stopped": "STOPPED: the endpoint is left as it is for a person (needs attention)",
}


@dataclass(frozen=True)
class Check:
    """One step's latest verdict, with the figures the reason gives."""

    step: int
    weight_percent: float
    at: str
    verdict: str
    reason: str


@dataclass(frozen=True)
class RolloutStatus:
    """One rollout as `rollout status` shows it (``--json`` prints these fields)."""

    execution_arn: str
    rollout_id: str
    endpoint: str
    package: str
    strategy: str
    phase: str
    step: int
    steps: int
    step_percent: float | None  # the share of traffic the current step plans for the new model (shadow: copied)
    new_variant: str | None
    shares: dict[str, float]  # live share of the endpoint's traffic per variant, in percent (DescribeEndpoint)
    shadow: bool
    bake_seconds: int | None  # the current bake's length (or the gate's timeout)
    bake_seconds_left: int | None  # until the bake ends (or the gate times out)
    gate: str | None
    last_verdict: str | None
    checks: list[Check]
    message: str
    rollback_reason: str | None
    started_at: str
    paused: str | None = None  # who paused it, and why (rollout resume ENDPOINT)
    verification: str | None = None  # how the pre-traffic verification went, when the policy asks for one
    judge_figures: dict[str, Any] | None = None  # the statistical judge's figures at the latest check
    requested_by: str | None = None  # who asked for it (retry, undo), as the steering API authenticated them
    outcome: str | None = None  # set once the rollout has ended
    reason: str | None = None
    read_events: int = field(default=0, compare=False)  # how many history events it took to find the state

    @property
    def running(self) -> bool:
        return self.outcome is None

    @property
    def progress(self) -> float:
        """0..1: steps done, the current step counted by the share of its bake already served."""
        if self.outcome is not None or self.phase in ("promoting", "verifying", "deployed"):
            return 1.0
        if not self.steps or self.step == 0:
            return 0.0
        within = 0.0
        if self.bake_seconds and self.bake_seconds_left is not None and self.gate is None:
            within = 1 - self.bake_seconds_left / self.bake_seconds
        return min(1.0, (self.step - 1 + max(0.0, within)) / self.steps)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "checks"}
        data["checks"] = [c.__dict__ for c in self.checks]
        data["progress_percent"] = round(100 * self.progress, 1)
        return data


def status(
    session: Any,
    state_machine_arn: str,
    endpoint: str | None = None,
    now: datetime | None = None,
) -> list[RolloutStatus]:
    """Every running rollout (of ``endpoint``): step, live shares, latest verdict, time left, rollback reason."""
    sfn = session.client("stepfunctions")
    found = []
    for execution in _running(sfn, state_machine_arn):
        read = _latest_state(sfn, execution["executionArn"])
        if read is None:
            continue
        state, events = read
        if endpoint and state.endpoint_name != endpoint:
            continue
        found.append(summary(session, execution["executionArn"], state, now or datetime.now(UTC), events))
    return found


def _running(sfn: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    executions: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "statusFilter": "RUNNING"}
    while True:
        page = sfn.list_executions(**kwargs)
        executions += page["executions"]
        if not page.get("nextToken"):
            return executions
        kwargs["nextToken"] = page["nextToken"]


def _latest_state(sfn: Any, arn: str) -> tuple[RolloutState, int] | None:
    """The newest state the execution's history carries, and how many events were read to find it."""
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": HISTORY_PAGE, "reverseOrder": True}
    read = 0
    while True:
        page = sfn.get_execution_history(**kwargs)
        for event in page["events"]:
            read += 1
            state = _state_of(event)
            if state is not None:
                return state, read
        if not page.get("nextToken"):
            return None
        kwargs["nextToken"] = page["nextToken"]


def _state_of(event: dict[str, Any]) -> RolloutState | None:
    details = event.get("stateExitedEventDetails") or event.get("stateEnteredEventDetails") or {}
    text = details.get("output") or details.get("input")
    return state_of(text) if text else None  # read as the dashboard widget reads it


def live_shares(session: Any, endpoint: str) -> dict[str, float]:
    """Each production variant's share of the endpoint's traffic now, in percent (empty if it cannot be read)."""
    try:
        described = sagemaker.describe_endpoint(endpoint, session.client("sagemaker"))
    except Exception:  # the shares are a nicety: a denied or failed read must not hide the rollout's status
        return {}
    if described is None:
        return {}
    weights = {v["VariantName"]: float(v.get("CurrentWeight", 0.0)) for v in described.get("ProductionVariants", [])}
    total = sum(weights.values())
    return {name: round(100 * w / total, 2) if total else 0.0 for name, w in weights.items()}


def summary(session: Any, arn: str, state: RolloutState, now: datetime, events: int = 0) -> RolloutStatus:
    """A rollout's status from its latest state and the endpoint's live weights."""
    step = state.steps[state.step_index] if state.steps and state.step_index < len(state.steps) else None
    rolling_back = state.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
    gate = state.gate.name if state.gate else None
    bake_seconds, left, paused = time_left(state, now)
    reason = None
    if rolling_back:
        reason = rollback_reason(state)
    return RolloutStatus(
        execution_arn=arn,
        rollout_id=state.rollout_id,
        endpoint=state.endpoint_name,
        package=f"{state.package.group_name} v{state.package.version}",
        strategy=state.policy.strategy.type,
        phase=state.phase.value,
        step=state.step_index + 1 if step else 0,
        steps=len(state.steps),
        step_percent=step.weight_percent if step else None,
        new_variant=state.target.variant_name if state.target else None,
        shares=live_shares(session, state.endpoint_name),
        shadow=isinstance(state.policy.strategy, Shadow),
        bake_seconds=bake_seconds,
        bake_seconds_left=left,
        gate=gate,
        last_verdict=state.history[-1].verdict.value if state.history else None,
        checks=[Check(r.step, r.weight_percent, r.at.isoformat(), r.verdict.value, r.reason) for r in state.history],
        message=state.message,
        rollback_reason=reason,
        started_at=state.started_at.isoformat(),
        paused=paused,
        verification=state.verification.reason if state.verification else None,
        judge_figures=(
            state.history[-1].figures.model_dump(mode="json") if state.history and state.history[-1].figures else None
        ),
        read_events=events,
        requested_by=state.request.requested_by,
    )


def ended(session: Any, seen: RolloutStatus, follow: int = 20) -> RolloutStatus | None:
    """How a rollout seen running ended (None: it still runs, possibly continued in a later execution)."""
    sfn = session.client("stepfunctions")
    arn = seen.execution_arn
    for _ in range(follow):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] not in TERMINAL:
            return None
        output = _json(described.get("output"))
        if described["status"] == "SUCCEEDED" and output.get("outcome"):
            return _final(seen, str(output["outcome"]), str(output.get("reason") or ""))
        if described["status"] == "SUCCEEDED" and output.get("next_execution"):
            arn = f"{arn.rsplit(':', 1)[0]}:{output['next_execution']}"  # it went on in a fresh execution
            continue
        error = str(described.get("error") or described["status"])
        return _final(seen, FAIL_OUTCOMES.get(error, "failed"), str(described.get("cause") or error))
    return None


def _final(seen: RolloutStatus, outcome: str, reason: str) -> RolloutStatus:
    return RolloutStatus(**{**seen.__dict__, "outcome": outcome, "reason": reason, "bake_seconds_left": None})


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# --- rendering ---------------------------------------------------------------------------------------------


def bar(fraction: float, width: int = 24) -> str:
    """A progress bar of ``width`` characters."""
    filled = round(width * max(0.0, min(1.0, fraction)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def render(r: RolloutStatus) -> str:
    """The text `rollout status` prints for one rollout."""
    head = f"{r.endpoint}: {r.package} ({r.strategy})"
    if r.outcome is not None:
        return f"{head}: {r.outcome.upper()} - {r.reason}\n  {bar(r.progress)} {_checks_line(r)}"
    lines = [f"{head}, {PHASE_WORDS.get(r.phase, r.phase)}"]
    if r.requested_by:
        lines.append(f"  requested by {r.requested_by}")
    shares = ", ".join(
        f"{name} {share:g}%" + (" (new)" if name == r.new_variant else "") for name, share in r.shares.items()
    )
    if r.phase in ("rolling_back", "rolled_back"):
        lines.append(f"  reason: {r.rollback_reason}")
        lines.append(f"  progress: {r.message}")
        lines.append(f"  live traffic: {shares or 'unknown'}")
        return "\n".join(lines)
    if r.steps:
        planned = (
            f"{r.step_percent:g}% of requests copied to the shadow" if r.shadow else f"{r.step_percent:g}% planned"
        )
        lines.append(f"  step {r.step}/{r.steps} {bar(r.progress)} {100 * r.progress:.0f}%  ({planned})")
    lines.append(f"  live traffic: {shares or 'unknown'}")
    if r.paused is not None:
        lines.append(f"  PAUSED by {r.paused} (rollout resume {r.endpoint})")
    if r.gate is not None and r.bake_seconds_left is not None:
        lines.append(
            f"  waiting at gate '{r.gate}': times out in {console.duration(r.bake_seconds_left)} "
            f"(rollout approve {r.endpoint})"
        )
    elif r.bake_seconds_left is not None and r.bake_seconds is not None:
        lines.append(f"  bake: {console.duration(r.bake_seconds_left)} left of {console.duration(r.bake_seconds)}")
    if r.verification is not None:
        lines.append(f"  pre-traffic verification: {r.verification}")
    lines.append(f"  latest verdict: {_checks_line(r)}")
    if r.judge_figures:
        from rollout_cli.cli import judge_figures_text

        lines.append("  " + judge_figures_text(r.judge_figures))
    lines.append(f"  {r.message}")
    return "\n".join(lines)


def _checks_line(r: RolloutStatus) -> str:
    if not r.checks:
        return "none yet"
    latest = r.checks[-1]
    return f"step {latest.step} ({latest.weight_percent:g}%) {latest.verdict}: {latest.reason}"


# --- watching to the end -----------------------------------------------------------------------------------


class Watcher:
    """`rollout status --watch`: follows every rollout it has seen running until each has ended.

    ``poll`` is one look (the command sleeps between looks); a rollout that stops running is looked up once
    more, by its execution's end (a continued execution is followed), so the last frame tells the outcome."""

    def __init__(self, session: Any, state_machine_arn: str, endpoint: str | None = None) -> None:
        self.session, self.state_machine_arn, self.endpoint = session, state_machine_arn, endpoint
        self.seen: dict[str, RolloutStatus] = {}  # rollout id -> its latest status (an outcome once ended)

    def poll(self, now: datetime | None = None) -> list[RolloutStatus]:
        """Every rollout seen so far, as it is now (running ones first looked up live, ended ones with outcome)."""
        running = status(self.session, self.state_machine_arn, self.endpoint, now)
        live = {r.rollout_id for r in running}
        for r in running:
            self.seen[r.rollout_id] = r
        for rollout_id, last in list(self.seen.items()):
            if rollout_id not in live and last.running:
                final = ended(self.session, last)
                if final is not None:
                    self.seen[rollout_id] = final
        return list(self.seen.values())

    @property
    def done(self) -> bool:
        """Every rollout seen has ended (True too when none was ever seen)."""
        return all(not r.running for r in self.seen.values())

    @property
    def all_succeeded(self) -> bool:
        return bool(self.seen) and all(r.outcome == "succeeded" for r in self.seen.values())


def progress_line(r: RolloutStatus, now: datetime | None = None) -> str:
    """One line per rollout per look, for logs (CI) where a redrawn screen makes no sense."""
    at = (now or datetime.now(UTC)).strftime("%H:%M:%S")
    if r.outcome is not None:
        return f"{at} {r.endpoint} {bar(r.progress)} {r.outcome.upper()}: {r.reason}"
    step = f"step {r.step}/{r.steps}" if r.steps else "-"
    left = f", {console.duration(r.bake_seconds_left)} left" if r.bake_seconds_left is not None else ""
    verdict = f", latest verdict {r.last_verdict}" if r.last_verdict else ""
    new = f", new model {r.shares.get(r.new_variant, 0):g}%" if r.new_variant and r.shares else ""
    phase = "PAUSED" if r.paused else PHASE_WORDS.get(r.phase, r.phase)
    return f"{at} {r.endpoint} {bar(r.progress)} {100 * r.progress:3.0f}% {step} {phase}{left}{new}{verdict}"
