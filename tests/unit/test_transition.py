"""The transition function: every row of the table is reached by the situation it describes, and the properties the
flow promises hold for any state (a failure always restores, done only with an outcome, a gate opens with a
deadline, the function changes nothing)."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rollout import transition as flow
from rollout.analysis import BakeAction
from rollout.decide import Progress, final_outcome
from rollout.models.endpoint import VariantScaling
from rollout.models.policy import Policy, Step
from rollout.models.progress import BakeState, GateState, Outcome, PauseState, Phase, RolloutState, Target
from rollout.transition import (
    ACTIONS,
    ROUTES,
    TABLE,
    Baselined,
    Checked,
    EndpointChanging,
    EndpointFailed,
    EndpointSettled,
    ExperimentConcluded,
    GateApproved,
    GateFailed,
    GateTimedOut,
    GateWaiting,
    LockBusy,
    LockRefused,
    LockTaken,
    Prepared,
    PromotionSent,
    PromotionSettled,
    Recorded,
    RollbackBegun,
    RollbackDone,
    RollbackMoving,
    RollbackStopped,
    ShiftSent,
    StepDone,
    Unreadable,
    UpdateSent,
    VerificationFailed,
    VerificationPassed,
    apply,
    failure,
    markdown_table,
    transition,
)

from tests.helpers import ROOT
from tests.unit.factories import T0, state

SIDE = Target(
    model_name="new-model",
    config_name="new-config-p",
    creates_endpoint=False,
    variant_name="v3",
    shift_config_name="new-config-s",
    promoted_variant="blue",
)
SHADOW = SIDE.model_copy(update={"shadow": True})
GUARDED = Target(model_name="new-model", config_name="new-config", creates_endpoint=False, guardrails=True)
CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}
AB = {"type": "ab_test", "duration_seconds": 3600}
SHADOW_TEST = {"type": "shadow", "duration_seconds": 3600, "sampling_percent": 50}
TWO_STEPS = (Step(weight_percent=10, bake_seconds=600), Step(weight_percent=100, bake_seconds=0))
ONE_STEP = (Step(weight_percent=100, bake_seconds=600),)
NO_BAKE = (Step(weight_percent=100, bake_seconds=0),)
CONFIRMED = (Step(weight_percent=10, bake_seconds=60, confirm=True), Step(weight_percent=100, bake_seconds=0))
SCALING = VariantScaling(variant="blue", min_capacity=1, max_capacity=4, policies=())


def policy(**fields: Any) -> Policy:
    return Policy.model_validate({"endpoint_name": "churn-prod", **fields})


PROCEED = policy(gates={"on_timeout": "proceed"})
CANARY_PROCEED = policy(strategy=CANARY, gates={"on_timeout": "proceed"})


def gate(then: str) -> GateState:
    return GateState(name="g", opened_at=T0, deadline=T0 + timedelta(hours=1), then=then)


def canary(**overrides: Any) -> RolloutState:
    fields: dict[str, Any] = {"policy": policy(strategy=CANARY), "target": SIDE, "steps": TWO_STEPS}
    return _state(**{**fields, **overrides})


def in_place(**overrides: Any) -> RolloutState:
    return state(**{"steps": ONE_STEP, **overrides})


def ab(**overrides: Any) -> RolloutState:
    fields: dict[str, Any] = {"policy": policy(strategy=AB), "target": SIDE, "steps": (Step(weight_percent=50),)}
    return _state(**{**fields, **overrides})


def _state(**overrides: Any) -> RolloutState:
    target = overrides.pop("target", None)
    built = state(**overrides)
    return built if target is None else built.model_copy(update={"target": target})


# (situation, observation, the row it must take, the next action, the phase)
CASES: list[tuple[str, Any, Any, str, str | None, Phase | None]] = [
    ("busy", lambda: in_place(phase=Phase.RESOLVED), LockBusy(), "lock.busy", None, Phase.WAITING_FOR_LOCK),
    ("locked", lambda: in_place(phase=Phase.RESOLVED), LockTaken(), "lock.taken", None, Phase.LOCKED),
    ("duplicate", lambda: in_place(phase=Phase.RESOLVED), LockRefused("duplicate"), "lock.duplicate", None, None),
    ("superseded", lambda: in_place(phase=Phase.RESOLVED), LockRefused("superseded"), "lock.superseded", None, None),
    ("refused", lambda: in_place(phase=Phase.RESOLVED), LockRefused("refused"), "lock.refused", None, None),
    ("baselined", lambda: in_place(phase=Phase.LOCKED), Baselined(), "baselined", None, Phase.BASELINED),
    (
        "start gate",
        lambda: in_place(phase=Phase.BASELINED, policy=policy(gates={"confirm_before_start": True})),
        Prepared(),
        "prepared.gate",
        "gate",
        Phase.PREPARED,
    ),
    ("prepared", lambda: in_place(phase=Phase.BASELINED), Prepared(), "prepared", "start", Phase.PREPARED),
    ("update sent", lambda: in_place(phase=Phase.PREPARED), UpdateSent(), "update.sent", "wait", Phase.UPDATING),
    ("changing", lambda: canary(phase=Phase.SHIFTING), EndpointChanging(), "changing", "wait", Phase.SHIFTING),
    (
        "promoted, scaling back",
        lambda: canary(phase=Phase.PROMOTING, promotion_scaling=SCALING),
        EndpointSettled(),
        "settled.promoted.scaling",
        "promote",
        Phase.PROMOTING,
    ),
    ("promoted", lambda: canary(phase=Phase.PROMOTING), EndpointSettled(), "settled.promoted", "bake", Phase.VERIFYING),
    (
        "variant at 0, verify",
        lambda: canary(policy=policy(strategy=CANARY, verification={"sample_s3_uri": "s3://bucket/k/"})),
        EndpointSettled(),
        "settled.side.verify",
        "verify",
        Phase.UPDATING,
    ),
    ("variant at 0", lambda: canary(), EndpointSettled(), "settled.side", "shift", Phase.UPDATING),
    (
        "guardrails",
        lambda: _state(steps=ONE_STEP, target=GUARDED),
        EndpointSettled(),
        "settled.guardrails",
        "bake",
        Phase.VERIFYING,
    ),
    ("in place, no bake", lambda: in_place(steps=NO_BAKE), EndpointSettled(), "settled.unbaked.last", "bake",
     Phase.VERIFYING),
    (
        "canary's 0 s final step",
        lambda: canary(phase=Phase.SHIFTING, step_index=1),
        EndpointSettled(),
        "done.promote",
        "promote",
        Phase.BAKING,
    ),
    ("bake", lambda: in_place(), EndpointSettled(), "settled.bake", "bake", Phase.BAKING),
    ("shifted to a step", lambda: canary(phase=Phase.SHIFTING), EndpointSettled(), "settled.bake", "bake",
     Phase.BAKING),
    ("verified", lambda: canary(), VerificationPassed(), "verified", "shift", Phase.UPDATING),
    ("verification failed", lambda: canary(), VerificationFailed(), "verification.failed", None, None),
    ("update timed out", lambda: in_place(), EndpointFailed(Progress.TIMED_OUT), "failed.timeout", None, None),
    ("not serving", lambda: in_place(), EndpointFailed(Progress.NOT_SERVING_TARGET), "failed.not_serving", None,
     None),
    ("guardrails reverted", lambda: _state(steps=ONE_STEP, target=GUARDED), EndpointFailed(Progress.REVERTED),
     "failed.guardrails", None, None),
    ("reverted", lambda: in_place(), EndpointFailed(Progress.REVERTED), "failed", None, None),
    ("update failed", lambda: canary(phase=Phase.SHIFTING), EndpointFailed(Progress.FAILED), "failed", None, None),
    (
        "unreadable too often",
        lambda: canary(phase=Phase.BAKING, bake=BakeState(read_errors=11)),
        Unreadable(),
        "unreadable.limit",
        None,
        None,
    ),
    (
        "timed out, roll back",
        lambda: canary(phase=Phase.BAKING, gate=gate("promote"), policy=policy(strategy=CANARY)),
        GateTimedOut(),
        "gate.timeout.roll_back",
        None,
        None,
    ),
    ("shift sent", lambda: canary(phase=Phase.UPDATING), ShiftSent(), "shift.sent", "wait", Phase.SHIFTING),
    ("promotion sent", lambda: canary(phase=Phase.BAKING), PromotionSent(), "promotion.sent", "wait",
     Phase.PROMOTING),
    ("promotion settled", lambda: canary(phase=Phase.PROMOTING), PromotionSettled(), "promotion.settled", "bake",
     Phase.VERIFYING),
    ("failed", lambda: canary(phase=Phase.BAKING), Checked(BakeAction.ROLL_BACK), "checked.fail", "restore",
     Phase.BAKING),
    (
        "paused",
        lambda: canary(phase=Phase.BAKING, pause=PauseState(at=T0, by="ana")),
        Checked(BakeAction.ADVANCE),
        "checked.paused",
        "bake",
        Phase.BAKING,
    ),
    ("baking", lambda: canary(phase=Phase.BAKING), Checked(BakeAction.CONTINUE), "checked.bake", "bake",
     Phase.BAKING),
    ("extended", lambda: canary(phase=Phase.BAKING), Checked(BakeAction.EXTEND), "checked.bake", "bake",
     Phase.BAKING),
    ("passed a step", lambda: canary(phase=Phase.BAKING), Checked(BakeAction.ADVANCE), "done.next", "shift",
     Phase.BAKING),
    ("unreadable at a gate", lambda: canary(phase=Phase.BAKING, gate=gate("shift")), Unreadable(),
     "unreadable.gate", "gate", Phase.BAKING),
    ("unreadable", lambda: canary(phase=Phase.BAKING), Unreadable(), "unreadable", "bake", Phase.BAKING),
    (
        "approved, promote now",
        lambda: canary(phase=Phase.BAKING, gate=gate("shift"), promote_now=True),
        GateApproved("ana"),
        "gate.approved.promote_now",
        "promote",
        Phase.BAKING,
    ),
    ("approved start", lambda: in_place(phase=Phase.PREPARED, gate=gate("start")), GateApproved(),
     "gate.approved.start", "start", Phase.PREPARED),
    ("approved shift", lambda: canary(phase=Phase.BAKING, gate=gate("shift")), GateApproved(),
     "gate.approved.shift", "shift", Phase.BAKING),
    ("approved promote", lambda: canary(phase=Phase.BAKING, gate=gate("promote")), GateApproved(),
     "gate.approved.promote", "promote", Phase.BAKING),
    ("failed at a gate", lambda: canary(phase=Phase.BAKING, gate=gate("promote")), GateFailed(), "gate.failed",
     "restore", Phase.BAKING),
    ("timed out, start", lambda: in_place(phase=Phase.PREPARED, gate=gate("start"), policy=PROCEED), GateTimedOut(),
     "gate.timeout.start", "start", Phase.PREPARED),
    ("timed out, shift", lambda: canary(phase=Phase.BAKING, gate=gate("shift"), policy=CANARY_PROCEED), GateTimedOut(),
     "gate.timeout.shift", "shift", Phase.BAKING),
    ("timed out, promote", lambda: canary(phase=Phase.BAKING, gate=gate("promote"), policy=CANARY_PROCEED),
     GateTimedOut(),
     "gate.timeout.promote", "promote", Phase.BAKING),
    ("still waiting", lambda: canary(phase=Phase.BAKING, gate=gate("promote")), GateWaiting(), "gate.waiting",
     "gate", Phase.BAKING),
    ("post-promotion passed", lambda: canary(phase=Phase.VERIFYING), StepDone(), "done.promoted", "done",
     Phase.DEPLOYED),
    (
        "confirm after a step",
        lambda: canary(phase=Phase.BAKING, steps=CONFIRMED),
        StepDone(),
        "done.next.gate",
        "gate",
        Phase.BAKING,
    ),
    ("next step", lambda: canary(phase=Phase.BAKING), StepDone(), "done.next", "shift", Phase.BAKING),
    ("end of a test", lambda: ab(phase=Phase.BAKING), StepDone(), "done.test", "wait", Phase.BAKING),
    (
        "promotion gate",
        lambda: canary(phase=Phase.BAKING, step_index=1,
                       policy=policy(strategy=CANARY, gates={"confirm_before_promotion": True})),
        StepDone(),
        "done.promote.gate",
        "gate",
        Phase.BAKING,
    ),
    ("promote", lambda: canary(phase=Phase.BAKING, step_index=1), StepDone(), "done.promote", "promote",
     Phase.BAKING),
    ("promote now", lambda: canary(phase=Phase.BAKING, promote_now=True), StepDone(), "done.promote", "promote",
     Phase.BAKING),
    ("test promote now", lambda: ab(phase=Phase.BAKING, promote_now=True), StepDone(), "done.promote", "promote",
     Phase.BAKING),
    ("in place done", lambda: in_place(phase=Phase.BAKING), StepDone(), "done.in_place", "done", Phase.DEPLOYED),
    (
        "test wins, gate",
        lambda: ab(phase=Phase.BAKING, policy=policy(strategy=AB, gates={"confirm_before_promotion": True})),
        ExperimentConcluded("promote", planned_restore=False),
        "test.promote.gate",
        "gate",
        Phase.BAKING,
    ),
    ("test wins", lambda: ab(phase=Phase.BAKING), ExperimentConcluded("promote", False), "test.promote", "promote",
     Phase.BAKING),
    ("keep both", lambda: ab(phase=Phase.BAKING), ExperimentConcluded("keep_both", False), "test.keep", "done",
     Phase.DEPLOYED),
    ("shadow kept", lambda: _state(policy=policy(strategy=SHADOW_TEST), target=SHADOW, phase=Phase.BAKING),
     ExperimentConcluded("keep", True), "test.keep", "done", Phase.DEPLOYED),
    ("measured, back", lambda: ab(phase=Phase.BAKING), ExperimentConcluded("rollback", True), "test.back.planned",
     "restore", Phase.BAKING),
    ("baseline won", lambda: ab(phase=Phase.BAKING), ExperimentConcluded("rollback", False), "test.back", "restore",
     Phase.BAKING),
    ("rollback begins", lambda: canary(phase=Phase.BAKING, next="restore"), RollbackBegun(), "rollback.begun",
     "restore", Phase.ROLLING_BACK),
    ("rollback moves", lambda: canary(phase=Phase.ROLLING_BACK), RollbackMoving(), "rollback.moving", "wait",
     Phase.ROLLING_BACK),
    ("rolled back", lambda: canary(phase=Phase.ROLLING_BACK), RollbackDone(), "rollback.done", "wait",
     Phase.ROLLED_BACK),
    ("stopped", lambda: canary(phase=Phase.ROLLING_BACK), RollbackStopped(), "rollback.stopped", "done",
     Phase.STOPPED),
    ("recorded", lambda: canary(phase=Phase.ROLLED_BACK), Recorded(), "recorded", "wait", Phase.FINISHED),
]  # fmt: skip


@pytest.mark.parametrize(("build", "seen", "key", "action", "phase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_situation_takes_its_row(build, seen, key, action, phase):
    before = build()
    change = transition(before, seen)
    assert change.row.key == key
    assert change.next == (action or before.next)
    assert change.phase == (phase or before.phase)
    if change.fails is not None:  # a failure changes nothing: the step raises, the state's Catch rolls back
        assert (change.row.next, change.row.phase, change.gate, change.events) == (None, None, None, ())
        assert isinstance(failure(change, "why"), change.fails) and str(failure(change, "why")) == "why"


def test_every_row_is_reached_by_a_case():
    reached = set()
    for _, build, seen, *_ in CASES:
        reached |= {row.key for row in transition(build(), seen).rows}
    assert set(TABLE) - reached == set()


def test_a_row_with_then_leads_to_that_observation_and_goes_nowhere_itself():
    for row in TABLE.values():
        if row.then is not None:
            assert row.then in {r.seen for r in TABLE.values()}, row.key
            assert row.goes_to.startswith("("), row.key
        elif row.next is not None:
            assert row.goes_to == ROUTES[row.next], f"{row.key}: {row.next} goes to {ROUTES[row.next]}"


def test_the_state_model_holds_exactly_the_table_s_actions():
    assert set(get_args(RolloutState.model_fields["next"].annotation)) == set(ACTIONS) == set(ROUTES)


def test_a_gate_opens_with_its_name_deadline_and_first_check():
    before = canary(phase=Phase.BAKING, steps=CONFIRMED)
    after = apply(before.model_copy(deep=True), transition(before, StepDone()), T0)
    assert after.step_index == 1 and after.next == "gate"
    assert after.gate == GateState(name="after step 1", opened_at=T0, deadline=T0 + timedelta(days=1), then="shift")
    assert 1 <= after.bake.next_check_seconds <= 86400
    assert after.message == "waiting for approval at gate 'after step 1' (rollout approve churn-prod)"
    approved = apply(after.model_copy(deep=True), transition(after, GateApproved("ana")), T0)
    assert approved.gate is None and approved.next == "shift" and approved.step_index == 1


def test_a_test_s_conclusion_is_asked_for_and_its_outcome_kept():
    before = ab(phase=Phase.BAKING)
    asked = transition(before, StepDone())
    assert asked.conclude and asked.next == before.next
    back = apply(before.model_copy(deep=True), transition(before, ExperimentConcluded("discard", False)), T0)
    assert back.next == "restore" and back.outcome is Outcome.ROLLED_BACK


# --- properties over many states -------------------------------------------------------------------------------

OBSERVATIONS = st.sampled_from(
    [
        EndpointSettled(),
        Checked(BakeAction.CONTINUE),
        Checked(BakeAction.EXTEND),
        Checked(BakeAction.ADVANCE),
        Checked(BakeAction.ROLL_BACK),
        Unreadable(),
        StepDone(),
        GateFailed(),
        ExperimentConcluded("promote", False),
        ExperimentConcluded("keep_both", False),
        ExperimentConcluded("rollback", True),
        ExperimentConcluded("discard", False),
        RollbackDone(),
        RollbackStopped(),
    ]
)


@st.composite
def states(draw: st.DrawFn) -> RolloutState:
    kind = draw(st.sampled_from(["canary", "ab", "in_place", "shadow"]))
    steps = draw(
        st.lists(st.tuples(st.integers(0, 3600), st.booleans()), min_size=1, max_size=4).map(
            lambda spec: tuple(
                Step(weight_percent=100 * (i + 1) / len(spec), bake_seconds=b, confirm=c)
                for i, (b, c) in enumerate(spec)
            )
        )
    )
    gates = {"confirm_before_promotion": draw(st.booleans()), "confirm_before_start": draw(st.booleans())}
    strategy = {"canary": CANARY, "ab": AB, "in_place": {"type": "all_at_once"}, "shadow": SHADOW_TEST}[kind]
    target = {"canary": SIDE, "ab": SIDE, "in_place": None, "shadow": SHADOW}[kind]
    phase = draw(st.sampled_from([Phase.UPDATING, Phase.SHIFTING, Phase.BAKING, Phase.PROMOTING, Phase.VERIFYING]))
    fields: dict[str, Any] = {
        "policy": policy(strategy=strategy, gates=gates),
        "steps": steps,
        "step_index": draw(st.integers(0, len(steps) - 1)),
        "phase": phase,
        "promote_now": draw(st.booleans()),
        "pause": draw(st.sampled_from([None, PauseState(at=T0, by="ana")])),
        "gate": draw(st.sampled_from([None, gate("shift"), gate("promote")])),
    }
    return _state(target=target, **fields)


@settings(max_examples=300, deadline=None)
@given(states(), OBSERVATIONS)
def test_the_function_changes_nothing_and_always_names_a_known_action(before, seen):
    kept = copy.deepcopy(before.model_dump())
    change = transition(before, seen)
    assert before.model_dump() == kept
    assert change.next in ACTIONS and change.rows and all(row.key in TABLE for row in change.rows)


@settings(max_examples=300, deadline=None)
@given(states())
def test_a_failed_verdict_always_restores(before):
    for failed in (Checked(BakeAction.ROLL_BACK), GateFailed()):
        assert transition(before, failed).next == "restore"


@settings(max_examples=300, deadline=None)
@given(states(), OBSERVATIONS)
def test_done_only_with_an_outcome(before, seen):
    """A rollout that is done is deployed or stopped, and so has an outcome: never a rollout that just ends."""
    change = transition(before, seen)
    if change.next != "done":
        return
    assert change.phase in (Phase.DEPLOYED, Phase.STOPPED)
    after = apply(before.model_copy(deep=True), change, T0)
    assert final_outcome(after) in (Outcome.SUCCEEDED, Outcome.NEEDS_ATTENTION)


@settings(max_examples=300, deadline=None)
@given(states(), OBSERVATIONS)
def test_a_gate_is_opened_only_with_its_announcement(before, seen):
    change = transition(before, seen)
    opened = change.gate is not None
    assert opened == (flow.EventKind.WAITING_FOR_APPROVAL in change.events)
    if opened:
        after = apply(before.model_copy(deep=True), change, T0)
        assert after.gate is not None and after.gate.deadline > T0 and after.next == "gate"


# --- the README prints the table --------------------------------------------------------------------------------

BEGIN, END = "<!-- transition-table:begin (rollout.transition.markdown_table) -->", "<!-- transition-table:end -->"


def test_the_readme_prints_the_transition_table():
    readme = (ROOT / "README.md").read_text()
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    assert found, f"the README has no {BEGIN} marker"
    assert found.group(1) == markdown_table(), "stale: paste rollout.transition.markdown_table() into the README"
