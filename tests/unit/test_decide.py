from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from rollout.decide import TRANSITIONAL, Progress, RollbackAction, deployment_progress, rollback_action
from rollout.models.endpoint import VariantSnapshot
from rollout.models.progress import TaskError

from .factories import T0, snapshot, state

STATUSES = [
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
]


def test_an_update_in_flight_waits_until_its_timeout():
    s = state()
    assert deployment_progress(s, snapshot("Updating"), T0 + timedelta(seconds=600)).progress is Progress.WAIT
    late = T0 + timedelta(seconds=s.policy.update_timeout_seconds + 1)
    decision = deployment_progress(s, snapshot("Updating"), late)
    assert decision.progress is Progress.TIMED_OUT and "update_timeout_seconds" in decision.reason


def test_in_service_on_the_target_with_the_new_model_is_deployed():
    observed = snapshot("InService", config="new-config", model="new-model")
    assert deployment_progress(state(), observed, T0).progress is Progress.DEPLOYED


def test_in_service_on_the_target_with_another_model_fails_verification():
    observed = snapshot("InService", config="new-config", model="someone-elses-model")
    assert deployment_progress(state(), observed, T0).progress is Progress.NOT_SERVING_TARGET


def test_sagemaker_reverting_to_the_old_config_is_a_failure_with_its_reason():
    observed = snapshot("InService", config="churn-prod-config-v0", failure="ping failed")
    decision = deployment_progress(state(), observed, T0)
    assert decision.progress is Progress.REVERTED and "ping failed" in decision.reason


def test_failed_endpoint_is_a_failure_even_without_a_reason():
    decision = deployment_progress(state(), snapshot("Failed"), T0)
    assert decision.progress is Progress.FAILED and "no FailureReason" in decision.reason


def test_rollback_is_done_only_when_the_endpoint_is_back_on_its_baseline():
    s = state()
    assert rollback_action(s, snapshot("InService"), T0).action is RollbackAction.DONE
    on_target = snapshot("InService", config="new-config")
    assert rollback_action(s, on_target, T0).action is RollbackAction.UPDATE_TO_BASELINE
    moving = snapshot("Updating", pending="new-config")
    assert rollback_action(s, moving, T0).action is RollbackAction.WAIT


def test_a_failed_endpoint_is_deleted_then_recreated_on_its_baseline():
    s = state()
    assert rollback_action(s, snapshot("Failed", config="new-config"), T0).action is RollbackAction.DELETE
    assert rollback_action(s, snapshot(exists=False), T0).action is RollbackAction.RECREATE_BASELINE


def test_an_endpoint_whose_guarded_update_and_rollback_failed_is_left_serving_with_its_whole_story():
    s = state()
    observed = snapshot("UpdateRollbackFailed", failure="The new fleet failed its health checks.")
    decision = rollback_action(s, observed, T0)
    assert decision.action is RollbackAction.STOP
    for said in (
        "endpoint churn-prod is UpdateRollbackFailed",
        "still serves traffic with a mix of churn-prod-config-v0 (before the rollout) and new-config (this rollout's)",
        "FailureReason: The new fleet failed its health checks.",
        "nothing was deleted and new-config, new-model are kept",
        "--endpoint-config-name churn-prod-config-v0",
    ):
        assert said in decision.reason
    progress = deployment_progress(s, observed, T0)
    assert progress.progress is Progress.FAILED and "so did SageMaker's automatic rollback" in progress.reason


def test_an_out_of_service_endpoint_is_not_deleted_either():
    decision = rollback_action(state(), snapshot("OutOfService", config="new-config"), T0)
    assert decision.action is RollbackAction.STOP
    assert "is OutOfService, in which SageMaker accepts no update" in decision.reason
    assert "wait until SageMaker reports it InService again" in decision.reason


def test_an_endpoint_created_by_the_rollout_is_deleted():
    s = state(baseline=snapshot(exists=False))
    assert rollback_action(s, snapshot("Failed", config="new-config"), T0).action is RollbackAction.DELETE
    assert rollback_action(s, snapshot(exists=False), T0).action is RollbackAction.DONE


def test_a_rollback_stuck_in_a_transition_gives_up_after_its_deadline():
    s = state(rollback_started_at=T0)
    before = T0 + timedelta(seconds=s.policy.rollback_deadline_seconds)
    assert rollback_action(s, snapshot("Updating"), before).action is RollbackAction.WAIT
    late = T0 + timedelta(seconds=s.policy.rollback_deadline_seconds + 1)
    decision = rollback_action(s, snapshot("Updating"), late)
    assert decision.action is RollbackAction.GIVE_UP and "rollback_deadline_seconds=3600" in decision.reason


def test_rollback_restores_the_live_instance_counts_the_old_config_does_not_carry():
    # back on the old config, whose InitialInstanceCount (2) is not what autoscaling had set live (5)
    live = VariantSnapshot(name="blue", model_name="old", weight=1, instance_type="ml.m5.xlarge", instance_count=5)
    s = state(baseline=snapshot().model_copy(update={"variants": (live,)}))
    decision = rollback_action(s, snapshot("InService"), T0)
    assert decision.action is RollbackAction.RESTORE_LIVE and "instance count of blue (2 -> 5)" in decision.reason


def test_a_config_that_is_neither_the_baseline_nor_ours_is_someone_elses_and_is_left_alone():
    decision = rollback_action(state(), snapshot("InService", config="hotfix-config"), T0)
    assert decision.action is RollbackAction.STOP and "hotfix-config" in decision.reason
    pending = rollback_action(state(), snapshot("Updating", pending="hotfix-config"), T0)
    assert pending.action is RollbackAction.STOP and "is being updated to config hotfix-config" in pending.reason


def test_drift_stops_the_rollback_before_anything_is_touched():
    s = state(error=TaskError(Error="DriftError", Cause="weights changed"))
    assert rollback_action(s, snapshot("InService", config="new-config"), T0).action is RollbackAction.STOP


@given(
    status=st.sampled_from(STATUSES),
    config=st.sampled_from(["churn-prod-config-v0", "new-config"]),
    exists=st.booleans(),
    baseline_exists=st.booleans(),
)
def test_rollback_never_calls_done_while_the_endpoint_differs_from_before(status, config, exists, baseline_exists):
    baseline = snapshot() if baseline_exists else snapshot(exists=False)
    observed = snapshot(status, config=config) if exists else snapshot(exists=False)
    decision = rollback_action(state(baseline=baseline), observed, T0)
    if decision.action is RollbackAction.DONE:
        if baseline_exists:
            assert observed.exists and observed.status == "InService" and observed.config_name == baseline.config_name
        else:
            assert not observed.exists
    foreign = not baseline_exists and config == "churn-prod-config-v0"  # neither the (absent) baseline's nor ours
    if exists and foreign:
        assert decision.action is RollbackAction.STOP, "someone else's endpoint is never touched"
    elif exists and status in TRANSITIONAL:
        assert decision.action is RollbackAction.WAIT


@given(
    status=st.sampled_from(STATUSES),
    config=st.sampled_from(["churn-prod-config-v0", "new-config"]),
    baseline_exists=st.booleans(),
)
def test_rollback_deletes_only_an_endpoint_that_cannot_serve_or_that_it_created(status, config, baseline_exists):
    baseline = snapshot() if baseline_exists else snapshot(exists=False)
    decision = rollback_action(state(baseline=baseline), snapshot(status, config=config), T0)
    if decision.action is RollbackAction.DELETE:
        assert status == "Failed" or (not baseline_exists and status == "InService")
    if status in ("UpdateRollbackFailed", "OutOfService"):
        assert decision.action is RollbackAction.STOP
