"""The steering API in local mode: AWS authenticates the caller (SigV4), IAM decides who may steer, and the steering
function records the principal AWS authenticated."""

import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from rollout_cli import operate
from rollout_local.simulator import Simulation

from tests.helpers import sample_event, scenario

ALICE = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
PEOPLE = [
    {"name": "alice", "role": "RolloutOperator", "policies": ["steer", "start", "read"]},
    {"name": "dana", "role": "DataScientist", "policies": ["start", "read"]},  # may start rollouts, not steer them
    {
        "name": "carol",  # may approve gates of churn-prod, nothing else
        "role": "ChurnApprover",
        "statements": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "${SteeringApiArn}/POST/endpoints/churn-prod/approve",
            }
        ],
    },
]


@pytest.fixture(scope="module")
def sim():
    with Simulation(scenario(people=PEOPLE)) as simulation:
        yield simulation


def table(sim):
    return sim.session.client("dynamodb")


def waiting_at_gate(sim, rollout_id="r1"):
    """A rollout holding churn-prod and waiting at its gate (its task token long gone)."""
    for sk, extra in (("LOCK", {}), ("WAIT", {"task_token": "gone", "kind": "gate", "gate": "before promotion"})):
        item = {"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": sk}, "rollout_id": {"S": rollout_id}}
        item.update({k: {"S": v} for k, v in extra.items()})
        table(sim).put_item(TableName=sim.stack.table_name, Item=item)


def request(sim, person_name, endpoint="churn-prod", action="approve", **kwargs):
    person = sim.person(person_name)
    return operate.steer(
        sim.session_of(person), sim.stack_info(), endpoint, action, transport=sim.steering_transport(), **kwargs
    )


def test_an_approval_records_the_principal_aws_authenticated(sim):
    waiting_at_gate(sim)
    answered = request(sim, "alice", reason="dashboards fine", by="alice@example.com")
    assert answered.status == 200 and answered.done
    assert f"approved by {ALICE} (--by alice@example.com): dashboards fine" in answered.message
    item = table(sim).get_item(
        TableName=sim.stack.table_name,
        Key={"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": "REQUEST#r1#approve:before promotion"}},
    )["Item"]
    assert item["by"]["S"] == ALICE and item["comment_by"]["S"] == "alice@example.com"
    assert sim.stack.steering_api.log[-1]["principal"] == ALICE


def test_a_principal_without_the_permission_is_refused_before_the_function_runs(sim):
    invocations = len(sim.aws.invocations)
    refused = request(sim, "dana", action="abort", reason="I started it")
    assert refused.status == 403 and not refused.done
    principal = "arn:aws:sts::123456789012:assumed-role/DataScientist/dana"
    assert refused.message.startswith(f"User: {principal} is not authorized to perform: execute-api:Invoke on resource")
    assert refused.message.endswith("/v1/POST/endpoints/churn-prod/abort")
    assert len(sim.aws.invocations) == invocations, "API Gateway never invoked the steering function"


def test_a_permission_can_name_one_endpoint_and_one_action(sim):
    waiting_at_gate(sim, "r2")
    assert request(sim, "carol").status == 200
    assert request(sim, "carol", action="abort", reason="x").status == 403
    assert request(sim, "carol", endpoint="fraud-prod").status == 403


def test_an_unauthenticated_request_is_refused(sim):
    unsigned = request(sim, "alice", signed=False)
    assert (unsigned.status, unsigned.message) == (403, "Missing Authentication Token")


def test_a_forged_signature_or_an_unknown_key_is_refused(sim):
    api = sim.stack.steering_api
    url = f"{api.url}/endpoints/churn-prod/approve"
    alice = sim.person("alice")
    for key, secret, message in (
        (alice.access_key, "not-her-secret", "The request signature we calculated does not match"),
        ("AKIAUNKNOWNKEY000000", "x", "The security token included in the request is invalid."),
    ):
        forged = AWSRequest(method="POST", url=url, data="{}", headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(forged)
        status, body = api.send(forged.prepare())
        assert status == 403 and json.loads(body)["message"].startswith(message)


def test_unknown_actions_and_paths(sim):
    answered = request(sim, "alice", action="launch")  # the route takes any {action}: the function refuses it
    assert answered.status == 404 and answered.message.startswith("unknown action 'launch'")
    api = sim.stack.steering_api
    stray = AWSRequest(method="POST", url=f"{api.url}/rollouts", data="{}")
    person = sim.person("alice")
    SigV4Auth(Credentials(person.access_key, person.secret_key), "execute-api", "us-east-1").add_auth(stray)
    status, body = api.send(stray.prepare())  # API Gateway answers a path with no route as it answers no signature
    assert (status, json.loads(body)["message"]) == (403, "Missing Authentication Token")


def test_the_function_refuses_an_event_that_did_not_come_through_iam_auth(sim):
    event = {"pathParameters": {"endpoint": "churn-prod", "action": "abort"}, "body": '{"reason": "x"}'}
    answer = sim.invoke("SteerRolloutFunction", event)
    assert answer["statusCode"] == 403 and "not an IAM-authenticated request" in json.loads(answer["body"])["message"]


def test_bad_bodies_are_one_line_400s(sim):
    answered = request(sim, "alice", action="abort")
    assert (answered.status, answered.message) == (400, "abort needs a reason")
    assert request(sim, "alice", endpoint="not_a_name").status == 400


def test_starting_a_rollout_is_a_separate_permission(sim):
    from rollout.errors import AwsServiceError

    package = sim.create_package("churn")
    info = sim.stack_info()
    dana = sim.session_of(sim.person("dana"))
    started = operate.start(dana, info, package, None, None, "started-by-dana")
    assert started.endswith(":started-by-dana")
    refused = "ChurnApprover/carol is not authorized to perform: states:StartExecution"
    with pytest.raises(AwsServiceError, match=refused):
        operate.start(sim.session_of(sim.person("carol")), info, package, None, None, "started-by-carol")


def test_the_sample_event_is_the_proxy_event_the_function_gets(sim):
    """`sam local invoke SteerRolloutFunction -e events/steer-rollout.json`: API Gateway's event, as AWS shapes it."""
    for sk in ("LOCK", "WAIT"):
        table(sim).delete_item(
            TableName=sim.stack.table_name, Key={"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": sk}}
        )
    answer = sim.invoke("SteerRolloutFunction", sample_event("steer-rollout.json"))
    assert answer["statusCode"] == 409
    assert json.loads(answer["body"])["message"] == "no rollout of churn-prod is waiting at a gate"


def test_a_release_removes_the_hold_and_records_who_released_it(sim):
    ddb, name = table(sim), sim.stack.table_name
    assert request(sim, "alice", action="release", reason="checked").status == 409, "nothing held: nothing to release"
    record = {"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": "ROLLOUT#2026-01-05T09:00:00+00:00#r9"}}
    ddb.put_item(TableName=name, Item={**record, "outcome": {"S": "needs_attention"}})
    hold = {"pk": {"S": "ENDPOINT#churn-prod"}, "sk": {"S": "HOLD"}, "rollout_id": {"S": "r9"}}
    fields = {"package_arn": "p", "reason": "DriftError: ...", "since": "2026-01-05T09:30:00+00:00"}
    ddb.put_item(TableName=name, Item={**hold, **{k: {"S": v} for k, v in fields.items()}, "record_sk": record["sk"]})
    assert request(sim, "alice", action="release").status == 400, "a release needs a reason"
    assert request(sim, "carol", action="release", reason="x").status == 403, "releasing is a permission of its own"
    released = request(sim, "alice", action="release", reason="hotfix checked", by="alice@example.com")
    assert released.status == 200 and released.done and released.rollout_id == "r9"
    assert f"by {ALICE} (--by alice@example.com): hotfix checked" in released.message
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": hold["pk"], "sk": hold["sk"]})
    item = ddb.get_item(TableName=name, Key=record)["Item"]
    assert item["released_by"]["S"] == f"{ALICE} (--by alice@example.com)"
    assert item["release_reason"]["S"] == "hotfix checked" and item["outcome"]["S"] == "needs_attention"
    assert not [d for d in sim.aws.iam.denials if "SteerRollout" in d.principal], "the function holds what it calls"


def test_a_start_names_its_requester_only_when_the_steering_api_recorded_that_request(sim):
    """Whoever may start executions cannot say someone else asked: Resolve Rollout believes ``requested_by``
    only when the steering function's durable ``start`` request for this execution names the same person."""
    from rollout.aws import table as rollout_table
    from rollout_local.simulator import FunctionError

    package = sim.create_package("churn")
    alice = "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice"
    arn = "arn:aws:states:us-east-1:123456789012:execution:sagemaker-rollout-local-rollout:retry-claimed"
    payload = {
        "execution_arn": arn,
        "started_at": "2026-01-05T09:00:00Z",
        "input": {"model_package_arn": package, "endpoint_name": "churn-prod", "requested_by": alice},
    }
    with pytest.raises(FunctionError) as forged:
        sim.invoke("ResolveRolloutFunction", payload)
    assert forged.value.error_type == "MalformedEventError" and "requested_by is set only by the steering API" in (
        forged.value.message
    )
    with sim.aws.acting_as("SteerRolloutFunction"):  # what the steering function writes before it starts one
        rollout_table.put_request(sim.stack.table_name, "churn-prod", "retry-claimed", "start", alice, "")
    resolved = sim.invoke("ResolveRolloutFunction", payload)
    assert resolved["request"]["requested_by"] == alice
    someone_else = {**payload, "input": {**payload["input"], "requested_by": alice + "x"}}
    with pytest.raises(FunctionError, match="MalformedEventError"):
        sim.invoke("ResolveRolloutFunction", someone_else)
