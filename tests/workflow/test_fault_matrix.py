"""The fault matrix (cells in ``tests/fault_matrix.py``, printed in the README): each fault, strategy and phase
keeps the promise - the endpoint ends on the new model as intended, or exactly as before (config, weights, live
instance counts, autoscaling); or a person is told precisely what state it is in and the endpoint waits for them.
In every case the lock is released, the record says why, and nothing is left behind that the record does not name."""

import pytest

from tests.fault_matrix import BLUE_GREEN, CELLS, KINDS, PHASES, STRATEGIES, Cell
from tests.helpers import scenario

STRATEGY = {
    "all_at_once": {"type": "all_at_once", "bake_seconds": 120},
    "canary": {"type": "canary", "canary_percent": 20, "bake_seconds": 120},
    "linear": {"type": "linear", "step_percent": 50, "interval_seconds": 120},
    "steps": {
        "type": "steps",
        "steps": [{"weight_percent": 30, "bake_seconds": 120}, {"weight_percent": 100, "bake_seconds": 0}],
    },
    "blue_green": BLUE_GREEN,
    "ab_test": {"type": "ab_test", "duration_seconds": 300, "min_invocations": 50, "decision": "promote_winner"},
    "shadow": {"type": "shadow", "sampling_percent": 50, "duration_seconds": 300, "min_invocations": 20},
}
ENDPOINT = {
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
BEFORE = [("blue", "churn-prod-blue-model", 1.0, 2)]
GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}


def cell_scenario(cell: Cell):
    strategy = {**STRATEGY[cell.strategy]}
    policy = {
        "endpoint_name": "churn-prod",
        "post_promotion_bake_seconds": 60,
        "analysis": {"max_error_rate": 0.02, "min_invocations": 20, "alarms": ["blue-5xx"]},
        "strategy": strategy,
    }
    for key, value in cell.policy.items():  # strategy fields go to the strategy, the rest to the policy
        (strategy if key in ("max_execution_timeout_seconds",) else policy)[key] = value
    return scenario(
        endpoint=ENDPOINT,
        policy=policy,
        traffic={"requests_per_second": 20},
        timings={"update_endpoint_seconds": 120, "update_weights_seconds": 30},
        model_behaviour={"baseline": GOOD, "new": GOOD, **cell.behaviour},
        alarms=[{"name": "blue-5xx", "metric": "Invocation5XXErrors", "variant": "blue", "threshold": 1000}],
        faults=[cell.fault],
    )


def test_the_cells_cover_every_fault_kind_strategy_and_phase():
    assert {c.kind for c in CELLS} == set(KINDS)
    assert {c.strategy for c in CELLS} == set(STRATEGIES)
    assert {c.phase for c in CELLS} == set(PHASES)
    assert len({c.id for c in CELLS}) == len(CELLS)


def scaling(sim):
    aas = sim.session.client("application-autoscaling")
    rid = "endpoint/churn-prod/variant/blue"
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in targets], [p["PolicyName"] for p in policies]


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_the_promise_holds(run, cell):
    report, sim = run(cell_scenario(cell))
    assert report.outcome == cell.outcome, report.reason
    (record,) = report.records
    assert record["outcome"] == cell.outcome
    notes = " ".join(e.note for e in report.timeline)
    assert cell.says in record["reason"] or cell.says in notes, record["reason"]
    endpoint = report.endpoint
    variants = [(v.name, v.model, v.weight, v.instances) for v in endpoint.variants]
    if cell.outcome == "succeeded":
        assert endpoint.status == "InService"
        assert [v.name for v in endpoint.variants] == ["blue"], "the promoted variant keeps its name"
        assert all((v.model_package or "").endswith("model-package/churn/1") for v in endpoint.variants)
        assert [v.instances for v in endpoint.variants] == [2]
    elif cell.outcome == "needs_attention":
        assert endpoint.exists, "an endpoint that may serve is never deleted"
        holds = [i for i in items(sim) if i["sk"]["S"] == "HOLD"]
        assert [h["rollout_id"]["S"] for h in holds] == [record["rollout_id"]], "held for a person"
    else:  # exactly as before
        assert (endpoint.status, endpoint.config_name, variants) == ("InService", "churn-prod-config-v0", BEFORE)
    if cell.outcome != "needs_attention":
        assert scaling(sim) == ([(2, 6)], ["blue-invocations"]), "autoscaling as before (or kept by the promotion)"
    assert not [i for i in items(sim) if i["sk"]["S"] == "LOCK"], "the lock was released"
    named = set((record.get("leftovers") or "").split(", ")) - {""}
    assert {entry.split(":", 1)[0] for entry in named} >= set(cell.leftovers)
    assert left_behind(sim, endpoint) <= named, "anything still there is named in the record"


def items(sim):
    return sim.session.client("dynamodb").scan(TableName=sim.stack.table_name)["Items"]


def left_behind(sim, endpoint):
    """What the rollout made that still exists and the endpoint does not use."""
    live = sim.sagemaker.configs.get(endpoint.config_name or "", {})
    used_models = {
        v["ModelName"] for v in [*live.get("ProductionVariants", []), *live.get("ShadowProductionVariants", [])]
    }
    found = {f"endpoint-config:{c}" for c in sim.sagemaker.configs if "-v1-" in c and c != endpoint.config_name}
    found |= {f"model:{m}" for m in sim.sagemaker.models if m.startswith("churn-prod-m-") and m not in used_models}
    described = sim.session.client("cloudwatch").describe_alarms(AlarmNamePrefix="sagemaker-rollout-")
    found |= {f"alarm:{a['AlarmName']}" for a in described["MetricAlarms"]}
    return found
