"""The traffic steps a strategy walks, and the plan as a person reads it.

A room because the steps are the rollout's schedule: the state machine walks them, the CLI and the console show
them, and none of that needs the config requests or the refusals.
"""

from __future__ import annotations

from rollout.models.policy import AbTest, AllAtOnce, BlueGreen, Canary, Linear, Shadow, Size, Step, Steps, Strategy


def expand(strategy: Strategy) -> tuple[Step, ...]:
    """The strategy as its explicit steps: canary and linear are shorthands for ``steps``."""
    if isinstance(strategy, AllAtOnce):
        return (Step(weight_percent=100, bake_seconds=strategy.bake_seconds),)
    if isinstance(strategy, BlueGreen):  # SageMaker shifts and bakes; one check once it is done
        return (Step(weight_percent=100, bake_seconds=0),)
    if isinstance(strategy, AbTest):
        return (Step(weight_percent=strategy.new_percent, bake_seconds=strategy.duration_seconds),)
    if isinstance(strategy, Shadow):  # the weight shown is the sampled copy; callers never see the shadow
        return (Step(weight_percent=strategy.sampling_percent, bake_seconds=strategy.duration_seconds),)
    if isinstance(strategy, Canary):
        return (
            Step(weight_percent=strategy.canary_percent, bake_seconds=strategy.bake_seconds),
            Step(weight_percent=100, bake_seconds=strategy.final_bake_seconds),
        )
    if isinstance(strategy, Linear):
        weights: list[float] = []
        k = 1
        while round(k * strategy.step_percent, 6) < 100:
            weights.append(round(k * strategy.step_percent, 6))
            k += 1
        weights.append(100)
        return tuple(Step(weight_percent=w, bake_seconds=strategy.interval_seconds) for w in weights)
    return strategy.steps


def shifts_traffic(strategy: Strategy, endpoint_exists: bool) -> bool:
    """True when the new model joins the live endpoint as a variant and takes traffic in steps."""
    return endpoint_exists and isinstance(strategy, (Canary, Linear, Steps, AbTest))


def plan_steps(strategy: Strategy, endpoint_exists: bool) -> tuple[Step, ...]:
    """The steps this rollout walks. A first deployment has nothing to shift from: one step, the last bake."""
    steps = expand(strategy)
    if shifts_traffic(strategy, endpoint_exists) or (endpoint_exists and isinstance(strategy, Shadow)):
        return steps
    return (Step(weight_percent=100, bake_seconds=steps[-1].bake_seconds),)


def describe_plan(strategy: Strategy, steps: tuple[Step, ...]) -> str:
    """The plan as a person should read it. Blue/green is not "100% for 0 s": SageMaker's deployment guardrails
    shift all the traffic and bake each shift themselves (with their auto-rollback alarms), and this service
    judges the new model once when they are done. A shadow's share is a copy of the requests, not traffic."""
    if isinstance(strategy, BlueGreen):
        if strategy.rolling is not None:
            rolling = strategy.rolling
            shifted = (
                f"a rolling update by SageMaker's guardrails: the new fleet replaces the old in batches of "
                f"{rolling.max_batch_size.shown()}, each baked {rolling.wait_interval_seconds} s"
            )
        else:
            routing = strategy.routing
            if routing.type == "CANARY" and routing.canary_size is not None:
                moves = f"first {_capacity(routing.canary_size)}, then the rest"
            elif routing.type == "LINEAR" and routing.linear_step_size is not None:
                moves = f"in steps of {_capacity(routing.linear_step_size)}"
            else:
                moves = "all at once"
            shifted = (
                f"blue/green by SageMaker's guardrails: all the traffic shifted to the new fleet ({moves}), each "
                f"shift baked {routing.wait_interval_seconds} s"
            )
            if strategy.termination_wait_seconds:
                shifted += f", the old fleet kept {strategy.termination_wait_seconds} s more"
        return f"{shifted}, rolled back on its alarms; then one check of the new model"
    if isinstance(strategy, Shadow) and steps:
        return f"{steps[0].weight_percent:g}% of requests copied to the shadow for {steps[0].bake_seconds} s"
    return " -> ".join(f"{s.weight_percent:g}%/{s.bake_seconds}s" for s in steps)


def _capacity(size: Size) -> str:
    return f"{size.shown()} of the capacity" if size.type == "CAPACITY_PERCENT" else size.shown()
