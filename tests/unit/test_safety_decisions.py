"""The pure decisions behind the promise: what a promotion is called and what it does to autoscaling, what drift
is, what a rollback restores, what refuses a rollout before anything exists, and which outcome a person must see."""

from hypothesis import given
from hypothesis import strategies as st
from rollout.decide import drift, expectation, final_outcome
from rollout.models.endpoint import EndpointSnapshot, Expectation, VariantScaling, VariantSnapshot
from rollout.models.policy import Canary, Capacity, Policy
from rollout.models.progress import Outcome, Phase, Target, TaskError
from rollout.plan.configs import live_capacities, promote_config, promotion_scaling
from rollout.plan.refusals import endpoint_refusal, first_deployment_refusal

from .factories import snapshot, state

TWO = {
    "EndpointConfigName": "c0",
    "ProductionVariants": [
        {"VariantName": "a", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        {"VariantName": "b", "ModelName": "m", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1},
    ],
}


def two_variants(count_a: int, count_b: int, scaled: tuple[str, ...] = ()) -> EndpointSnapshot:
    return EndpointSnapshot(
        name="churn-prod",
        exists=True,
        status="InService",
        config_name="c0",
        variants=(
            VariantSnapshot(name="a", model_name="m", weight=1, instance_type="ml.m5.large", instance_count=count_a),
            VariantSnapshot(name="b", model_name="m", weight=1, instance_type="ml.m5.xlarge", instance_count=count_b),
        ),
        scaling=tuple(VariantScaling(variant=v, min_capacity=1, max_capacity=8) for v in scaled),
    )


def test_the_promoted_variant_is_named_after_the_largest_live_variant_and_sized_by_its_live_count():
    request = promote_config(Policy(endpoint_name="churn-prod"), two_variants(2, 5), TWO, "new-model", "p")
    (variant,) = request["ProductionVariants"]
    assert (variant["VariantName"], variant["ModelName"], variant["InitialInstanceCount"]) == ("b", "new-model", 5)
    assert variant["InstanceType"] == "ml.m5.xlarge" and variant["InitialVariantWeight"] == 1.0
    capacity = Policy(endpoint_name="churn-prod", capacity=Capacity(instance_count=3))
    assert (
        promote_config(capacity, two_variants(2, 5), TWO, "n", "p")["ProductionVariants"][0]["InitialInstanceCount"]
        == 3
    )


def test_a_promotion_keeps_a_registered_variant_whose_model_alone_changes():
    release, after = promotion_scaling(two_variants(2, 5, scaled=("b",)), "b", instance_type_changes=False)
    assert (release, after) == ([], None)


def test_a_promotion_deregisters_what_it_removes_or_resizes_and_registers_the_promoted_variant_afterwards():
    release, after = promotion_scaling(two_variants(2, 5, scaled=("a", "b")), "b", instance_type_changes=True)
    assert release == ["a", "b"] and after is not None and (after.variant, after.max_capacity) == ("b", 8)
    release, after = promotion_scaling(two_variants(2, 5, scaled=("a",)), "b", instance_type_changes=False)
    assert release == ["a"] and after is not None and after.variant == "b", "b inherits the autoscaled a's scaling"


def test_rollback_restores_live_weights_and_instance_counts():
    assert live_capacities(two_variants(3, 5)) == [
        {"VariantName": "a", "DesiredWeight": 1.0, "DesiredInstanceCount": 3},
        {"VariantName": "b", "DesiredWeight": 1.0, "DesiredInstanceCount": 5},
    ]


def test_refusals_before_anything_is_created():
    assert "first deployment" in (first_deployment_refusal(Policy(endpoint_name="churn-prod")) or "")
    sized = Policy(endpoint_name="churn-prod", capacity=Capacity(instance_type="ml.m5.large", instance_count=1))
    assert first_deployment_refusal(sized) is None
    shadowed = snapshot().model_copy(
        update={"shadow_variants": (VariantSnapshot(name="shadow", model_name="s", weight=0.5),)}
    )
    canary = Canary(canary_percent=10, bake_seconds=60)
    assert "runs shadow variant shadow" in (endpoint_refusal(canary, shadowed) or "")


def steady(**overrides):
    expected = Expectation(config_name="churn-prod-config-v0", weights={"blue": 1.0}, counts={"blue": 2})
    return state(**{"phase": Phase.BAKING, "expected": expected, **overrides})


def test_the_endpoint_as_the_rollout_left_it_is_no_drift():
    assert drift(steady(), snapshot()) is None
    assert expectation(steady(), snapshot()) == steady().expected


def test_someone_elses_config_weights_counts_or_update_are_drift():
    foreign = drift(steady(), snapshot(config="hotfix"))
    assert foreign and "runs config hotfix, which is neither" in foreign
    moved = snapshot().model_copy(
        update={"variants": (VariantSnapshot(name="blue", model_name="old-model", weight=0.5, instance_count=3),)}
    )
    said = drift(steady(), moved) or ""
    assert "variant blue has weight 0.5, not 1" in said and "runs 3 instance(s), not 2" in said
    assert "Updating although the rollout is not changing it" in (drift(steady(), snapshot("Updating")) or "")


def test_the_rollouts_own_change_in_flight_is_not_drift_but_a_foreign_pending_config_is():
    in_flight = steady(phase=Phase.UPDATING)
    assert drift(in_flight, snapshot("Updating", pending="new-config")) is None
    assert "is being updated to config x" in (drift(in_flight, snapshot("Updating", pending="x")) or "")


def test_autoscaled_counts_are_not_compared():
    scaled = snapshot().model_copy(
        update={"scaling": (VariantScaling(variant="blue", min_capacity=1, max_capacity=9),)}
    )
    s = state(baseline=scaled, phase=Phase.BAKING)
    assert expectation(s, snapshot()).counts == {}


@given(
    phase=st.sampled_from(list(Phase)),
    touched=st.booleans(),
    error=st.sampled_from([None, "HealthCheckFailedError", "DriftError", "RollbackFailedError", "KeyError"]),
)
def test_a_rollout_that_touched_the_endpoint_never_ends_failed(phase, touched, error):
    caught = TaskError(Error=error, Cause="x") if error else None
    outcome = final_outcome(state(phase=phase, touched=touched, error=caught))
    if touched:
        assert outcome is not Outcome.FAILED, "failed is only for a rollout that broke before changing the endpoint"
    if phase is Phase.STOPPED or error in ("DriftError", "RollbackFailedError"):
        assert outcome is Outcome.NEEDS_ATTENTION


def test_a_target_names_the_promoted_variant():
    target = Target(model_name="m", config_name="p", creates_endpoint=False, variant_name="v1-x", promoted_variant="b")
    assert target.promoted_variant == "b" and target.shifts_traffic is False
