"""People steering a rollout through the steering API, end to end: AWS authenticates them, IAM decides."""

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 300}
POLICY = {"endpoint_name": "churn-prod", "strategy": CANARY, "gates": {"confirm_before_promotion": True}}
ALICE = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
DANA = "arn:aws:sts::123456789012:assumed-role/DataScientist/dana"
PEOPLE = [
    {"name": "alice", "role": "RolloutOperator", "policies": ["steer", "start", "read"]},
    {"name": "dana", "role": "DataScientist", "policies": ["start", "read"]},
]


def test_an_approval_is_recorded_with_the_principal_and_refused_for_one_without_the_permission(run):
    report, sim = run(
        scenario(
            policy=POLICY,
            traffic={"requests_per_second": 20},
            people=PEOPLE,
            operator=[
                {"at_seconds": 1440, "action": "approve", "as": "dana", "by": "alice@example.com"},
                {"at_seconds": 1500, "action": "approve", "as": "alice", "reason": "dashboards fine"},
            ],
        )
    )
    assert report.outcome == "succeeded", report.reason
    refused, approved = report.operator
    assert refused["status"] == 403 and not refused["done"]
    assert refused["message"].startswith(f"User: {DANA} is not authorized to perform: execute-api:Invoke")
    assert approved["done"] and f"approved by {ALICE}: dashboards fine" in approved["message"]
    gate = next(e for e in report.events if e.detail_type == "Rollout Gate Approved")
    assert gate.detail["by"] == f"approved by {ALICE}: dashboards fine"
    promote = next(e for e in report.timeline if e.state == "Promote")
    assert promote.t > 1500, "dana's refused approval did not open the gate"
    requests = sim.session.client("dynamodb").query(
        TableName=sim.stack.table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues={":pk": {"S": "ENDPOINT#churn-prod"}, ":r": {"S": "REQUEST#"}},
    )["Items"]
    assert [i["by"]["S"] for i in requests] == [ALICE], "only the authenticated, permitted request is durable"


def test_an_unauthenticated_abort_is_refused_and_the_rollout_goes_on(run):
    report, sim = run(
        scenario(
            policy={"endpoint_name": "churn-prod", "strategy": {**CANARY, "bake_seconds": 900}},
            traffic={"requests_per_second": 20},
            operator=[{"at_seconds": 720, "action": "abort", "reason": "who am I?", "signed": False}],
        )
    )
    assert report.outcome == "succeeded", report.reason
    (refused,) = report.operator
    assert (refused["status"], refused["message"]) == (403, "Missing Authentication Token")
    assert sim.stack.steering_api.log[-1] == {
        "url": f"{sim.stack.steering_api.url}/endpoints/churn-prod/abort",
        "status": 403,
        "principal": None,
    }
