"""The promise, one bullet of issue 11 at a time: after any rollout the endpoint serves the new model as intended,
or exactly what it served before; otherwise a person is told precisely what state it is in, and the endpoint waits
for their go-ahead."""

import json

import pytest

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}
GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}
BAD = {"error_rate": 0.08, "latency_ms": 42, "p99_latency_ms": 125}
AUTOSCALED = {
    "name": "churn-prod",
    "variants": [
        {
            "name": "blue",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 2,
            "autoscaling": {"min_capacity": 2, "max_capacity": 6, "target_invocations_per_instance": 50},
        }
    ],
}
# the canary of CANARY: its promotion update runs from about +20:16 to +28:20, the post-promotion bake to +33:20
DURING_PROMOTION, AFTER_PROMOTION = 1330, 1790


def policy(**fields):
    return {"endpoint_name": "churn-prod", **fields}


def scaling_of(sim, variant):
    aas = sim.session.client("application-autoscaling")
    rid = f"endpoint/churn-prod/variant/{variant}"
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in targets], [p["PolicyName"] for p in policies]


def items(sim, sk_prefix):
    scanned = sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]
    return [item for item in scanned if item["sk"]["S"].startswith(sk_prefix)]


def rollout_alarms(sim):
    described = sim.session.client("cloudwatch").describe_alarms(AlarmNamePrefix="sagemaker-rollout-")
    return [a["AlarmName"] for a in described["MetricAlarms"]]


ALICE = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"  # the default person, as AWS authenticated her


def by_ref(report):
    return {e.package_ref: e for e in report.executions}


# --- 1. rollback restores the exact pre-rollout state ------------------------------------------------------------


def test_rollback_restores_live_instance_counts_and_autoscaling_not_just_the_config(run):
    # autoscaling had grown blue to 5 instances; its config still says 2
    report, sim = run(
        scenario(
            approval=None,
            policy=None,
            endpoint=AUTOSCALED,
            policies={"churn": policy(strategy=CANARY, analysis={"max_error_rate": 0.02})},
            traffic={"requests_per_second": 20},
            model_behaviour={"baseline": GOOD, "new": BAD},
            timeline=[
                {"at_seconds": 0, "action": "update_weights", "endpoint": "churn-prod", "instance_counts": {"blue": 5}},
                {"at_seconds": 120, "action": "approve", "group": "churn"},
            ],
        )
    )
    assert report.outcome == "rolled_back", report.reason
    endpoint = report.endpoint
    assert endpoint.config_name == "churn-prod-config-v0"
    assert [(v.name, v.weight, v.instances) for v in endpoint.variants] == [("blue", 1.0, 5)], "5 live, not 2"
    assert scaling_of(sim, "blue") == ([(2, 6)], ["blue-invocations"])
    restore = [what for _, op, _, what in sim.sagemaker.changes if op == "UpdateEndpointWeightsAndCapacities"][-1]
    assert restore == {"blue": 1.0}, "the last change gives blue its live weight (and its 5 instances) back"


# --- 2. stable variant names ---------------------------------------------------------------------------------


def test_the_promoted_variant_keeps_the_name_users_alarms_watch(run):
    # a user's alarm on VariantName=blue; the new model turns bad an hour after it was promoted
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY),
            traffic={"requests_per_second": 20},
            model_behaviour={"baseline": GOOD, "new": [GOOD, {"after_seconds": 3600, **BAD}]},
            alarms=[{"name": "blue-5xx", "metric": "Invocation5XXErrors", "variant": "blue", "threshold": 10}],
            timeline=[{"at_seconds": 4500, "action": "set_alarm", "alarm": "blue-5xx", "state": "OK"}],  # run on
        )
    )
    assert report.outcome == "succeeded", report.reason
    (variant,) = report.endpoint.variants
    assert variant.name == "blue" and variant.model_package.endswith("model-package/churn/1")
    fired = [t for t in sim.world.transitions if t.alarm == "blue-5xx" and t.new == "ALARM"]
    assert fired, "the user's own alarm on blue watches the promoted model"


# --- 3. watch until the end ---------------------------------------------------------------------------------


@pytest.mark.parametrize("at", [DURING_PROMOTION, AFTER_PROMOTION], ids=["during-the-promotion", "after-it"])
def test_an_alarm_while_promoting_or_after_the_promotion_rolls_back_to_the_pre_rollout_config(run, at):
    report, _sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis={"alarms": ["checkout-conversion-low"]}),
            traffic={"requests_per_second": 10},
            alarms=[{"name": "checkout-conversion-low", "script": [{"at_seconds": 0, "state": "OK"}]}],
            timeline=[{"at_seconds": at, "action": "set_alarm", "alarm": "checkout-conversion-low", "state": "ALARM"}],
        )
    )
    assert report.outcome == "rolled_back", report.reason
    assert "checkout-conversion-low" in report.reason
    assert ("during the promotion" in report.reason) == (at == DURING_PROMOTION)
    endpoint = report.endpoint
    assert endpoint.config_name == "churn-prod-config-v0"
    assert [(v.name, v.model, v.weight, v.instances) for v in endpoint.variants] == [
        ("blue", "churn-prod-blue-model", 1.0, 2)
    ]
    rollback = next(e.t for e in report.timeline if e.state == "Roll Back")
    # seen at the next look: after the promotion's update settles (the endpoint's event wakes the wait; nothing can
    # be done to an endpoint mid-update), or at once through the alarm listener after it
    look = next(e.t for e in report.timeline if e.state in ("Check Endpoint", "Evaluate Health") and e.t > at)
    assert at < look <= rollback < look + 40, (at, look, rollback)


def test_an_alarm_that_fired_for_a_moment_is_never_lost(run):
    # the listener's event is lost (the function keeps failing) and the alarm is back to OK five seconds later
    # (SetAlarmState): the next periodic check still fails the step, from the alarm's history
    report, _sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis={"alarms": ["checkout-conversion-low"]}),
            traffic={"requests_per_second": 10},
            alarms=[{"name": "checkout-conversion-low", "script": [{"at_seconds": 0, "state": "OK"}]}],
            faults=[
                {"function": "AlarmListenerFunction", "kind": "raises", "error_type": "RuntimeError", "times": 100}
            ],
            timeline=[{"at_seconds": 700, "action": "set_alarm", "alarm": "checkout-conversion-low", "state": "ALARM"}],
        )
    )
    assert report.outcome == "rolled_back", report.reason
    assert "checkout-conversion-low" in report.reason and "went to ALARM at" in report.reason
    back_to_ok = next(e.t for e in report.timeline if "ALARM -> OK" in e.note)
    rollback = next(e.t for e in report.timeline if e.state == "Roll Back")
    # at the next periodic check (a 10-minute bake is checked at its middle and at its end), after the recovery
    assert 700 < back_to_ok < rollback < 700 + 300 + 61, (back_to_ok, rollback)
    assert report.endpoint.config_name == "churn-prod-config-v0"


# --- 4. pre-flight ----------------------------------------------------------------------------------------------


def test_an_alarm_already_in_alarm_refuses_the_rollout_before_anything_is_touched(run):
    report, sim = run(
        scenario(
            policy=policy(
                strategy=CANARY, analysis={"alarms": ["checkout-conversion-low"]}, on_rollback="reject_package"
            ),
            alarms=[{"name": "checkout-conversion-low", "script": [{"at_seconds": 0, "state": "ALARM"}]}],
        )
    )
    assert report.outcome == "rejected", report.reason
    assert report.reason.startswith("AlarmAlreadyFiringError") and "fix_forward" in report.reason
    assert [op for _, op, _, _ in sim.sagemaker.changes] == [], "the endpoint was not touched"
    assert not [m for m in sim.sagemaker.models if m.startswith("churn-prod-m-")], "nothing was created"
    package = sim.sagemaker.packages[report.records[0]["package_arn"]]
    assert package["ModelApprovalStatus"] == "Approved", "the package is not blamed for an outage it did not cause"


def fix_forward(new_error_rate, **fields):
    """The live model fails 10% of requests and its alarm fires; a fix is approved ten minutes later."""
    analysis = {"alarms": ["blue-5xx"], "alarm_at_start": "fix_forward", "max_error_rate_increase": 0.0}
    return scenario(
        approval=None,
        policy=None,
        policies={
            "churn": policy(
                strategy={"type": "all_at_once", "bake_seconds": 600},
                analysis={**analysis, "min_invocations": 100, **fields.pop("analysis", {})},
                **fields,
            )
        },
        traffic={"requests_per_second": 20},
        model_behaviour={"baseline": {"error_rate": 0.1}, "new": {"error_rate": new_error_rate}},
        alarms=[{"name": "blue-5xx", "metric": "Invocation5XXErrors", "variant": "blue", "threshold": 10}],
        timeline=[{"at_seconds": 600, "action": "approve", "group": "churn"}],
    )


def test_fix_forward_judges_the_new_model_against_the_baseline_only(run):
    # an absolute limit of 1% would fail the fix (3%): while fixing forward, only the baseline (10%) is the yardstick
    report, _sim = run(fix_forward(0.03, analysis={"max_error_rate": 0.01}))
    assert report.outcome == "succeeded", report.reason
    steps = json.loads(report.records[0]["steps"])
    assert "baseline 10" in steps[0]["reason"], "judged against the baseline's 10% before the rollout"
    snapshot = next(e for e in report.timeline if e.state == "Snapshot Endpoint")
    assert "blue-5xx already in ALARM are set aside" in snapshot.note


def test_fix_forward_still_rolls_back_a_fix_worse_than_the_baseline(run):
    report, sim = run(fix_forward(0.3, on_rollback="reject_package"))
    assert report.outcome == "rolled_back", report.reason
    assert "exceeds the baseline's" in report.reason
    assert report.endpoint.config_name == "churn-prod-config-v0"
    package = sim.sagemaker.packages[report.records[0]["package_arn"]]
    assert package["ModelApprovalStatus"] == "Rejected", "a health failure of the new model rejects it"


# --- 5. drift: someone else's change is never overwritten -------------------------------------------------------


def test_someone_elses_hotfix_mid_bake_stops_the_rollout_and_holds_the_endpoint_until_a_person_releases_it(run):
    hotfix = {"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 3}
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY),
            traffic={"requests_per_second": 10},
            timeline=[
                {"at_seconds": 700, "action": "update_endpoint", "endpoint": "churn-prod", "variants": [hotfix]},
                {"at_seconds": 2000, "action": "approve", "group": "churn"},
                {"at_seconds": 2630, "action": "operator", "command": "release", "reason": "hotfix checked"},
            ],
        )
    )
    first, second = by_ref(report)["churn/1"], by_ref(report)["churn/2"]
    assert first.outcome == "needs_attention", first.reason
    for said in ("DriftError", "is being updated to config churn-prod-config-t0", "someone else changed it"):
        assert said in first.reason
    updates = [what for _, op, _, what in sim.sagemaker.changes if op == "UpdateEndpoint"]
    assert updates[:2] == [updates[0], "churn-prod-config-t0"], "the rollout never updated away from the hotfix"
    record = next(r for r in report.records if r["rollout_id"] == first.name)
    assert record["outcome"] == "needs_attention" and record["released_by"] == ALICE, "the principal AWS authenticated"
    assert record["release_reason"] == "hotfix checked"
    kinds = [e.detail_type for e in report.events]
    assert "Rollout Needs Attention" in kinds and "Rollout Waiting For Release" in kinds
    waiting = next(e for e in second.timeline if "held for a person" in e.note)
    assert first.name in waiting.note and "rollout release churn-prod" in waiting.note
    assert second.outcome == "succeeded", second.reason
    started = next(e.t for e in second.timeline if e.state == "Snapshot Endpoint")
    assert 2630 < started < 2630 + 65, "the queued rollout goes at its next look after the release"
    assert "churn-prod-config-t0" in next(e.note for e in second.timeline if e.state == "Snapshot Endpoint")
    assert items(sim, "HOLD") == []


def test_someone_elses_weight_change_mid_bake_is_kept_and_named(run):
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY),
            timeline=[
                {"at_seconds": 700, "action": "update_weights", "endpoint": "churn-prod", "weights": {"blue": 45}}
            ],
        )
    )
    assert report.outcome == "needs_attention", report.reason
    # seen while SageMaker applies it (Updating) or once it is applied (the weights differ), by the next look
    assert "DriftError" in report.reason
    assert "Updating although the rollout is not changing it" in report.reason or "blue has weight 45" in report.reason
    weights = {v.name: v.weight for v in report.endpoint.variants}
    assert weights["blue"] == 45 and sorted(weights.values()) == [10.0, 45.0], "kept as the other party left it"
    assert report.endpoint.config_name.startswith("churn-prod-s-v1-"), "not rolled back over their change"
    (hold,) = items(sim, "HOLD")
    assert hold["rollout_id"]["S"] == report.records[0]["rollout_id"]
    assert rollout_alarms(sim) == [], "the rollout's alarms are gone"


# --- 6. rollback persists ---------------------------------------------------------------------------------------


def bad_canary(**fields):
    return scenario(
        policy=policy(strategy=CANARY, analysis={"max_error_rate": 0.02}, **fields.pop("policy", {})),
        traffic={"requests_per_second": 20},
        model_behaviour={"baseline": GOOD, "new": BAD},
        **fields,
    )


def test_server_errors_during_the_rollback_are_retried_until_it_is_done(run):
    # the rollback's UpdateEndpoint (the second) meets 15 503s: three tries of five attempts each fail
    fault = {"api": "sagemaker:UpdateEndpoint", "error": "ServiceUnavailable", "times": 15, "after_calls": 1}
    report, _sim = run(bad_canary(faults=[fault]))
    assert report.outcome == "rolled_back", report.reason
    retries = [e for e in report.timeline if e.state == "Roll Back" and "AwsUnavailableError" in e.note]
    assert len(retries) == 3 and "trying again in 30 s" in retries[0].note and "in 60 s" in retries[1].note
    assert report.endpoint.config_name == "churn-prod-config-v0"
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 17


def test_a_rollback_that_cannot_finish_ends_needs_attention_never_failed(run):
    denied = {"api": "sagemaker:UpdateEndpoint", "error": "AccessDeniedException", "times": 1000, "after_calls": 1}
    report, sim = run(bad_canary(policy={"rollback_deadline_seconds": 600}, faults=[denied]))
    assert report.outcome == "needs_attention", report.reason
    for said in (
        "did not finish within rollback_deadline_seconds=600",
        "the endpoint is InService on churn-prod-s-v1-",  # the new variant cut to 0: only the baseline serves
        "The last AWS error of the rollback: AwsServiceError: sagemaker:UpdateEndpoint failed: AccessDeniedException",
    ):
        assert said in report.reason
    weights = {v.name: v.weight for v in report.endpoint.variants}
    assert weights["blue"] == 1.0 and sorted(weights.values()) == [0.0, 1.0], "traffic was cut; the rest is a person's"
    assert items(sim, "HOLD"), "the endpoint waits for a person"


# --- 7. side calls are best effort ------------------------------------------------------------------------------


def test_a_failing_topic_never_fails_a_step_and_is_counted(run):
    broken = {"api": "sns:Publish", "error": "InternalFailure", "times": 100000}
    report, _sim = run(scenario(policy=policy(strategy=CANARY), faults=[broken]))
    assert report.outcome == "succeeded", report.reason
    record = report.records[0]
    assert int(record["announcements_failed"]) >= 5 and int(record["announcements_unsent"]) >= 5
    assert "Rollout Succeeded" in [e.detail_type for e in report.events], "EventBridge still got every event"


def test_metric_read_errors_are_inconclusive_within_the_budget(run):
    throttled = {"api": "cloudwatch:GetMetricData", "error": "ThrottlingException", "times": 10, "after_calls": 2}
    report, _sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis={"max_error_rate_increase": 0.05, "min_invocations": 50}),
            traffic={"requests_per_second": 20},
            faults=[throttled],
        )
    )
    assert report.outcome == "succeeded", report.reason
    unreadable = [
        e
        for e in report.timeline
        if e.state == "Evaluate Health" and "could not read the alarms, metrics or endpoint" in e.note
    ]
    assert len(unreadable) == 2 and "ThrottledError" in unreadable[0].note
    assert "error 2 of consecutive_error_limit=4" in unreadable[1].note


def test_metrics_unreadable_past_the_budget_roll_back_but_never_reject_the_package(run):
    down = {"api": "cloudwatch:GetMetricData", "error": "ServiceUnavailable", "times": 100000}
    report, sim = run(
        scenario(
            policy=policy(
                strategy=CANARY,
                analysis={"max_error_rate_increase": 0.05, "consecutive_error_limit": 2},
                on_rollback="reject_package",
            ),
            traffic={"requests_per_second": 20},
            faults=[down],
        )
    )
    assert report.outcome == "rolled_back", report.reason
    assert report.reason.startswith("MetricsUnavailableError") and "consecutive_error_limit=2" in report.reason
    package = sim.sagemaker.packages[report.records[0]["package_arn"]]
    assert package["ModelApprovalStatus"] == "Approved", "nothing was wrong with the model"


# --- 8. refuse before creating ----------------------------------------------------------------------------------


SHADOWED = {
    "name": "churn-prod",
    "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2}],
    "config_extras": {
        "ShadowProductionVariants": [
            {
                "VariantName": "shadow",
                "ModelName": "churn-prod-blue-model",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 0.5,
            }
        ]
    },
}


@pytest.mark.parametrize(
    ("endpoint", "fields", "error", "said"),
    [
        (SHADOWED, {"strategy": CANARY}, "UnsupportedEndpointError", "runs shadow variant shadow"),
        (None, {}, "PolicyError", "first deployment"),
    ],
    ids=["canary-beside-a-shadow", "first-deployment-without-capacity"],
)
def test_a_refused_input_creates_nothing(run, endpoint, fields, error, said):
    report, sim = run(scenario(endpoint=endpoint, policy=policy(**fields)))
    assert report.outcome == "rejected", report.reason
    assert report.reason.startswith(error) and said in report.reason
    assert not [m for m in sim.sagemaker.models if m.startswith("churn-prod-m-")], "no model was created"
    assert not [c for c in sim.sagemaker.configs if "-v1-" in c], "no config was created"
    assert "sagemaker:CreateModel" not in report.metrics.api_calls


# --- 9. leftovers are reported and retried ----------------------------------------------------------------------


def test_what_clean_up_could_not_delete_is_reported_and_the_next_rollout_removes_it(run):
    denied = {"api": "sagemaker:DeleteEndpointConfig", "error": "AccessDeniedException", "times": 1}
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY),
            faults=[denied],
            timeline=[{"at_seconds": 2400, "action": "approve", "group": "churn"}],
        )
    )
    first, second = by_ref(report)["churn/1"], by_ref(report)["churn/2"]
    assert (first.outcome, second.outcome) == ("succeeded", "succeeded")
    record = next(r for r in report.records if r["rollout_id"] == first.name)
    (leftover,) = record["leftovers"].split(", ")
    assert leftover.startswith("endpoint-config:churn-prod-s-v1-")
    told = next(
        e for e in report.events if e.detail_type == "Rollout Succeeded" and e.detail["rollout_id"] == first.name
    )
    assert told.detail["leftovers"] == [leftover]
    assert leftover.split(":", 1)[1] not in sim.sagemaker.configs, "the second rollout's Clean Up removed it"
    cleaned = next(e for e in second.timeline if e.state == "Clean Up")
    assert leftover.split(":", 1)[1] in cleaned.note
    assert items(sim, "LEFTOVER") == []


def test_alarms_made_before_prepare_target_failed_are_deleted(run):
    denied = {"api": "cloudwatch:PutMetricAlarm", "error": "AccessDenied", "times": 1, "after_calls": 1}
    report, sim = run(
        scenario(
            policy=policy(strategy=CANARY, analysis={"max_error_rate": 0.02, "max_latency_ms": 500}),
            faults=[denied],
        )
    )
    assert report.outcome == "failed", report.reason
    assert "cloudwatch:PutMetricAlarm failed: AccessDenied" in report.reason
    assert rollout_alarms(sim) == [], "the first alarm was deleted"
    assert not [m for m in sim.sagemaker.models if m.startswith("churn-prod-m-")]
    assert report.endpoint.config_name == "churn-prod-config-v0"
