import itertools

from hypothesis import given
from hypothesis import strategies as st
from rollout.models.endpoint import EndpointSnapshot, VariantSnapshot
from rollout.models.policy import AllAtOnce, Canary, Linear, Step, Steps
from rollout.plan.configs import step_weights
from rollout.plan.steps import expand, plan_steps

percents = st.floats(min_value=0.5, max_value=99.5, allow_nan=False).map(lambda x: round(x, 2))
bakes = st.integers(min_value=0, max_value=7200)


def assert_well_formed(steps):
    weights = [s.weight_percent for s in steps]
    assert weights == sorted(weights) and len(set(weights)) == len(weights), "weights rise strictly"
    assert weights[-1] == 100
    assert all(0 < w <= 100 for w in weights)


@given(percent=percents, bake=bakes, final=bakes)
def test_canary_expands_to_its_percent_then_everything(percent, bake, final):
    steps = expand(Canary(canary_percent=percent, bake_seconds=bake, final_bake_seconds=final))
    assert_well_formed(steps)
    assert [(s.weight_percent, s.bake_seconds) for s in steps] == [(percent, bake), (100, final)]


@given(percent=percents, interval=bakes)
def test_linear_expands_to_equal_steps_each_baked_for_the_interval(percent, interval):
    steps = expand(Linear(step_percent=percent, interval_seconds=interval))
    assert_well_formed(steps)
    assert all(s.bake_seconds == interval for s in steps)
    rising = [s.weight_percent for s in steps[:-1]]
    assert all(abs(b - a - percent) < 1e-6 for a, b in itertools.pairwise(rising))
    assert rising and 100 - rising[-1] <= percent + 1e-6


@given(st.lists(st.tuples(percents, bakes), min_size=1, max_size=8, unique_by=lambda t: t[0]), bakes)
def test_explicit_steps_are_kept_as_given(pairs, last_bake):
    pairs = sorted(pairs)
    steps = (
        *(Step(weight_percent=w, bake_seconds=b) for w, b in pairs),
        Step(weight_percent=100, bake_seconds=last_bake),
    )
    assert expand(Steps(steps=steps)) == steps


def test_a_first_deployment_is_one_step_with_the_last_bake():
    assert plan_steps(Canary(canary_percent=10, bake_seconds=600, final_bake_seconds=300), False) == (
        Step(weight_percent=100, bake_seconds=300),
    )
    assert plan_steps(AllAtOnce(bake_seconds=120), True) == (Step(weight_percent=100, bake_seconds=120),)


@given(
    weights=st.lists(st.floats(min_value=0.1, max_value=10, allow_nan=False), min_size=1, max_size=4),
    percent=st.floats(min_value=0.5, max_value=100, allow_nan=False),
)
def test_step_weights_give_the_new_variant_its_share_and_keep_baseline_proportions(weights, percent):
    baseline = EndpointSnapshot(
        name="e",
        exists=True,
        status="InService",
        config_name="c",
        variants=tuple(VariantSnapshot(name=f"v{i}", model_name="m", weight=w) for i, w in enumerate(weights)),
    )
    desired = {d["VariantName"]: d["DesiredWeight"] for d in step_weights(baseline, "new", percent)}
    total = sum(desired.values())
    assert abs(desired["new"] / total - percent / 100) < 1e-4
    if percent < 99.99:  # beyond that the baseline's share rounds (to 6 places) to nothing
        for i, w in enumerate(weights):
            assert abs(desired[f"v{i}"] / (total - desired["new"]) - w / sum(weights)) < 1e-4


def test_the_plan_note_says_what_blue_green_and_shadow_really_do():
    """Blue/green is not "100% for 0 s": SageMaker's guardrails shift and bake; a shadow's share is a copy."""
    from rollout.models.policy import BlueGreen, RollingUpdate, Shadow, Size, TrafficRouting
    from rollout.plan.steps import describe_plan

    plain = BlueGreen(termination_wait_seconds=120)
    note = describe_plan(plain, plan_steps(plain, True))
    assert note.startswith(
        "blue/green by SageMaker's guardrails: all the traffic shifted to the new fleet (all at once)"
    )
    assert "each shift baked 300 s" in note and "old fleet kept 120 s more" in note and "0s" not in note
    linear = BlueGreen(
        traffic_routing=TrafficRouting(
            type="LINEAR", linear_step_size=Size(type="CAPACITY_PERCENT", value=25), wait_interval_seconds=60
        )
    )
    assert "(in steps of 25% of the capacity), each shift baked 60 s" in describe_plan(linear, plan_steps(linear, True))
    rolling = BlueGreen(rolling=RollingUpdate(max_batch_size=Size(type="INSTANCE_COUNT", value=1)))
    assert "in batches of 1 instance(s), each baked 300 s" in describe_plan(rolling, plan_steps(rolling, True))
    shadow = Shadow(sampling_percent=50, duration_seconds=600)
    assert describe_plan(shadow, plan_steps(shadow, True)) == "50% of requests copied to the shadow for 600 s"
    canary = Canary(canary_percent=10, bake_seconds=600)
    assert describe_plan(canary, plan_steps(canary, True)) == "10%/600s -> 100%/0s"
    assert describe_plan(AllAtOnce(), plan_steps(AllAtOnce(), True)) == "100%/0s"
