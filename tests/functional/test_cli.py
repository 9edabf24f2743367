"""The `rollout` operator commands: exit codes, --json, and what they read from a deployed stack."""

import json

import boto3
import pytest
from moto import mock_aws
from rollout_local.cli import main
from rollout_local.operate import StackInfo, status
from rollout_local.simulator import Simulation

from tests.helpers import scenario

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def policy_file(tmp_path):
    def write(document):
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(document))
        return str(path)

    return write


def test_policy_validate_shows_the_plan(capsys, policy_file):
    path = policy_file(
        {"endpoint_name": "churn-prod", "strategy": {"type": "linear", "step_percent": 25, "interval_seconds": 300}}
    )
    code, out, _ = run_cli(capsys, "policy", "validate", path, "--json")
    assert code == 0
    assert json.loads(out)["plan"] == ["25% for 300 s", "50% for 300 s", "75% for 300 s", "100% for 300 s"]


def test_policy_validate_names_the_bad_field_and_exits_1(capsys, policy_file):
    path = policy_file(
        {"endpoint_name": "churn-prod", "strategy": {"type": "canary", "canary_percent": 150, "bake_seconds": 60}}
    )
    code, out, _ = run_cli(capsys, "policy", "validate", path)
    assert code == 1 and f"'strategy.canary_percent' (from file {path})" in out


def test_policy_validate_of_a_missing_file_is_a_usage_error(capsys, tmp_path):
    assert run_cli(capsys, "policy", "validate", str(tmp_path / "nope.json"))[0] == 2


STACK_TEMPLATE = {
    "Parameters": {
        "DefaultPolicy": {"Type": "String", "Default": "{}"},
        "PolicyParameterPrefix": {"Type": "String", "Default": "/rollout/policies"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "StateMachineArn": {"Value": "arn:aws:states:us-east-1:123456789012:stateMachine:rollout"},
        "RolloutTableName": {"Value": "rollouts"},
        "SteeringApiUrl": {"Value": "https://abcde12345.execute-api.us-east-1.amazonaws.com/v1"},
    },
}


@pytest.fixture
def deployed(monkeypatch):
    """A deployed stack as the CLI sees it: CloudFormation outputs and parameters, a table, a state machine."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        role = session.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        session.client("stepfunctions").create_state_machine(
            name="rollout", roleArn=role, definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}})
        )
        session.client("dynamodb").create_table(
            TableName="rollouts",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        session.client("cloudformation").create_stack(
            StackName="sagemaker-rollout",
            TemplateBody=json.dumps(STACK_TEMPLATE),
            Parameters=[{"ParameterKey": "DefaultPolicy", "ParameterValue": '{"on_busy": "reject"}'}],
        )
        yield session


def test_policy_show_tells_where_each_field_comes_from(capsys, deployed):
    deployed.client("ssm").put_parameter(
        Name="/rollout/policies/churn", Type="String", Value=json.dumps({"endpoint_name": "churn-prod"})
    )
    code, out, _ = run_cli(capsys, "policy", "show", "churn", "--json")
    assert code == 0
    sources = json.loads(out)["sources"]
    assert sources == {
        "endpoint_name": "SSM parameter /rollout/policies/churn",
        "on_busy": "stack defaults (DefaultPolicy parameter)",
    }


def test_start_sends_the_documented_manual_input(capsys, deployed, policy_file):
    path = policy_file({"on_busy": "queue"})
    code, out, _ = run_cli(
        capsys, "start", "--package", PACKAGE, "--endpoint", "churn-prod", "--policy", path, "--json"
    )
    assert code == 0
    arn = json.loads(out)["execution_arn"]
    sent = json.loads(deployed.client("stepfunctions").describe_execution(executionArn=arn)["input"])
    assert sent == {"model_package_arn": PACKAGE, "endpoint_name": "churn-prod", "policy": {"on_busy": "queue"}}


def test_history_lists_records_newest_first_and_exits_3_when_there_are_none(capsys, deployed):
    ddb = deployed.client("dynamodb")
    for started, outcome in [("2026-01-01T00:00:00", "succeeded"), ("2026-01-02T00:00:00", "rolled_back")]:
        ddb.put_item(
            TableName="rollouts",
            Item={
                "pk": {"S": "ENDPOINT#churn-prod"},
                "sk": {"S": f"ROLLOUT#{started}#x"},
                "started_at": {"S": started},
                "outcome": {"S": outcome},
            },
        )
    code, out, _ = run_cli(capsys, "history", "churn-prod", "--json")
    assert code == 0 and [r["outcome"] for r in json.loads(out)] == ["rolled_back", "succeeded"]
    assert run_cli(capsys, "history", "other-endpoint")[0] == 3


def test_status_with_nothing_running_exits_3(capsys, deployed):
    code, out, _ = run_cli(capsys, "status")
    assert code == 3 and "no rollout running" in out


def test_an_unknown_stack_exits_1_with_the_reason(capsys, deployed):
    code, _, err = run_cli(capsys, "history", "churn-prod", "--stack", "nope")
    assert code == 1 and "nope" in err


def test_status_mid_canary_shows_the_step_the_live_weights_and_the_time_left():
    seen = []
    canary = {"type": "canary", "canary_percent": 10, "bake_seconds": 600}
    with Simulation(scenario(policy={"endpoint_name": "churn-prod", "strategy": canary})) as sim:
        info = StackInfo(sim.stack.state_machine_arn, sim.stack.table_name, "/rollout/policies", "{}")
        sim.world.probes.append((780, lambda: seen.extend(status(sim.session, info, "churn-prod", sim.clock.now()))))
        report = sim.run()
    assert report.outcome == "succeeded"
    (now,) = seen
    assert (now.phase, now.step, now.steps, now.weight_percent, now.strategy) == ("baking", 1, 2, 10.0, "canary")
    assert now.weights["blue"] == 90.0 and sorted(now.weights.values()) == [10.0, 90.0]
    assert 0 < now.seconds_to_next_check <= 600


class SteeringApi:
    """Stands in for the steering API's HTTPS endpoint: records each request, answers with a fixed response."""

    def __init__(self, status, body):
        self.status, self.body, self.requests = status, body, []

    def __call__(self, prepared):
        self.requests.append(prepared)
        return self.status, json.dumps(self.body).encode()


@pytest.mark.parametrize(
    "argv",
    [
        ("approve", "churn-prod"),
        ("approve", "churn-prod", "--reject", "--reason", "no"),
        ("abort", "churn-prod", "--reason", "why"),
        ("promote", "churn-prod"),
    ],
)
def test_steering_commands_send_a_signed_request_and_exit_3_when_nothing_waits(capsys, deployed, monkeypatch, argv):
    api = SteeringApi(409, {"done": False, "rollout_id": None, "message": "no rollout of churn-prod is running"})
    monkeypatch.setattr("rollout_local.operate._send", api)
    code, out, _ = run_cli(capsys, *argv, "--by", "alice", "--json")
    assert code == 3 and json.loads(out)["done"] is False
    (request,) = api.requests
    action = "reject" if "--reject" in argv else argv[0]
    assert request.method == "POST"
    assert request.url == f"https://abcde12345.execute-api.us-east-1.amazonaws.com/v1/endpoints/churn-prod/{action}"
    authorization = request.headers["Authorization"]
    authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=") and "/us-east-1/execute-api/aws4_request" in (
        authorization
    )
    assert json.loads(request.body)["by"] == "alice", "--by travels as a comment"


def test_a_steering_request_aws_refuses_exits_1_with_its_message(capsys, deployed, monkeypatch):
    message = "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: execute-api:Invoke on resource: x"
    monkeypatch.setattr("rollout_local.operate._send", SteeringApi(403, {"Message": message}))
    code, _, err = run_cli(capsys, "approve", "churn-prod")
    assert code == 1 and message in err and "HTTP 403" in err


def test_abort_requires_a_reason(capsys, deployed):
    with pytest.raises(SystemExit) as exited:
        main(["abort", "churn-prod"])
    assert exited.value.code == 2


def test_start_and_history_against_the_simulator():
    from rollout_local import operate

    with Simulation(
        scenario(policy=None, approval={"group": "churn", "manual": {"endpoint_name": "churn-prod"}})
    ) as sim:
        sim.put_policy("churn", {"endpoint_name": "churn-prod", "allow_package_overrides": ["poll_interval_seconds"]})
        package = sim.create_package("churn")
        info = StackInfo(sim.stack.state_machine_arn, sim.stack.table_name, "/rollout/policies", "{}")
        with sim.holding_time():
            arn = operate.start(sim.session, info, package, "churn-prod", {"poll_interval_seconds": 60})
            sim.executions.append(arn)
            sim.start_world()
        sim.wait()
        (record,) = operate.history(sim.session, info, "churn-prod")
        assert record["outcome"] == "succeeded" and record["source"] == "manual" and record["package_arn"] == package
        assert operate.status(sim.session, info, "churn-prod") == [], "nothing runs any more"
        shown = operate.show_policy(sim.session, info, "churn")
        assert shown.sources == {
            "endpoint_name": "SSM parameter /rollout/policies/churn",
            "allow_package_overrides": "SSM parameter /rollout/policies/churn",
        }
