"""The `rollout` operator commands: exit codes, --json, and what they read from a deployed stack."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.session
import pytest
from moto import mock_aws
from rollout_cli.cli import main
from rollout_cli.operate import StackInfo
from rollout_local.emulator.patches import _shared_loader
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
    monkeypatch.setenv("ROLLOUT_STACK", "sagemaker-rollout")  # how a person points the command at a stack
    # every command makes its own boto3 session; they share one botocore loader, as local mode's sessions do, so
    # the service models are read from disk once per process, not at every command (speed only)
    monkeypatch.setattr(botocore.session, "create_loader", _shared_loader)
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


class ScriptedWatcher:
    """Stands in for status.Watcher: each look returns the next scripted list of statuses."""

    def __init__(self, looks):
        self.looks, self.seen = list(looks), {}

    def __call__(self, session, arn, endpoint):
        return self

    def poll(self, now=None):
        for r in self.looks.pop(0) if self.looks else []:
            self.seen[r.rollout_id] = r
        return list(self.seen.values())

    @property
    def done(self):
        return all(not r.running for r in self.seen.values())

    @property
    def all_succeeded(self):
        return bool(self.seen) and all(r.outcome == "succeeded" for r in self.seen.values())


def a_status(**changes):
    from rollout_cli.status import Check, RolloutStatus

    base = dict(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:rollout:x",
        rollout_id="x",
        endpoint="churn-prod",
        package="churn v3",
        strategy="canary",
        phase="baking",
        step=1,
        steps=2,
        step_percent=10.0,
        new_variant="green",
        shares={"blue": 90.0, "green": 10.0},
        shadow=False,
        bake_seconds=600,
        bake_seconds_left=420,
        gate=None,
        last_verdict="pass",
        checks=[Check(1, 10.0, "2026-01-01T00:03:00+00:00", "pass", "5XX rate 0.10% over 1200 invocations")],
        message="step 1/2 (10%): pass",
        rollback_reason=None,
        started_at="2026-01-01T00:00:00+00:00",
    )
    return RolloutStatus(**{**base, **changes})


@pytest.mark.parametrize(("outcome", "code"), [("succeeded", 0), ("rolled_back", 1), ("failed", 1)])
def test_status_watch_exit_status_is_a_ci_gate_that_ends_with_the_outcome(capsys, deployed, monkeypatch, outcome, code):
    looks = [[a_status()], [a_status(bake_seconds_left=120)], [a_status(outcome=outcome, reason="why")]]
    monkeypatch.setattr("rollout_cli.status.Watcher", ScriptedWatcher(looks))
    monkeypatch.setattr("rollout_cli.cli.time.sleep", lambda seconds: None)
    got, out, _ = run_cli(capsys, "status", "churn-prod", "--watch", "--exit-status", "--interval", "0")
    lines = out.strip().splitlines()
    assert got == code
    assert "step 1/2 baking, 7m00s left, new model 10%, latest verdict pass" in lines[0]
    assert "2m00s left" in lines[1], "one progress line per look in a log"
    assert f"{outcome.upper()} - why" in out.split(lines[1])[-1], "the last thing shown is the outcome"


def test_status_shows_percentages_and_the_time_left_in_the_bake(capsys, deployed, monkeypatch):
    monkeypatch.setattr("rollout_cli.status.Watcher", ScriptedWatcher([[a_status()]]))
    code, out, _ = run_cli(capsys, "status")
    assert code == 0
    assert "live traffic: blue 90%, green 10% (new)" in out and "bake: 7m00s left of 10m00s" in out
    assert "step 1 (10%) pass: 5XX rate 0.10% over 1200 invocations" in out


def test_status_exit_status_of_a_running_rollout_is_4(capsys, deployed, monkeypatch):
    monkeypatch.setattr("rollout_cli.status.Watcher", ScriptedWatcher([[a_status()]]))
    code, out, _ = run_cli(capsys, "status", "--exit-status", "--json")
    assert code == 4 and json.loads(out)[0]["progress_percent"] == 15.0


def test_status_of_a_rolling_back_rollout_tells_why_and_not_its_old_share(capsys, deployed, monkeypatch):
    rolling = a_status(
        phase="rolling_back",
        rollback_reason="AbortedError: aborted by alice: bad",
        message="cutting the new variant's traffic",
        shares={"blue": 100.0, "green": 0.0},
        bake_seconds_left=None,
    )
    monkeypatch.setattr("rollout_cli.status.Watcher", ScriptedWatcher([[rolling]]))
    code, out, _ = run_cli(capsys, "status", "churn-prod")
    assert code == 0 and "ROLLING BACK" in out and "reason: AbortedError: aborted by alice: bad" in out
    assert "green 0% (new)" in out and "planned" not in out


def test_status_with_nothing_running_shows_the_latest_outcome_and_gates_on_it(capsys, deployed):
    deployed.client("dynamodb").put_item(
        TableName="rollouts",
        Item={
            "pk": {"S": "ENDPOINT#churn-prod"},
            "sk": {"S": "ROLLOUT#2026-01-01T00:00:00#x"},
            "outcome": {"S": "rolled_back"},
            "reason": {"S": "HealthCheckFailedError: 5XX"},
            "steps": {"S": json.dumps([{"step": 1, "verdict": "fail"}])},
        },
    )
    code, out, _ = run_cli(capsys, "status", "churn-prod")
    assert code == 3 and "the latest ended rolled_back" in out
    assert run_cli(capsys, "status", "churn-prod", "--exit-status")[0] == 1
    history = json.loads(run_cli(capsys, "history", "churn-prod", "--json")[1])
    assert history[0]["steps"] == [{"step": 1, "verdict": "fail"}], "no JSON in a string"


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
        ("pause", "churn-prod", "--reason", "game day"),
        ("resume", "churn-prod"),
        ("retry", "churn-prod"),
        ("undo", "churn-prod", "--reason", "v4 looks off"),
    ],
)
def test_steering_commands_send_a_signed_request_and_exit_3_when_nothing_waits(capsys, deployed, monkeypatch, argv):
    api = SteeringApi(409, {"done": False, "rollout_id": None, "message": "no rollout of churn-prod is running"})
    monkeypatch.setattr("rollout_cli.operate._send", api)
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
    monkeypatch.setattr("rollout_cli.operate._send", SteeringApi(403, {"Message": message}))
    code, _, err = run_cli(capsys, "approve", "churn-prod")
    assert code == 1 and message in err and "HTTP 403" in err


def test_abort_requires_a_reason(capsys, deployed):
    with pytest.raises(SystemExit) as exited:
        main(["abort", "churn-prod"])
    assert exited.value.code == 2


def test_start_and_history_against_the_simulator():
    from rollout_cli import operate

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


# --- rollout simulate: every user error is one line and exit 2 (issue 15) -----------------------------------


@pytest.fixture
def scenario_file(tmp_path):
    def write(text, name="scenario.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


HAPPY = """
name: s
endpoint: {name: churn-prod, variants: [{name: blue, instance_type: ml.m5.xlarge, instance_count: 1, weight: 1}]}
approval: {group: churn, event: EVENT}
policy: {endpoint_name: churn-prod}
"""


def one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"not one line: {err!r}"
    assert "Traceback" not in err and "pydantic.dev" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("text", "argv", "expected"),
    [
        ("name: x\n  bad: [\n", (), "not valid YAML: mapping values are not allowed here at line 2"),
        (HAPPY.replace("EVENT", "events/nope.json"), (), "approval event file events/nope.json not found"),
        (HAPPY.replace("instance_count", "instance_cont"), (), "unknown key 'instance_cont' (did you mean"),
        (
            HAPPY.replace("EVENT", "events/model-package-approved.json"),
            ("--plot", "/nonexistent/x.png"),
            "no directory",
        ),
        (HAPPY.replace("EVENT", "events/model-package-approved.json"), ("--plot", "x.txt"), "must end in .png"),
    ],
)
def test_simulate_user_errors_are_one_line_and_exit_2_before_anything_runs(
    capsys, scenario_file, monkeypatch, text, argv, expected
):
    ran = []
    monkeypatch.setattr("rollout_local.simulator.Simulation.run", lambda self: ran.append(self))
    code, out, err = run_cli(capsys, "simulate", scenario_file(text), *argv)
    assert code == 2 and expected in one_line_error(err) and out == ""
    assert not ran, "a user's mistake is found before the run, not after it"


def test_simulate_of_a_missing_file_is_one_line_exit_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "simulate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "No such file or directory" in one_line_error(err)


def test_errors_are_json_under_json(capsys, tmp_path):
    code, out, err = run_cli(capsys, "simulate", str(tmp_path / "nope.yaml"), "--json")
    assert code == 2 and err == ""
    assert json.loads(out) == {
        "command": "simulate",
        "error": f"cannot read scenario {tmp_path}/nope.yaml: No such file or directory: {tmp_path}/nope.yaml",
    }


def test_an_aws_error_under_json_is_json(capsys, deployed):
    code, out, _ = run_cli(capsys, "history", "churn-prod", "--stack", "nope", "--json")
    assert code == 1 and "nope" in json.loads(out)["error"]


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("rollout 0.")


def test_every_option_has_help():
    from rollout_cli.cli import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")
            elif not isinstance(action, (argparse._HelpAction,)):
                yield path, action

    missing = [f"{path} {action.dest}" for path, action in walk(build_parser(), "rollout") if not action.help]
    assert missing == []


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"endpoint_name": "churn-prod"}))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte (`rollout ... | head -0`)
    with os.fdopen(write, "wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "rollout_cli.cli", "policy", "validate", str(policy), "--json"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.stderr == "" and done.returncode == 1


def test_a_bare_make_prints_help_and_changes_nothing():
    root = Path(__file__).parents[2]
    # as a person types it: not as a sub-make of `make test` (whose MAKEFLAGS/MAKELEVEL print directory lines)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    done = subprocess.run(["make", "-n"], cwd=root, capture_output=True, text=True, check=True, env=env)
    assert "rollout simulate" not in done.stdout and done.stdout.lstrip().startswith("echo")


# --- the deploy path: --env finds the stack samconfig.toml deploys; policy put writes what the stack reads ----


def test_env_finds_the_stack_of_a_samconfig_environment(capsys, deployed, tmp_path, monkeypatch):
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "other"\n'
        '[prod.global.parameters]\nstack_name = "sagemaker-rollout"\n[prod.deploy.parameters]\nregion = "us-east-1"\n'
    )
    monkeypatch.delenv("ROLLOUT_STACK", raising=False)
    code, _, _ = run_cli(capsys, "history", "churn-prod", "--env", "prod", "--config-file", str(config))
    assert code == 3, "the prod environment's stack was found (and has no record yet)"
    code, _, err = run_cli(capsys, "history", "churn-prod", "--config-file", str(config))
    assert code == 1 and "other" in err, "without --env: samconfig.toml's default environment"
    code, _, err = run_cli(capsys, "history", "churn-prod", "--env", "qa", "--config-file", str(config))
    assert code == 2 and "no environment 'qa'" in one_line_error(err) and "default, prod" in err


def test_the_repositorys_samconfig_names_a_stack_per_environment_and_no_placeholder_role():
    import tomllib

    config = tomllib.loads((Path(__file__).parents[2] / "samconfig.toml").read_text())
    names = {env: config[env]["global"]["parameters"]["stack_name"] for env in ("default", "staging", "prod")}
    assert names == {
        "default": "sagemaker-rollout-dev",
        "staging": "sagemaker-rollout-staging",
        "prod": "sagemaker-rollout-prod",
    }
    text = (Path(__file__).parents[2] / "samconfig.toml").read_text()
    assert "123456789012" not in text, "no placeholder account or role: sam deploy --guided asks for the role"


def test_policy_put_validates_then_writes_the_parameter_the_stack_reads(capsys, deployed, policy_file):
    good = policy_file(
        {"endpoint_name": "churn-prod", "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600}}
    )
    code, out, _ = run_cli(capsys, "policy", "put", "churn", good, "--json")
    assert code == 0 and json.loads(out)["parameter"] == "/rollout/policies/churn"
    stored = deployed.client("ssm").get_parameter(Name="/rollout/policies/churn")["Parameter"]["Value"]
    assert json.loads(stored)["strategy"]["canary_percent"] == 10
    bad = policy_file({"endpoint_name": "churn-prod", "strategy": {"type": "canary", "canary_percent": 150}})
    code, out, _ = run_cli(capsys, "policy", "put", "churn", bad)
    assert code == 1 and out.startswith("invalid, not written:") and "canary_percent" in out
    again = deployed.client("ssm").get_parameter(Name="/rollout/policies/churn")["Parameter"]["Value"]
    assert again == stored, "an invalid policy writes nothing"


def test_env_vars_gives_sam_local_invoke_the_deployed_stacks_names(capsys, deployed):
    code, out, _ = run_cli(capsys, "env-vars")
    names = json.loads(out)["Parameters"]
    assert code == 0 and names["ROLLOUT_TABLE_NAME"] == "rollouts"
    assert names["STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:123456789012:stateMachine:rollout"
    assert (
        names["POLICY_PARAMETER_PREFIX"] == "/rollout/policies" and names["DEFAULT_POLICY"] == '{"on_busy": "reject"}'
    )
    template = (Path(__file__).parents[2] / "template.yaml").read_text()
    for name in names:  # every one is a name the template sets
        assert f"        {name}: " in template, name


@pytest.mark.parametrize(
    ("strategy", "plan"),
    [
        (
            {"type": "shadow", "sampling_percent": 50, "duration_seconds": 3600},
            [
                "copy 50% of requests to the new model as a shadow for 3600 s "
                "(callers are answered by the live model), then promote if it passes"
            ],
        ),
        (
            {
                "type": "blue_green",
                "auto_rollback_alarms": ["errors"],
                "traffic_routing": {
                    "type": "CANARY",
                    "canary_size": {"type": "CAPACITY_PERCENT", "value": 10},
                    "wait_interval_seconds": 300,
                },
                "termination_wait_seconds": 600,
            },
            [
                "SageMaker blue/green: traffic to 10% of the new fleet's capacity first, 300 s bake, then all of it",
                "SageMaker rolls back by itself if errors goes to ALARM",
                "the old fleet is kept 600 s after the shift, then terminated",
                "then one health check by the rollout",
            ],
        ),
    ],
)
def test_plans_of_blue_green_and_shadow_say_what_happens(capsys, policy_file, strategy, plan):
    code, out, _ = run_cli(
        capsys, "policy", "validate", policy_file({"endpoint_name": "e", "strategy": strategy}), "--json"
    )
    assert code == 0 and json.loads(out)["plan"] == plan
