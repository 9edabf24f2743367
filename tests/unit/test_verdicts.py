from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from rollout.analysis import BakeAction, HealthObservation, HealthVerdict, VariantFigures, after_check, judge
from rollout.models.policy import Analysis
from rollout.models.progress import BakeState, Verdict

from .factories import T0

CHECKS = Analysis(max_error_rate=0.02, max_latency_ratio=1.5, min_invocations=100)


def figures(invocations, errors, latency=40.0):
    return VariantFigures(invocations=invocations, errors=errors, latency_ms=latency)


def test_an_alarm_in_alarm_fails_whatever_the_metrics_say():
    verdict = judge(CHECKS, HealthObservation(alarms={"a": "ALARM", "b": "OK"}, new=figures(1000, 0)))
    assert verdict.verdict is Verdict.FAIL and verdict.alarm == "a"


def test_too_few_invocations_is_inconclusive():
    verdict = judge(CHECKS, HealthObservation(alarms={}, new=figures(50, 0)))
    assert verdict.verdict is Verdict.INCONCLUSIVE and "min_invocations=100" in verdict.reason


def test_error_rate_and_latency_ratio_are_checked_against_the_baseline():
    base = figures(1000, 1, 40.0)
    assert judge(CHECKS, HealthObservation({}, figures(200, 10), base)).verdict is Verdict.FAIL
    slow = judge(CHECKS, HealthObservation({}, figures(200, 0, 80.0), base))
    assert slow.verdict is Verdict.FAIL and "2.00x the baseline" in slow.reason
    assert judge(CHECKS, HealthObservation({}, figures(200, 1, 45.0), base)).verdict is Verdict.PASS


def test_insufficient_data_follows_the_policy():
    observed = HealthObservation(alarms={"a": "INSUFFICIENT_DATA"})
    assert judge(Analysis(alarms=("a",)), observed).verdict is Verdict.PASS
    assert judge(Analysis(alarms=("a",), treat_missing="inconclusive"), observed).verdict is Verdict.INCONCLUSIVE


def bake(**fields):
    return BakeState(started_at=T0, ends_at=T0 + timedelta(seconds=600), **fields)


def test_inconclusive_extends_the_bake_then_takes_the_policys_choice():
    inconclusive = HealthVerdict(Verdict.INCONCLUSIVE, "too few")
    after = T0 + timedelta(seconds=601)
    assert after_check(CHECKS, bake(), inconclusive, T0).action is BakeAction.CONTINUE
    assert after_check(CHECKS, bake(inconclusive=2), inconclusive, after).action is BakeAction.EXTEND
    assert after_check(CHECKS, bake(inconclusive=3), inconclusive, after).action is BakeAction.ROLL_BACK
    lenient = Analysis(on_inconclusive="pass")
    assert after_check(lenient, bake(inconclusive=3), inconclusive, after).action is BakeAction.ADVANCE


def test_failed_checks_roll_back_at_the_failure_threshold():
    failed = HealthVerdict(Verdict.FAIL, "5XX rate too high")
    tolerant = Analysis(failure_threshold=3)
    assert after_check(tolerant, bake(failures=1), failed, T0).action is BakeAction.CONTINUE
    assert after_check(tolerant, bake(failures=2), failed, T0).action is BakeAction.ROLL_BACK


@given(
    verdict=st.sampled_from(list(Verdict)),
    failures=st.integers(0, 5),
    inconclusive=st.integers(0, 5),
    threshold=st.integers(1, 5),
    max_inconclusive=st.integers(0, 5),
    seconds=st.integers(0, 1200),
    alarm=st.booleans(),
)
def test_bake_decisions_are_consistent(verdict, failures, inconclusive, threshold, max_inconclusive, seconds, alarm):
    analysis = Analysis(failure_threshold=threshold, max_inconclusive=max_inconclusive)
    state = bake(failures=failures, inconclusive=inconclusive)
    now = T0 + timedelta(seconds=seconds)
    over = seconds >= 600
    decision = after_check(analysis, state, HealthVerdict(verdict, "r", alarm="x" if alarm else None), now)
    if verdict is Verdict.PASS:
        assert decision.action is (BakeAction.ADVANCE if over else BakeAction.CONTINUE), "a pass never rolls back"
    if verdict is Verdict.FAIL:
        assert decision.action in (BakeAction.ROLL_BACK, BakeAction.CONTINUE), "a failure never advances"
        if alarm or failures + 1 >= threshold:
            assert decision.action is BakeAction.ROLL_BACK
    if decision.action is BakeAction.ADVANCE:
        assert over, "no step passes before its bake is over"
