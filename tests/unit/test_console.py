"""The dashboard widget's rendering (pure): what it shows, that user data cannot inject HTML, that its buttons
never steer, and its params' one-line errors."""

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from rollout.console import (
    DESCRIBE,
    ConsoleView,
    ParamsError,
    Recent,
    Running,
    Verdict,
    WidgetParams,
    command,
    figure_text,
    parse_params,
    render,
    render_error,
)
from rollout.models.policy import Step
from rollout.models.progress import BakeState, GateState, PauseState, Phase, StepRecord
from rollout.models.progress import Verdict as StepVerdict
from rollout.steps.console import recent_of, running_of, state_of, verdict_of, widget
from rollout_local.stack import load_template

from tests.unit.factories import T0, state

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
EVIL = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


ALLOWED_TAGS = {"div", "style", "h3", "table", "tr", "th", "td", "span", "br", "a", "i", "b", "code", "pre", "p"}
ALLOWED_TAGS |= {"cwdb-action"}
ALLOWED_ATTRIBUTES = {"class", "data-endpoint", "data-rollout", "data-variant", "data-action", "href", "title"}
ALLOWED_ATTRIBUTES |= {"style", "action", "display"}


def markup(html):
    """Every element and attribute name in ``html``, as an HTML parser reads it."""
    tags, attributes = set(), set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.add(tag)
            attributes.update(name for name, _ in attrs)

    Collect().feed(html)
    return tags, attributes


def running(**fields):
    base = {
        "endpoint": "churn-prod",
        "rollout_id": "r-1",
        "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:s-rollout:r-1",
        "package": "churn v3",
        "strategy": "canary",
        "phase": "baking",
        "step": 1,
        "steps": 2,
        "step_percent": 10.0,
        "shadow": False,
        "new_variant": "v3-abc",
        "shares": {"blue": 90.0, "v3-abc": 10.0},
        "gate": None,
        "seconds_left": 372,
        "bake_seconds": 600,
        "paused_by": None,
        "latest": Verdict(1, 10.0, "pass", "within limits", {"invocations": 1184, "error_rate": 0.0017}),
        "rollback_reason": None,
        "message": "",
    }
    return Running(**{**base, **fields})


def view(run=(), recent=(), **params):
    return ConsoleView(NOW, list(run), list(recent), WidgetParams(**params))


def test_a_running_rollout_shows_step_shares_verdict_and_time_left():
    html = render(view([running()], stack="prod-stack"))
    assert "step 1/2" in html and "10% planned" in html
    assert "blue 90%" in html and "v3-abc 10% (new)" in html
    assert "step 1 (10%)" in html and "within limits" in html
    assert "invocations 1,184" in html and "5XX rate 0.17%" in html
    assert "6m12s left of 10m00s" in html
    assert "region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1" in html  # the execution's console page


def test_gates_pauses_and_rollbacks_are_told():
    gate = render(view([running(gate="before promotion", seconds_left=3600, bake_seconds=86400)]))
    assert "waiting at gate 'before promotion': times out in 1h00m" in gate
    assert "waiting for approval" in gate and 'data-action="approve"' in gate and 'data-action="pause"' not in gate
    paused = render(view([running(paused_by="alice: checking", seconds_left=480)]))
    assert "PAUSED by alice: checking, 8m00s of the bake kept" in paused
    assert 'data-action="resume"' in paused and 'data-action="pause"' not in paused
    back = render(view([running(phase="rolling_back", rollback_reason="HealthCheckFailedError: 5XX 4%")]))
    assert "ROLLING BACK: HealthCheckFailedError: 5XX 4%" in back
    assert 'class="btn"' not in back, "nothing to steer while it rolls back"


def test_recent_rollouts_show_outcome_and_reason():
    rec = Recent("churn-prod", "r-0", "2026-11-20 14:02 UTC", "churn v2", "canary", "rolled_back", "5XX 4.1%", None)
    html = render(view(recent=[rec], endpoints=["churn-prod"]))
    assert 'class="outcome rolled_back">rolled_back<' in html and "5XX 4.1%" in html
    assert "No rollout is running." in html
    assert "Name endpoints" in render(view())
    asked = Recent("churn-prod", "retry-1", "", "churn v2", "canary", "succeeded", "ok", None, "arn:aws:sts::1:x/alice")
    assert "asked by arn:aws:sts::1:x/alice" in render(view(recent=[asked], endpoints=["churn-prod"]))
    assert "asked by alice" in render(view([running(requested_by="alice")]))


def test_user_data_is_escaped_everywhere():
    """Reasons, names a person typed and variant names are data: none of it can become markup."""
    bad = running(
        endpoint=EVIL,
        rollout_id=EVIL,
        package=EVIL,
        strategy=EVIL,
        new_variant=EVIL,
        shares={EVIL: 100.0},
        gate=EVIL,
        paused_by=EVIL,
        latest=Verdict(1, 10.0, EVIL, EVIL, {"alarm": EVIL}),
        rollback_reason=EVIL,
        phase="rolling_back",
        execution_arn=EVIL,
        requested_by=EVIL,
    )
    rec = Recent(EVIL, EVIL, EVIL, EVIL, EVIL, EVIL, EVIL, Verdict(1, 1.0, EVIL, EVIL, {"alarm": EVIL}), EVIL)
    for html in (render(view([bad], [rec])), render(view([running(gate=EVIL, paused_by=None, endpoint=EVIL)]))):
        tags, attributes = markup(html)
        assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
        assert attributes <= ALLOWED_ATTRIBUTES, attributes - ALLOWED_ATTRIBUTES  # no attribute broken out of
        assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in html
    assert "<script" not in render_error(EVIL) and "&lt;script&gt;" in render_error(EVIL)


def test_buttons_never_call_a_function_they_show_the_command_to_run_with_your_own_credentials():
    html = render(
        view([running(gate="g")], stack="prod-stack", steering_url="https://abc.execute-api.eu-west-1.amazonaws.com/v1")
    )
    actions = re.findall(r"<cwdb-action([^>]*)>", html)
    assert actions and all(a.strip() == 'action="html" display="popup"' for a in actions), actions
    assert "endpoint=" not in "".join(actions), "no button invokes a Lambda function"
    assert "rollout approve churn-prod --stack prod-stack" in html
    assert "rollout abort churn-prod --reason &#x27;WHY&#x27; --stack prod-stack" in html
    assert "POST https://abc.execute-api.eu-west-1.amazonaws.com/v1/endpoints/churn-prod/approve" in html
    assert "<b>your own</b> AWS credentials" in html
    assert command(WidgetParams(), "promote", "churn-prod", reason=False) == "rollout promote churn-prod"


def test_params_errors_are_one_line():
    assert parse_params({"widgetContext": {"params": {}}}) == WidgetParams()
    cases = [
        ({"endpoint": "x"}, "widget params: endpoint: unknown parameter"),
        ({"endpoints": ["a_b"]}, "widget params: endpoints: 'a_b' is not a SageMaker endpoint name"),
        ({"recent": 99}, "widget params: recent: Input should be less than or equal to 20"),
        ({"steering_url": "javascript:alert(1)"}, "widget params: steering_url: not an https URL"),
        ({"stack": "a b"}, "widget params: stack: not a CloudFormation stack name"),
        ({"endpoints": "churn-prod"}, "widget params: endpoints: Input should be a valid list"),
    ]
    for given, message in cases:
        with pytest.raises(ParamsError) as raised:
            parse_params(given)
        assert str(raised.value).startswith(message) and "\n" not in str(raised.value), str(raised.value)


def test_describe_is_the_documentation_and_bad_params_render_an_error(monkeypatch):
    assert widget({"describe": True}, settings=None) == DESCRIBE  # type: ignore[arg-type]
    assert "### Widget parameters" in DESCRIBE and "**endpoints**" in DESCRIBE
    answer = widget({"nonsense": 1}, settings=None)  # type: ignore[arg-type]
    assert answer == render_error("widget params: nonsense: unknown parameter")


def test_figures_read_as_a_person_reads_them():
    assert figure_text("error_rate", 0.041) == "5XX rate 4.10%"
    assert figure_text("baseline_latency_ms", 40.25) == "baseline latency 40.2 ms"
    assert figure_text("invocations", 15120) == "invocations 15,120"
    assert figure_text("alarm", "churn-5xx") == "alarm churn-5xx"


def test_a_state_is_read_as_status_reads_it():
    opened = T0 + timedelta(minutes=20)
    record = StepRecord(
        step=2,
        weight_percent=100.0,
        at=opened,
        verdict=StepVerdict.PASS,
        reason="ok",
        invocations=900,
        error_rate=0.001,
    )
    at_gate = state(
        phase=Phase.BAKING,
        steps=(Step(weight_percent=10, bake_seconds=300), Step(weight_percent=100, bake_seconds=300)),
        step_index=1,
        gate=GateState(name="before promotion", opened_at=opened, deadline=opened + timedelta(hours=1), then="promote"),
        history=[record],
    )
    shown = running_of(at_gate, "arn:x", {"blue": 0.0}, opened + timedelta(minutes=10))
    assert (shown.step, shown.steps, shown.step_percent, shown.gate) == (2, 2, 100.0, "before promotion")
    assert (shown.seconds_left, shown.bake_seconds) == (3000, 3600)
    assert shown.latest == Verdict(2, 100.0, "pass", "ok", {"invocations": 900, "error_rate": 0.001})
    baking = state(
        phase=Phase.BAKING,
        steps=(Step(weight_percent=10, bake_seconds=600),),
        bake=BakeState(started_at=T0, ends_at=T0 + timedelta(seconds=600)),
        pause=PauseState(at=T0, by="alice", reason="look", bake_seconds_left=420),
    )
    paused = running_of(baking, "arn:x", {}, T0 + timedelta(seconds=100))
    assert (paused.paused_by, paused.seconds_left, paused.bake_seconds) == ("alice: look", 420, 600)
    # a history payload carries the state plainly, inside a Bake task's payload, or as a continued input
    document = at_gate.model_dump(mode="json")
    for text in (json.dumps(document), json.dumps({"state": document}), json.dumps({"continue": document})):
        found = state_of(text)
        assert found is not None and found.rollout_id == "r-1"
    assert state_of("not json") is None and state_of('{"x": 1}') is None


def test_a_record_is_listed_with_its_last_verdict():
    steps = [{"step": 1, "weight_percent": 10.0, "verdict": "fail", "reason": "5XX", "error_rate": 0.04}]
    record = {
        "endpoint_name": "churn-prod",
        "rollout_id": "r-0",
        "started_at": "2026-11-20T14:02:31.5+00:00",
        "package_group": "churn",
        "package_version": "2",
        "strategy": "canary",
        "outcome": "rolled_back",
        "reason": "HealthCheckFailedError: 5XX",
        "steps": json.dumps(steps),
    }
    rec = recent_of(record)
    assert (rec.started_at, rec.package, rec.outcome) == ("2026-11-20 14:02 UTC", "churn v2", "rolled_back")
    assert rec.latest == Verdict(1, 10.0, "fail", "5XX", {"error_rate": 0.04})
    assert recent_of({**record, "steps": "garbage"}).latest is None
    assert verdict_of(steps[0]).figures == {"error_rate": 0.04}
    assert rec.requested_by is None and recent_of({**record, "requested_by": "alice"}).requested_by == "alice"


def test_the_dashboard_holds_the_widget_and_its_role_only_reads():
    template = load_template()
    body = template["Resources"]["RolloutDashboard"]["Properties"]["DashboardBody"].value
    resolved = re.sub(r"\$\{[^}]+\}", "X", body)
    custom = [w for w in json.loads(resolved)["widgets"] if w["type"] == "custom"]
    assert len(custom) == 1
    (widget_entry,) = custom
    assert "${DashboardWidgetFunction.Arn}" in body and widget_entry["properties"]["endpoint"] == "X"
    params = dict(widget_entry["properties"]["params"])
    params["steering_url"] = "https://x.execute-api.eu-west-1.amazonaws.com/v1"  # what the Sub gives
    params["stack"] = "sagemaker-rollout-prod"
    assert parse_params(params).recent == 5
    statements = template["Resources"]["DashboardWidgetFunction"]["Properties"]["Policies"][0]["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "states:ListExecutions",
        "states:GetExecutionHistory",
        "dynamodb:Query",
        "sagemaker:DescribeEndpoint",
    }, "read-only: no steering, no task tokens, no table writes"
