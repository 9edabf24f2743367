"""What happens next: one pure transition function over one documented table.

Every workflow step observes the endpoint, the metrics or people's requests through the adapters, describes what it
saw as a small frozen *observation*, and asks ``transition(state, observation)`` what follows: the new phase, the
next action (``RolloutState.next``, which the state machine's Choice states route on), an outcome decided on the way,
a gate to open or close, the step to move to, and the events to announce. ``apply`` writes that into the state (a
step that sends an update, a shift or a promotion sends it first, so a failed call leaves the state as it was for
the retry; Roll Back applies its first transition before it acts), and the step announces what the transition
named. No step assigns
``state.next`` or ``state.phase`` itself (a test reads the step modules' syntax trees for it).

The table (``TABLE``) is the flow, as data: one row per (ASL state, observation, condition), naming the next action,
the phase and the ASL state the rollout goes to. The README's "How it works" prints it (``markdown_table``), and a
contract test evaluates the ASL's Choice states for every row and proves each lands on the state the row names.
A failure the step itself sees (the endpoint failed or timed out, a gate nobody approved, unreadable metrics, a
failed pre-traffic verification) is a row too: it names the error the step raises (``Transition.fails``), and the
state's Catch takes it to Roll Back. Errors raised elsewhere - a drift, an abort, a revoked approval, an AWS error -
are caught the same way (the ASL contract test checks every Catch).

Pure: no boto3, no clock (time comes in as an argument), no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from rollout.analysis import BakeAction, check_interval
from rollout.decide import Progress
from rollout.errors import (
    DeploymentError,
    GateTimedOutError,
    GuardrailRollbackError,
    MetricsUnavailableError,
    PreTrafficVerificationError,
    UpdateFailedError,
    UpdateTimedOutError,
    VerificationFailedError,
)
from rollout.frozen import frozen
from rollout.models.policy import AbTest, Shadow
from rollout.models.progress import GateState, LockStatus, Outcome, Phase, RolloutState
from rollout.notifications.kinds import EventKind

Action = Literal["wait", "start", "verify", "shift", "bake", "gate", "promote", "restore", "done"]
GateThen = Literal["start", "shift", "promote"]
ACTIONS: tuple[Action, ...] = get_args(Action)

# Where each next action leads, through the Choice states (Next Action?, Rolled Back?): the state machine's contract.
ROUTES: Mapping[Action, str] = {
    "wait": "Wait For Endpoint",
    "start": "Start Update",
    "verify": "Verify New Variant",
    "shift": "Shift Traffic",
    "bake": "Bake",
    "gate": "Bake",
    "promote": "Promote",
    "restore": "Roll Back",
    "done": "Clean Up",
}


# --- Observations: what a step saw ------------------------------------------------------------------------------


class _Seen:
    """An observation that carries nothing but its kind: immutable (empty slots: no attribute can be set), equal to
    every other of its class, shown as ``Kind()`` - what a field-less frozen dataclass is, without the dataclass's
    generated code, which Python compiles afresh at every import (see ``rollout.frozen``)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LockBusy(_Seen):
    """Acquire Endpoint Lock found the endpoint taken (or held, or others ahead in its queue): wait in line."""

    __slots__ = ()


@frozen
class LockRefused:
    """Acquire Endpoint Lock ends the rollout with nothing touched: a second delivery of an approval it already
    handles (``duplicate``), a newer version of the same group waiting behind it (``superseded``), or the policy's
    on_busy reject or queue timeout (``refused``)."""

    why: Literal["duplicate", "superseded", "refused"]


class LockTaken(_Seen):
    """Acquire Endpoint Lock holds the endpoint."""

    __slots__ = ()


class Baselined(_Seen):
    """Snapshot Endpoint recorded the endpoint as it is now (the rollback target)."""

    __slots__ = ()


class Prepared(_Seen):
    """Prepare Target created the model, its config(s) and the rollout's alarms."""

    __slots__ = ()


class UpdateSent(_Seen):
    """Start Update sent UpdateEndpoint or CreateEndpoint (or found it already sent)."""

    __slots__ = ()


class EndpointChanging(_Seen):
    """Check Endpoint: the endpoint is still changing toward what the phase asked for."""

    __slots__ = ()


class EndpointSettled(_Seen):
    """Check Endpoint: the endpoint reached what the phase asked for (InService, as the rollout left it)."""

    __slots__ = ()


@frozen
class EndpointFailed:
    """Check Endpoint: the change did not reach what the phase asked for (``progress``: failed, timed out, reverted,
    or InService without serving the target)."""

    progress: Progress


class VerificationPassed(_Seen):
    """Verify New Variant: the replayed requests judged the new variant fit for traffic."""

    __slots__ = ()


class VerificationFailed(_Seen):
    """Verify New Variant: the replayed requests judged the new variant unfit: no caller is served by it."""

    __slots__ = ()


class ShiftSent(_Seen):
    """Shift Traffic sent the current step's weights."""

    __slots__ = ()


class PromotionSent(_Seen):
    """Promote sent the update to the config with the new model alone."""

    __slots__ = ()


class PromotionSettled(_Seen):
    """Promote, called again once the promotion settled, gave the promoted variant its autoscaling back."""

    __slots__ = ()


@frozen
class Checked:
    """Evaluate Health: one check's verdict, as ``analysis.after_check`` weighed it for the bake."""

    action: BakeAction


class Unreadable(_Seen):
    """Evaluate Health could not read the alarms, metrics or endpoint (``BakeState.read_errors`` counts this one)."""

    __slots__ = ()


@frozen
class GateApproved:
    """A person approved the gate the rollout waits at."""

    by: str | None = None


class GateFailed(_Seen):
    """A check failed while the rollout waited at a gate (a gate never blocks a rollback)."""

    __slots__ = ()


class GateTimedOut(_Seen):
    """Nobody approved the gate in time (the policy's on_timeout says what follows)."""

    __slots__ = ()


class GateWaiting(_Seen):
    """A check at a gate found nothing wrong and nobody has answered yet."""

    __slots__ = ()


class StepDone(_Seen):
    """The current step is done: its bake passed, or it had no bake to judge."""

    __slots__ = ()


@frozen
class ExperimentConcluded:
    """An A/B or shadow test ended: the winner's decision (``promote``, ``keep``, ``keep_both``, ``rollback``,
    ``discard``) and whether going back was what the policy asked for (then the rollout still succeeded)."""

    decision: str
    planned_restore: bool


class RollbackBegun(_Seen):
    """Roll Back runs for the first time in this rollout."""

    __slots__ = ()


class RollbackMoving(_Seen):
    """Roll Back took one step (or met an AWS error it tries again): wait for the endpoint."""

    __slots__ = ()


class RollbackDone(_Seen):
    """The endpoint is back on its baseline."""

    __slots__ = ()


class RollbackStopped(_Seen):
    """The rollback cannot go on: the endpoint is left exactly as it is for a person (needs_attention)."""

    __slots__ = ()


class Recorded(_Seen):
    """Record Outcome wrote the record and told the outcome."""

    __slots__ = ()


Observation = (
    LockBusy
    | LockRefused
    | LockTaken
    | Baselined
    | Prepared
    | UpdateSent
    | EndpointChanging
    | EndpointSettled
    | EndpointFailed
    | VerificationPassed
    | VerificationFailed
    | ShiftSent
    | PromotionSent
    | PromotionSettled
    | Checked
    | Unreadable
    | GateApproved
    | GateFailed
    | GateTimedOut
    | GateWaiting
    | StepDone
    | ExperimentConcluded
    | RollbackBegun
    | RollbackMoving
    | RollbackDone
    | RollbackStopped
    | Recorded
)


# --- The table ------------------------------------------------------------------------------------------------


Bake = Literal["step", "post_promotion", "empty"]


@frozen
class Row:
    """One line of the flow: in ASL state ``at``, observation ``seen`` under condition ``when`` leads to ``next``
    and ``phase`` (None: unchanged) and on to ASL state ``goes_to``. A row with ``then`` is resolved further by
    the rows of that observation (the step's own second look: the step is done, or the test must be concluded)."""

    key: str
    at: str
    seen: str
    when: str
    next: Action | None
    phase: Phase | None
    goes_to: str
    outcome: Outcome | None = None
    lock: LockStatus | None = None
    gate: GateThen | None = None  # open a gate; what its approval leads to
    close_gate: bool = False
    next_step: bool = False  # move on to the next step of the strategy
    bake: Bake | None = None  # which bake begins: a step's, the post-promotion one, an empty one (no bake)
    events: tuple[EventKind, ...] = ()
    then: str | None = None
    fails: type[DeploymentError] | None = None  # the step raises this error; the state's Catch goes to Roll Back


def _rows(*rows: Row) -> dict[str, Row]:
    table = {row.key: row for row in rows}
    assert len(table) == len(rows), "duplicate row keys"
    return table


HEALTH, CHECK = "Evaluate Health", "Check Endpoint"
TABLE: Mapping[str, Row] = _rows(
    Row("lock.busy", "Acquire Endpoint Lock", "LockBusy", "endpoint busy, held or others ahead", None,
        Phase.WAITING_FOR_LOCK, "Wait For Lock", lock=LockStatus.BUSY),
    Row("lock.duplicate", "Acquire Endpoint Lock", "LockRefused", "duplicate approval event", None, None,
        "Release Lock", lock=LockStatus.DUPLICATE, outcome=Outcome.DUPLICATE),
    Row("lock.superseded", "Acquire Endpoint Lock", "LockRefused", "a newer version waits behind it", None, None,
        "Release Lock", lock=LockStatus.SUPERSEDED, outcome=Outcome.SUPERSEDED),
    Row("lock.refused", "Acquire Endpoint Lock", "LockRefused", "on_busy reject, or queue_timeout_seconds", None, None,
        "Release Lock", lock=LockStatus.REFUSED, outcome=Outcome.REJECTED),
    Row("lock.taken", "Acquire Endpoint Lock", "LockTaken", "always", None, Phase.LOCKED, "Snapshot Endpoint",
        lock=LockStatus.ACQUIRED, events=(EventKind.STARTED,)),
    Row("baselined", "Snapshot Endpoint", "Baselined", "always", None, Phase.BASELINED, "Prepare Target"),
    Row("prepared.gate", "Prepare Target", "Prepared", "gates.confirm_before_start", "gate", Phase.PREPARED, "Bake",
        gate="start", events=(EventKind.WAITING_FOR_APPROVAL,)),
    Row("prepared", "Prepare Target", "Prepared", "otherwise", "start", Phase.PREPARED, "Start Update"),
    Row("update.sent", "Start Update", "UpdateSent", "always", "wait", Phase.UPDATING, "Wait For Endpoint"),
    Row("changing", CHECK, "EndpointChanging", "always", "wait", None, "Wait For Endpoint"),
    Row("settled.promoted.scaling", CHECK, "EndpointSettled", "promoting; autoscaling to give back", "promote",
        Phase.PROMOTING, "Promote"),
    Row("settled.promoted", CHECK, "EndpointSettled", "promoting", "bake", Phase.VERIFYING, "Bake",
        bake="post_promotion"),
    Row("settled.side.verify", CHECK, "EndpointSettled", "updating, new variant at 0, verification pending",
        "verify", Phase.UPDATING, "Verify New Variant"),
    Row("settled.side", CHECK, "EndpointSettled", "updating, new variant at 0", "shift", Phase.UPDATING,
        "Shift Traffic"),
    Row("settled.guardrails", CHECK, "EndpointSettled", "updating under SageMaker's guardrails (its promotion)",
        "bake", Phase.VERIFYING, "Bake", bake="post_promotion"),
    Row("settled.unbaked.last", CHECK, "EndpointSettled", "last step in place, no bake (the update was the promotion)",
        "bake", Phase.VERIFYING, "Bake", bake="post_promotion"),
    Row("settled.unbaked", CHECK, "EndpointSettled", "step with no bake (0 s, not a test)", None, Phase.BAKING,
        "(step done)", bake="empty", then="StepDone"),
    Row("settled.bake", CHECK, "EndpointSettled", "otherwise", "bake", Phase.BAKING, "Bake", bake="step"),
    Row("failed.timeout", CHECK, "EndpointFailed", "timed_out", None, None, "Roll Back", fails=UpdateTimedOutError),
    Row("failed.not_serving", CHECK, "EndpointFailed", "InService, not serving the target", None, None, "Roll Back",
        fails=VerificationFailedError),
    Row("failed.guardrails", CHECK, "EndpointFailed", "reverted by SageMaker's guardrails", None, None, "Roll Back",
        fails=GuardrailRollbackError),
    Row("failed", CHECK, "EndpointFailed", "failed, or reverted", None, None, "Roll Back", fails=UpdateFailedError),
    Row("verified", "Verify New Variant", "VerificationPassed", "always", "shift", None, "Shift Traffic"),
    Row("verification.failed", "Verify New Variant", "VerificationFailed", "always", None, None, "Roll Back",
        fails=PreTrafficVerificationError),
    Row("shift.sent", "Shift Traffic", "ShiftSent", "always", "wait", Phase.SHIFTING, "Wait For Endpoint",
        events=(EventKind.STEP_SHIFTED,)),
    Row("promotion.sent", "Promote", "PromotionSent", "always", "wait", Phase.PROMOTING, "Wait For Endpoint",
        events=(EventKind.PROMOTED,)),
    Row("promotion.settled", "Promote", "PromotionSettled", "always", "bake", Phase.VERIFYING, "Bake",
        bake="post_promotion"),
    Row("checked.fail", HEALTH, "Checked", "roll_back (failure_threshold, an alarm, on_inconclusive fail)",
        "restore", None, "Roll Back"),
    Row("checked.paused", HEALTH, "Checked", "paused by a person", "bake", None, "Bake"),
    Row("checked.bake", HEALTH, "Checked", "continue or extend", "bake", None, "Bake"),
    Row("checked.done", HEALTH, "Checked", "advance", None, None, "(step done)", then="StepDone"),
    Row("unreadable.limit", HEALTH, "Unreadable", "more than consecutive_error_limit in a row", None, None,
        "Roll Back", fails=MetricsUnavailableError),
    Row("unreadable.gate", HEALTH, "Unreadable", "at a gate", "gate", None, "Bake"),
    Row("unreadable", HEALTH, "Unreadable", "otherwise", "bake", None, "Bake"),
    Row("gate.approved.promote_now", HEALTH, "GateApproved", "at a gate: promote-now asked, traffic shifting",
        "promote", None, "Promote", close_gate=True, events=(EventKind.APPROVED,)),
    Row("gate.approved.start", HEALTH, "GateApproved", "at a gate: gate before start", "start", None, "Start Update",
        close_gate=True, events=(EventKind.APPROVED,)),
    Row("gate.approved.shift", HEALTH, "GateApproved", "at a gate: gate after a step", "shift", None, "Shift Traffic",
        close_gate=True, events=(EventKind.APPROVED,)),
    Row("gate.approved.promote", HEALTH, "GateApproved", "at a gate: gate before promotion", "promote", None, "Promote",
        close_gate=True, events=(EventKind.APPROVED,)),
    Row("gate.failed", HEALTH, "GateFailed", "at a gate: always", "restore", None, "Roll Back"),
    Row("gate.timeout.roll_back", HEALTH, "GateTimedOut", "at a gate: on_timeout roll_back", None, None, "Roll Back",
        fails=GateTimedOutError),
    Row("gate.timeout.start", HEALTH, "GateTimedOut", "at a gate: on_timeout proceed, gate before start", "start", None,
        "Start Update", close_gate=True),
    Row("gate.timeout.shift", HEALTH, "GateTimedOut", "at a gate: on_timeout proceed, gate after a step", "shift", None,
        "Shift Traffic", close_gate=True),
    Row("gate.timeout.promote", HEALTH, "GateTimedOut", "at a gate: on_timeout proceed, gate before promotion",
        "promote", None, "Promote", close_gate=True),
    Row("gate.waiting", HEALTH, "GateWaiting", "at a gate: always", "gate", None, "Bake"),
    Row("done.promoted", HEALTH, "StepDone", "the post-promotion bake passed", "done", Phase.DEPLOYED, "Clean Up"),
    Row("done.next.gate", HEALTH, "StepDone", "more steps; this one has confirm", "gate", None, "Bake",
        gate="shift", next_step=True, events=(EventKind.WAITING_FOR_APPROVAL,)),
    Row("done.next", HEALTH, "StepDone", "more steps", "shift", None, "Shift Traffic", next_step=True),
    Row("done.test", HEALTH, "StepDone", "last step of an A/B or shadow test", None, None, "(experiment concluded)",
        then="ExperimentConcluded"),
    Row("done.promote.gate", HEALTH, "StepDone", "last step beside the baseline; confirm_before_promotion", "gate",
        None, "Bake", gate="promote", events=(EventKind.WAITING_FOR_APPROVAL,)),
    Row("done.promote", HEALTH, "StepDone", "last step beside the baseline (or promote-now)", "promote", None,
        "Promote"),
    Row("done.in_place", HEALTH, "StepDone", "last step of an update in place", "done", Phase.DEPLOYED, "Clean Up"),
    Row("test.promote.gate", HEALTH, "ExperimentConcluded", "promote; confirm_before_promotion", "gate", None, "Bake",
        gate="promote", events=(EventKind.WAITING_FOR_APPROVAL,)),
    Row("test.promote", HEALTH, "ExperimentConcluded", "promote", "promote", None, "Promote"),
    Row("test.keep", HEALTH, "ExperimentConcluded", "keep, keep_both", "done", Phase.DEPLOYED, "Clean Up",
        outcome=Outcome.SUCCEEDED),
    Row("test.back.planned", HEALTH, "ExperimentConcluded", "rollback (measure, then back)", "restore", None,
        "Roll Back", outcome=Outcome.SUCCEEDED),
    Row("test.back", HEALTH, "ExperimentConcluded", "the baseline won, or discard", "restore", None, "Roll Back",
        outcome=Outcome.ROLLED_BACK),
    Row("rollback.begun", "Roll Back", "RollbackBegun", "first turn", None, Phase.ROLLING_BACK, "(one move)"),
    Row("rollback.moving", "Roll Back", "RollbackMoving", "a change made or awaited, an AWS error", None,
        Phase.ROLLING_BACK, "Wait For Rollback"),
    Row("rollback.done", "Roll Back", "RollbackDone", "the baseline is live", None, Phase.ROLLED_BACK, "Clean Up"),
    Row("rollback.stopped", "Roll Back", "RollbackStopped", "cannot go on (deadline, a status, drift)", "done",
        Phase.STOPPED, "Clean Up"),
    Row("recorded", "Record Outcome", "Recorded", "always", None, Phase.FINISHED, "Rollout Finished?"),
)  # fmt: skip


# --- The function ---------------------------------------------------------------------------------------------


@frozen
class Transition:
    """What follows an observation: the rows taken (a row with ``then`` is followed by the row it led to), and the
    merged effect - the last row's next action, the last phase any row set, and everything the rows ask for."""

    rows: tuple[Row, ...]
    phase: Phase
    next: Action
    outcome: Outcome | None = None
    lock: LockStatus | None = None
    gate: GateThen | None = None
    close_gate: bool = False
    next_step: bool = False
    bake: Bake | None = None
    events: tuple[EventKind, ...] = ()
    conclude: bool = False  # the step must conclude the test first, then ask again with ExperimentConcluded
    fails: type[DeploymentError] | None = None  # the step raises it (with its own message): to Roll Back

    @property
    def row(self) -> Row:
        """The row that decided (the last one)."""
        return self.rows[-1]


def transition(state: RolloutState, observation: Observation) -> Transition:
    """What follows ``observation`` in ``state``: pure, reads the state, changes nothing."""
    return _merge(state, _path(state, observation))


def _path(state: RolloutState, observation: Observation) -> tuple[Row, ...]:
    row = TABLE[_key(state, observation)]
    if row.then == "StepDone":
        # the step is judged done in the phase the row set (a step with no bake: baking)
        phase = row.phase or state.phase
        return (row, TABLE[_step_done(state, phase)])
    return (row,)


def _key(state: RolloutState, observation: Observation) -> str:
    match observation:
        case LockBusy():
            return "lock.busy"
        case LockRefused(why=why):
            return f"lock.{why}"
        case LockTaken():
            return "lock.taken"
        case Baselined():
            return "baselined"
        case Prepared():
            return "prepared.gate" if state.policy.gates.confirm_before_start else "prepared"
        case UpdateSent():
            return "update.sent"
        case EndpointChanging():
            return "changing"
        case EndpointSettled():
            return _settled(state)
        case EndpointFailed(progress=progress):
            return _failed(state, progress)
        case VerificationPassed():
            return "verified"
        case VerificationFailed():
            return "verification.failed"
        case ShiftSent():
            return "shift.sent"
        case PromotionSent():
            return "promotion.sent"
        case PromotionSettled():
            return "promotion.settled"
        case Checked(action=action):
            if action is BakeAction.ROLL_BACK:  # a failure rolls back, paused or not
                return "checked.fail"
            if state.pause is not None:
                return "checked.paused"
            return "checked.done" if action is BakeAction.ADVANCE else "checked.bake"
        case Unreadable():
            if state.bake.read_errors > state.judging.consecutive_error_limit:
                return "unreadable.limit"
            return "unreadable.gate" if state.gate is not None else "unreadable"
        case GateApproved():
            gate = _require_gate(state)
            if state.promote_now and state.target is not None and state.target.shifts_traffic:
                return "gate.approved.promote_now"
            return f"gate.approved.{gate.then}"
        case GateFailed():
            return "gate.failed"
        case GateTimedOut():
            then = _require_gate(state).then
            return "gate.timeout.roll_back" if state.policy.gates.on_timeout == "roll_back" else f"gate.timeout.{then}"
        case GateWaiting():
            return "gate.waiting"
        case StepDone():
            return _step_done(state, state.phase)
        case ExperimentConcluded(decision=decision, planned_restore=planned):
            if decision == "promote":
                return "test.promote.gate" if state.policy.gates.confirm_before_promotion else "test.promote"
            if decision in ("keep", "keep_both"):
                return "test.keep"
            return "test.back.planned" if planned else "test.back"
        case RollbackBegun():
            return "rollback.begun"
        case RollbackMoving():
            return "rollback.moving"
        case RollbackDone():
            return "rollback.done"
        case RollbackStopped():
            return "rollback.stopped"
        case Recorded():
            return "recorded"
    raise TypeError(f"not an observation: {observation!r}")  # pragma: no cover - the union is closed


def _require_gate(state: RolloutState) -> GateState:
    if state.gate is None:
        raise ValueError("a gate observation needs a gate the rollout waits at")
    return state.gate


def unbaked(state: RolloutState) -> bool:
    """Is the current step one with no bake: 0 s, in a rollout that is not a test? (A test's steps are its
    evidence: they are always judged.) The post-promotion bake judges the promoted model in any case."""
    testing = isinstance(state.policy.strategy, (AbTest, Shadow))
    return state.current_step.bake_seconds == 0 and not testing


def _settled(state: RolloutState) -> str:
    target = state.target
    if target is None:
        raise ValueError("Check Endpoint runs after Prepare Target")
    if state.phase is Phase.PROMOTING:
        return "settled.promoted.scaling" if state.promotion_scaling is not None else "settled.promoted"
    if state.phase is Phase.UPDATING and target.shifts_traffic:
        pending = state.policy.verification is not None and state.verification is None
        return "settled.side.verify" if pending else "settled.side"
    if state.phase is Phase.UPDATING and target.guardrails:
        return "settled.guardrails"
    if unbaked(state):
        # A 0 s bake is no bake: an empty window is no evidence, so the step is not judged (nor extended for want of
        # traffic) - it is done once the endpoint serves it. An update to the new model alone was the promotion: its
        # post-promotion bake follows at once.
        last = state.step_index + 1 >= len(state.steps)
        return "settled.unbaked.last" if not target.shifts_traffic and last else "settled.unbaked"
    return "settled.bake"


def _failed(state: RolloutState, progress: Progress) -> str:
    if progress is Progress.TIMED_OUT:
        return "failed.timeout"
    if progress is Progress.NOT_SERVING_TARGET:
        return "failed.not_serving"
    if progress is Progress.REVERTED and state.target is not None and state.target.guardrails:
        return "failed.guardrails"
    if progress in (Progress.FAILED, Progress.REVERTED):
        return "failed"
    raise ValueError(f"the endpoint did not fail: {progress.value}")


def _step_done(state: RolloutState, phase: Phase) -> str:
    """The step passed (or had no bake): next step, the end of a test, promotion, or done - through a gate where
    the policy asks for one."""
    if phase is Phase.VERIFYING:  # the promoted model passed its last judging
        return "done.promoted"
    shifting = state.target is not None and state.target.shifts_traffic
    last = state.step_index + 1 >= len(state.steps) or (state.promote_now and shifting)
    testing = isinstance(state.policy.strategy, (AbTest, Shadow)) and state.target is not None
    if not last:
        return "done.next.gate" if state.current_step.confirm else "done.next"
    if testing and not state.promote_now:
        return "done.test"
    if shifting or testing:
        if state.policy.gates.confirm_before_promotion and not state.promote_now:
            return "done.promote.gate"
        return "done.promote"
    return "done.in_place"


def _merge(state: RolloutState, rows: tuple[Row, ...]) -> Transition:
    phase, action = state.phase, state.next
    outcome, lock, gate, bake = None, None, None, None
    close_gate = next_step = conclude = False
    events: tuple[EventKind, ...] = ()
    fails: type[DeploymentError] | None = None
    for row in rows:
        phase = row.phase or phase
        action = row.next or action
        outcome = row.outcome or outcome
        lock = row.lock or lock
        gate = row.gate or gate
        bake = row.bake or bake
        close_gate = close_gate or row.close_gate
        next_step = next_step or row.next_step
        conclude = conclude or row.then == "ExperimentConcluded"
        events += row.events
        fails = row.fails or fails
    return Transition(
        rows=rows,
        phase=phase,
        next=action,
        outcome=outcome,
        lock=lock,
        gate=gate,
        close_gate=close_gate,
        next_step=next_step,
        bake=bake,
        events=events,
        conclude=conclude,
        fails=fails,
    )


# --- Applying it ----------------------------------------------------------------------------------------------

GATE_NAMES: Mapping[GateThen, str] = {
    "start": "before start",
    "shift": "after step {step}",
    "promote": "before promotion",
}


def failure(change: Transition, message: str) -> DeploymentError:
    """The error a failure row names, with the step's message (the step raises it; the state's Catch rolls back)."""
    if change.fails is None:
        raise ValueError(f"{change.row.key} is no failure")
    return change.fails(message)


def apply(state: RolloutState, change: Transition, now: datetime) -> RolloutState:
    """Write a transition into the state (the step announces afterwards): phase, next action, outcome, lock status,
    the step index, and a gate opened (its deadline and first check from ``now``) or closed."""
    state.phase, state.next = change.phase, change.next
    if change.outcome is not None:
        state.outcome = change.outcome
    if change.lock is not None:
        state.lock.status = change.lock
    if change.next_step:
        state.step_index += 1
    if change.close_gate:
        state.gate = None
    if change.gate is not None:
        name = GATE_NAMES[change.gate].format(step=state.step_index)
        state.gate = GateState(
            name=name,
            opened_at=now,
            deadline=now + timedelta(seconds=state.policy.gates.timeout_seconds),
            then=change.gate,
        )
        state.bake.next_check_seconds = gate_check_seconds(state, now)
        state.message = f"waiting for approval at gate '{name}' (rollout approve {state.endpoint_name})"
    return state


def gate_check_seconds(state: RolloutState, now: datetime) -> int:
    """When a check at the open gate looks next: every check interval, and at its deadline at the latest."""
    gate = _require_gate(state)
    remaining = int((gate.deadline - now).total_seconds())
    interval = check_interval(state.judging, state.policy.gates.timeout_seconds)
    return max(1, min(interval, remaining))


def announcements(state: RolloutState, change: Transition, **extra: Any) -> list[tuple[EventKind, dict[str, Any]]]:
    """The events a transition names, each with its detail: the gate's name for a gate's events, and whatever the
    step adds (``extra``, e.g. the weights of a shift)."""
    told: list[tuple[EventKind, dict[str, Any]]] = []
    for kind in change.events:
        detail = dict(extra)
        if kind is EventKind.WAITING_FOR_APPROVAL and state.gate is not None:
            detail = {"gate": state.gate.name, **detail}
        told.append((kind, detail))
    return told


# --- The table as the README prints it ----------------------------------------------------------------------


def markdown_table() -> str:
    """The transition table as a Markdown table (the README's "How it works" prints exactly this)."""
    lines = [
        "| In state | Observation | When | Next action | Phase | Goes to | Also |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in TABLE.values():
        also = [f"outcome {row.outcome.value}"] if row.outcome else []
        also += [f"lock {row.lock.value}"] if row.lock else []
        also += [f"opens a gate (then {row.gate})"] if row.gate else []
        also += ["closes the gate"] if row.close_gate else []
        also += ["next step"] if row.next_step else []
        also += [f"{row.bake.replace('_', '-')} bake"] if row.bake else []
        also += [f"announces {', '.join(e.value for e in row.events)}"] if row.events else []
        also += [f"then {row.then}"] if row.then else []
        also += [f"raises {row.fails.__name__}"] if row.fails else []
        lines.append(
            f"| {row.at} | {row.seen} | {row.when} | {row.next or '(unchanged)'} | "
            f"{row.phase.value if row.phase else '(unchanged)'} | {row.goes_to} | {'; '.join(also)} |"
        )
    return "\n".join(lines)
