"""The dashboard widget's function under local mode: the sample event CloudWatch sends, its role's reads only."""

from tests.helpers import sample_event


def test_the_sample_widget_event_renders_the_endpoints_records(world):
    """`sam local invoke DashboardWidgetFunction -e events/dashboard-widget.json`: the custom widget's event."""
    html = world.invoke("DashboardWidgetFunction", sample_event("dashboard-widget.json"))
    assert html.startswith('<div class="rc">') and "No rollout is running." in html
    assert "No recorded rollout of these endpoints." in html
    assert world.aws.iam is not None and world.aws.iam.denials == []
    described = world.invoke("DashboardWidgetFunction", {"describe": True, "widgetContext": {}})
    assert described.startswith("## Rollouts (sagemaker-rollout)")
    wrong = world.invoke("DashboardWidgetFunction", {"endpoints": ["not_an_endpoint"]})
    assert "widget params: endpoints: &#x27;not_an_endpoint&#x27; is not a SageMaker endpoint name" in wrong
