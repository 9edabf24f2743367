"""Scenario faults through the real workflow: what botocore absorbs never reaches the service."""

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


def test_a_server_error_outlasting_botocores_attempts_reaches_the_service(run):
    fault = {"api": "sagemaker:UpdateEndpoint", "error": "ServiceUnavailable", "times": 5}
    report, sim = run(scenario(faults=[fault]))
    assert [f["error"] for f in task_failures(sim)] == ["AwsServiceError"]
    assert "sagemaker:UpdateEndpoint failed: ServiceUnavailable" in report.reason
    assert report.endpoint is not None and report.endpoint.config_name == "churn-prod-config-v0", "nothing changed"
    assert report.metrics.api_calls["sagemaker:UpdateEndpoint"] == 5


def test_an_access_denied_call_fails_the_step_that_made_it(run):
    fault = {"api": "sagemaker:CreateEndpointConfig", "error": "AccessDeniedException"}
    report, sim = run(scenario(faults=[fault]))
    assert [f["error"] for f in task_failures(sim)] == ["AwsServiceError"]
    assert "AccessDeniedException" in report.reason and "sagemaker:CreateEndpointConfig" in report.reason
    assert report.endpoint is not None and report.endpoint.config_name == "churn-prod-config-v0"
