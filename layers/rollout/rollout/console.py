"""The operators' console: a CloudWatch dashboard custom widget listing running and recent rollouts (pure).

CloudWatch calls the widget's Lambda function with the widget's ``params`` as the event's top-level keys and a
``widgetContext`` (dashboard, size, time range, ``params`` again); the function returns HTML, which the dashboard
shows without any JavaScript. ``<cwdb-action>`` after an element gives it a behaviour: ``action="html"`` shows the
tag's HTML (here in a pop-up), ``action="call"`` invokes a Lambda function with the tag's JSON.

Steering is never done here. The dashboard invokes this function with the viewer's credentials
(``lambda:InvokeFunction``), but the function then acts with its own role: a button that made it approve or abort
would let anyone who may view the dashboard (or a shared dashboard's link) steer production, under the function's
name instead of theirs. So every steering button opens a pop-up with the exact ``rollout`` command (and the signed
API request) the person runs with their own credentials, through the steering API (``AWS_IAM``), which records who
they are. This module only reads its input and writes text: everything a person or a table gave is escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from datetime import datetime
from html import escape
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout.frozen import frozen
from rollout.models.base import SAGEMAKER_NAME

DEFAULT_RECENT = 5  # recent rollouts shown per endpoint
MAX_ENDPOINTS = 20  # endpoints a widget may name: each costs one Query per refresh
MAX_RUNNING = 20  # running rollouts shown (the newest): each costs a history read and a DescribeEndpoint


class WidgetParams(BaseModel):
    """The widget's ``params`` (in the dashboard's widget definition): what it shows, and how to steer."""

    model_config = ConfigDict(extra="forbid")

    endpoints: list[str] = Field(
        default_factory=list,
        max_length=MAX_ENDPOINTS,
        description="endpoints whose recent rollouts are listed (running ones are always listed)",
    )
    recent: int = Field(default=DEFAULT_RECENT, ge=0, le=20, description="recent rollouts shown per endpoint")
    stack: str = Field(default="", max_length=128, description="the stack name the `rollout` commands name")
    steering_url: str = Field(default="", max_length=512, description="the stack's SteeringApiUrl output")


class ParamsError(ValueError):
    """Widget params a person got wrong: shown in the widget as one line."""


def parse_params(event: dict[str, Any]) -> WidgetParams:
    """The widget's params: CloudWatch passes them as the event's own keys (besides ``widgetContext``)."""
    given = {k: v for k, v in event.items() if k not in ("widgetContext", "describe")}
    try:
        params = WidgetParams.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "params"
        message = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        raise ParamsError(f"widget params: {where}: {message}") from None
    for name in params.endpoints:
        if not re.fullmatch(SAGEMAKER_NAME, name):
            raise ParamsError(f"widget params: endpoints: {name!r} is not a SageMaker endpoint name")
    if params.steering_url and not re.fullmatch(
        r"https://[A-Za-z0-9.\-]+(:[0-9]+)?(/[A-Za-z0-9._\-/]*)?", params.steering_url
    ):
        raise ParamsError("widget params: steering_url: not an https URL (the stack's SteeringApiUrl output)")
    if params.stack and not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", params.stack):
        raise ParamsError("widget params: stack: not a CloudFormation stack name")
    return params


@frozen
class Verdict:
    """A step's latest check: its verdict, and the figures its reason gives."""

    step: int
    weight_percent: float
    verdict: str
    reason: str
    figures: dict[str, float | int | str] = field(default_factory=dict)


@frozen
class Running:
    """A running rollout as the widget shows it."""

    endpoint: str
    rollout_id: str
    execution_arn: str
    package: str
    strategy: str
    phase: str
    step: int  # 1-based; 0 before the first step
    steps: int
    step_percent: float | None  # the share the current step plans for the new model
    shadow: bool
    new_variant: str | None
    shares: dict[str, float]  # live share of the endpoint's traffic per variant, in percent
    gate: str | None
    seconds_left: int | None  # of the bake (or of the gate, until it times out)
    bake_seconds: int | None
    paused_by: str | None
    latest: Verdict | None
    rollback_reason: str | None
    message: str
    requested_by: str | None = None  # who asked for it (retry, undo), as the steering API authenticated them


@frozen
class Recent:
    """An ended (or recorded) rollout, from its record."""

    endpoint: str
    rollout_id: str
    started_at: str
    package: str
    strategy: str
    outcome: str
    reason: str
    latest: Verdict | None
    requested_by: str | None = None


@frozen
class ConsoleView:
    """Everything one rendering shows."""

    now: datetime
    running: list[Running]
    recent: list[Recent]
    params: WidgetParams
    notes: list[str] = field(default_factory=list)  # what could not be read (shown, never hidden)


PHASE_WORDS = {
    "resolved": "starting",
    "waiting_for_lock": "queued behind another rollout",
    "locked": "starting",
    "baselined": "starting",
    "prepared": "prepared",
    "updating": "updating the endpoint",
    "shifting": "shifting traffic",
    "baking": "baking",
    "promoting": "promoting",
    "verifying": "promoted, judging it once more",
    "deployed": "deployed, cleaning up",
    "rolling_back": "ROLLING BACK",
    "rolled_back": "rolled back, cleaning up",
    "stopped": "STOPPED: left for a person",
    "finished": "finished",
}
FIGURE_NAMES = {
    "invocations": "invocations",
    "error_rate": "5XX rate",
    "latency_ms": "latency",
    "baseline_error_rate": "baseline 5XX rate",
    "baseline_latency_ms": "baseline latency",
    "alarm": "alarm",
}


def duration(seconds: int) -> str:
    """``754`` -> ``12m34s``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def figure_text(name: str, value: float | int | str) -> str:
    """One figure as a person reads it: rates as percentages, latencies in ms."""
    label = FIGURE_NAMES.get(name, name.replace("_", " "))
    if isinstance(value, float) and name.endswith("error_rate"):
        return f"{label} {100 * value:.2f}%"
    if isinstance(value, float) and name.endswith("latency_ms"):
        return f"{label} {value:.1f} ms"
    if isinstance(value, float):
        return f"{label} {value:.4g}"
    if isinstance(value, int):
        return f"{label} {value:,}"
    return f"{label} {value}"


# --- rendering ---------------------------------------------------------------------------------------------

STYLE = """
.rc{font:13px/1.45 "Amazon Ember",Helvetica,Arial,sans-serif;color:#16191f}
.rc h3{font-size:14px;margin:8px 0 4px}
.rc table{border-collapse:collapse;width:100%}
.rc th,.rc td{border-bottom:1px solid #e9ebed;padding:4px 6px;text-align:left;vertical-align:top}
.rc th{background:#fafafa;font-weight:600}
.rc .bar{display:inline-block;width:90px;height:8px;background:#e9ebed;vertical-align:middle}
.rc .bar i{display:block;height:8px;background:#0972d3}
.rc .succeeded{color:#037f0c;font-weight:600}
.rc .rolled_back,.rc .failed,.rc .rejected,.rc .needs_attention,.rc .alarm{color:#d91515;font-weight:600}
.rc .pass{color:#037f0c}.rc .fail{color:#d91515}.rc .inconclusive{color:#8d6605}
.rc .note{color:#5f6b7a}
.rc .btn{margin:0 4px 2px 0}
.rc code{background:#f4f4f4;padding:1px 3px}
.rc .err{color:#d91515;font-weight:600}
"""


def _e(value: object) -> str:
    """Escape anything shown (quotes too: it may sit in an attribute)."""
    return escape(str(value), quote=True)


def _shares(r: Running) -> str:
    if not r.shares:
        return '<span class="note">unknown</span>'
    parts = []
    for name, share in r.shares.items():
        new = " (new)" if name == r.new_variant else ""
        parts.append(f'<span class="share" data-variant="{_e(name)}">{_e(name)} {share:g}%{_e(new)}</span>')
    return "<br>".join(parts)


def _verdict(latest: Verdict | None) -> str:
    if latest is None:
        return '<span class="note">none yet</span>'
    figures = ", ".join(figure_text(k, v) for k, v in latest.figures.items())
    return (
        f'step {latest.step} ({latest.weight_percent:g}%): <span class="verdict {_e(latest.verdict)}">'
        f"{_e(latest.verdict)}</span> - {_e(latest.reason)}"
        + (f'<br><span class="note">{_e(figures)}</span>' if figures else "")
    )


def _progress(r: Running) -> str:
    if not r.steps:
        return '<span class="note">-</span>'
    planned = (
        f"{r.step_percent:g}% copied to the shadow"
        if r.shadow and r.step_percent is not None
        else (f"{r.step_percent:g}% planned" if r.step_percent is not None else "")
    )
    done = 0.0
    if r.step:
        within = 0.0
        if r.bake_seconds and r.seconds_left is not None and r.gate is None:
            within = max(0.0, 1 - r.seconds_left / r.bake_seconds)
        done = min(1.0, (r.step - 1 + within) / r.steps)
    return (
        f'step {r.step}/{r.steps} <span class="bar" title="{100 * done:.0f}%"><i style="width:{100 * done:.0f}%">'
        f'</i></span><br><span class="note">{_e(planned)}</span>'
    )


def _time_left(r: Running) -> str:
    if r.paused_by is not None:
        left = f", {duration(r.seconds_left)} of the bake kept" if r.seconds_left is not None else ""
        return f"PAUSED by {_e(r.paused_by)}{_e(left)}"
    if r.gate is not None and r.seconds_left is not None:
        return f"waiting at gate '{_e(r.gate)}': times out in {duration(r.seconds_left)}"
    if r.seconds_left is not None and r.bake_seconds is not None:
        return f"{duration(r.seconds_left)} left of {duration(r.bake_seconds)}"
    return '<span class="note">-</span>'


def command(params: WidgetParams, action: str, endpoint: str, reason: bool) -> str:
    """The `rollout` command a person runs, with their own credentials, to steer ``endpoint``."""
    stack = f" --stack {params.stack}" if params.stack else ""
    why = " --reason 'WHY'" if reason else ""
    return f"rollout {action} {endpoint}{why}{stack}"


def _button(params: WidgetParams, label: str, action: str, endpoint: str, reason: bool) -> str:
    """A button whose pop-up gives the exact command: the person steers with their own identity, not ours."""
    lines = [
        f"<h3>{_e(label)} {_e(endpoint)}</h3>",
        "<p>Steering goes through the stack's steering API (IAM-authorized) with <b>your own</b> AWS "
        "credentials, so AWS checks <code>execute-api:Invoke</code> on "
        f"<code>POST /endpoints/{_e(endpoint)}/{_e(action)}</code> for you and the record names you. "
        "This dashboard cannot steer for you. Run:</p>",
        f'<pre class="command">{_e(command(params, action, endpoint, reason))}</pre>',
    ]
    if params.steering_url:
        url = f"{params.steering_url.rstrip('/')}/endpoints/{endpoint}/{action}"
        body = json.dumps({"reason": "WHY"} if reason else {})
        lines.append(
            "<p>or sign the request yourself (SigV4, service <code>execute-api</code>):</p>"
            f'<pre class="request">POST {_e(url)}\n{_e(body)}</pre>'
        )
    content = "".join(lines)
    return (
        f'<a class="btn" data-action="{_e(action)}" data-endpoint="{_e(endpoint)}">{_e(label)}</a>'
        f'<cwdb-action action="html" display="popup">{content}</cwdb-action>'
    )


def _buttons(r: Running, params: WidgetParams) -> str:
    buttons = []
    if r.gate is not None:
        buttons.append(_button(params, "Approve", "approve", r.endpoint, reason=False))
    if r.phase not in ("rolling_back", "rolled_back", "stopped", "deployed", "finished"):
        buttons.append(_button(params, "Promote", "promote", r.endpoint, reason=False))
        if r.paused_by is not None:
            buttons.append(_button(params, "Resume", "resume", r.endpoint, reason=False))
        elif r.gate is None:
            buttons.append(_button(params, "Pause", "pause", r.endpoint, reason=True))
        buttons.append(_button(params, "Abort", "abort", r.endpoint, reason=True))
    return "".join(buttons)


def _asked(requested_by: str | None) -> str:
    return f'<br><span class="note asked">asked by {_e(requested_by)}</span>' if requested_by else ""


def _execution_link(arn: str, text: str) -> str:
    """The execution in the Step Functions console (its region is in its ARN)."""
    parts = arn.split(":")
    if len(parts) < 8 or parts[0] != "arn" or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", parts[3]):
        return _e(text)
    region = parts[3]
    href = f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
    return f'<a href="{_e(href)}" title="the execution in the Step Functions console">{_e(text)}</a>'


def render(view: ConsoleView) -> str:
    """The widget's HTML: running rollouts (with steering buttons), then recent ones."""
    out = [f'<div class="rc"><style>{STYLE}</style>']
    out.append(f"<h3>Running rollouts ({len(view.running)})</h3>")
    if view.running:
        out.append(
            '<table class="running"><tr><th>Endpoint</th><th>Rollout</th><th>Strategy</th><th>Phase</th>'
            "<th>Step</th><th>Live traffic</th><th>Latest verdict</th><th>Time left</th><th>Steer</th></tr>"
        )
        for r in view.running:
            phase = PHASE_WORDS.get(r.phase, r.phase)
            if r.gate is not None:
                phase = "waiting for approval"
            elif r.paused_by is not None:
                phase = "PAUSED"
            if r.rollback_reason:
                phase += f": {r.rollback_reason}"
            out.append(
                f'<tr class="rollout" data-endpoint="{_e(r.endpoint)}" data-rollout="{_e(r.rollout_id)}">'
                f'<td class="endpoint">{_e(r.endpoint)}</td>'
                f'<td class="id">{_execution_link(r.execution_arn, r.rollout_id)}<br>'
                f'<span class="note">{_e(r.package)}</span>{_asked(r.requested_by)}</td>'
                f'<td class="strategy">{_e(r.strategy)}</td>'
                f'<td class="phase">{_e(phase)}</td>'
                f'<td class="step">{_progress(r)}</td>'
                f'<td class="shares">{_shares(r)}</td>'
                f'<td class="latest">{_verdict(r.latest)}</td>'
                f'<td class="left">{_time_left(r)}</td>'
                f'<td class="steer">{_buttons(r, view.params)}</td></tr>'
            )
        out.append("</table>")
    else:
        out.append('<p class="note">No rollout is running.</p>')
    out.append(f"<h3>Recent rollouts ({len(view.recent)})</h3>")
    if view.recent:
        out.append(
            '<table class="recent"><tr><th>Endpoint</th><th>Rollout</th><th>Started</th><th>Strategy</th>'
            "<th>Outcome</th><th>Reason</th><th>Last verdict</th></tr>"
        )
        for rec in view.recent:
            out.append(
                f'<tr class="record" data-endpoint="{_e(rec.endpoint)}" data-rollout="{_e(rec.rollout_id)}">'
                f'<td class="endpoint">{_e(rec.endpoint)}</td>'
                f'<td class="id">{_e(rec.rollout_id)}<br><span class="note">{_e(rec.package)}</span>'
                f"{_asked(rec.requested_by)}</td>"
                f'<td class="started">{_e(rec.started_at)}</td>'
                f'<td class="strategy">{_e(rec.strategy)}</td>'
                f'<td class="outcome {_e(rec.outcome)}">{_e(rec.outcome)}</td>'
                f'<td class="reason">{_e(rec.reason)}</td>'
                f'<td class="latest">{_verdict(rec.latest)}</td></tr>'
            )
        out.append("</table>")
    elif view.params.endpoints:
        out.append('<p class="note">No recorded rollout of these endpoints.</p>')
    else:
        out.append(
            '<p class="note">Name endpoints in the widget\'s params (<code>endpoints</code>) to list their recent '
            "rollouts.</p>"
        )
    for note in view.notes:
        out.append(f'<p class="note warning">{_e(note)}</p>')
    out.append(f'<p class="note">As of {_e(view.now.strftime("%Y-%m-%d %H:%M:%S UTC"))}.</p></div>')
    return "".join(out)


def render_error(message: str) -> str:
    """A person's mistake (the widget's params) as one line in the widget."""
    return f'<div class="rc"><p class="err">{_e(message)}</p></div>'


DESCRIBE = """## Rollouts (sagemaker-rollout)

Lists the running rollouts of this stack (endpoint, rollout, strategy, step i/n, live traffic shares in percent,
the latest verdict with its figures, time left in the bake or gate) and the recent ones of the endpoints you name
(outcome and reason).

The Approve / Promote / Pause / Resume / Abort buttons never steer from the dashboard: each opens the exact
`rollout` command (and the signed API request) to run with **your own** AWS credentials through the stack's
IAM-authorized steering API, so AWS checks your `execute-api:Invoke` grant and the record names you.

### Widget parameters
Param | Description
---|---
**endpoints** | endpoints whose recent rollouts are listed (at most 20; running rollouts are always listed)
**recent** | recent rollouts shown per endpoint (0-20, default 5)
**stack** | the stack name the shown `rollout` commands name (`--stack`)
**steering_url** | the stack's `SteeringApiUrl` output, to show the API request as well

### Example parameters
``` yaml
endpoints: [churn-prod]
recent: 5
stack: sagemaker-rollout-prod
```
"""
