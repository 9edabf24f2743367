"""Scenario faults through the real workflow: what botocore absorbs never reaches the service."""

import json

from tests.helpers import scenario


def task_failures(sim):
    history = sim.sfn.get_execution_history(executionArn=sim.executions[0], maxResults=1000)["events"]
    return [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]


def test_server_errors_within_botocores_attempts_are_invisible_to_the_service(run):
    fault = {"api": "sagemaker:UpdateEndpoint", "error": "InternalFailure", "times": 4}
    report, sim = run(scenario(faults=[fault]))
    assert report.outcome == "succeeded", report.reason
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 5, "four 500s, then the update"
    assert task_failures(sim) == []


def test_a_server_error_outlasting_botocores_attempts_is_transient_and_retried_by_the_workflow(run):
    fault = {"api": "sagemaker:UpdateEndpoint", "error": "ServiceUnavailable", "times": 5}
    report, sim = run(scenario(faults=[fault]))
    assert [f["error"] for f in task_failures(sim)] == ["AwsUnavailableError"], "a 5xx is transient, not a verdict"
    assert "sagemaker:UpdateEndpoint failed: ServiceUnavailable" in task_failures(sim)[0]["cause"]
    assert report.outcome == "succeeded", report.reason
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 6, "five 503s, then Start Update's retry"


def test_an_access_denied_call_fails_the_step_that_made_it(run):
    fault = {"api": "sagemaker:CreateEndpointConfig", "error": "AccessDeniedException"}
    report, sim = run(scenario(faults=[fault]))
    assert [f["error"] for f in task_failures(sim)] == ["AwsServiceError"]
    assert "AccessDeniedException" in report.reason and "sagemaker:CreateEndpointConfig" in report.reason
    assert report.endpoint is not None and report.endpoint.config_name == "churn-prod-config-v0"


def test_faults_never_reach_the_world_or_the_people_only_the_workflow(run):
    faults = [
        {"api": "cloudwatch:PutMetricData", "error": "InternalFailure", "times": 100000},  # the world's metrics
        # the steering function's wake-up of the waiting gate: the approval is durable, the next check acts on it
        {"api": "sfn:SendTaskSuccess", "error": "AccessDenied", "times": 100},
    ]
    policy = {
        "endpoint_name": "churn-prod",
        "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 300},
        "gates": {"confirm_before_promotion": True},
        "analysis": {"max_error_rate": 0.05, "min_invocations": 100},
    }
    report, _sim = run(
        scenario(
            policy=policy,
            traffic={"requests_per_second": 20},
            # the workflow's own SendTaskSuccess fails too, so every endpoint wait takes its 300 s fallback: the gate
            # opens at about +25:00
            operator=[{"at_seconds": 2400, "action": "approve"}],
            faults=faults,
        )
    )
    assert report.outcome == "succeeded", report.reason
    assert report.operator[0]["done"], "the person's approval went through"
    assert "acts on it at its next check" in report.operator[0]["message"], "and the person is told when"
    assert all(r["verdict"] == "pass" for r in json.loads(report.records[0]["steps"])), "metrics were written"
    assert "cloudwatch:PutMetricData" not in report.metrics.api_calls
