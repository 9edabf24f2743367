"""The dashboard widget against a real simulated rollout: called through local mode (its own role, local IAM) mid
bake, at a gate and after a person rejected the rollout with a reason full of markup, then rendered in a real
headless browser (Debian's chromium): the DOM the browser built is asserted on, and a screenshot is taken."""

import struct
from html.parser import HTMLParser

import pytest
from rollout_local.console_shot import HEIGHT, WIDTH, chromium, dump_dom, page, screenshot
from rollout_local.simulator import Simulation

from tests.helpers import scenario

CANARY = {"type": "canary", "canary_percent": 10, "bake_seconds": 300}
EVIL = "<img src=x onerror=alert(1)><script>alert(2)</script> p99 creeping"
PARAMS = {
    "endpoints": ["churn-prod"],
    "stack": "sagemaker-rollout-prod",
    "steering_url": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
}


class Dom(HTMLParser):
    """The rows of the widget's tables as the browser serialized them: each row's cells' text by class."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.tags: list[str] = []
        self.actions: list[dict[str, str | None]] = []
        self._cell: str | None = None
        self._hidden = 0  # inside a <cwdb-action> (the dashboard shows it only as a pop-up)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "cwdb-action":
            self.actions.append(attributes)
            self._hidden += 1
        elif tag == "tr" and attributes.get("class") in ("rollout", "record"):
            self.rows.append({"kind": attributes["class"], "data-endpoint": attributes.get("data-endpoint") or ""})
        elif tag == "td" and self.rows:
            self._cell = (attributes.get("class") or "").split()[0]
            self.rows[-1].setdefault(self._cell, "")

    def handle_endtag(self, tag):
        if tag == "cwdb-action":
            self._hidden -= 1
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell and self.rows and not self._hidden:
            self.rows[-1][self._cell] += data


def browsed(html: str) -> Dom:
    dom = Dom()
    dom.feed(dump_dom(page(html)))
    return dom


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
    return struct.unpack(">II", header[16:24])


def test_the_widget_shows_a_real_rollout_and_renders_in_a_browser(tmp_path):
    if chromium() is None:
        pytest.skip("no chromium installed (apt-get install chromium; .ci/run installs it)")
    document = scenario(
        policy={
            "endpoint_name": "churn-prod",
            "strategy": CANARY,
            "gates": {"confirm_before_promotion": True},
            "analysis": {"max_error_rate": 0.02, "min_invocations": 100},
        },
        traffic={"requests_per_second": 20},
        operator=[{"at_seconds": 1500, "action": "reject", "reason": EVIL}],
    )
    looks: dict[object, str] = {}
    with Simulation(document) as sim:
        for at in (600, 700, 1200):  # mid-bake of the 10% step twice, then at the gate before promotion
            sim.at(at, lambda at=at: looks.__setitem__(at, sim.invoke("DashboardWidgetFunction", PARAMS)))
        report = sim.run()
        looks["end"] = sim.invoke("DashboardWidgetFunction", PARAMS)
        looks["describe"] = sim.invoke("DashboardWidgetFunction", {"describe": True})
        # the widget's role passed local IAM for every read, and it wrote nothing anywhere
        assert sim.aws.iam is not None
        assert sim.aws.iam.denials == [] and sim.aws.iam.unknown == []
    assert report.outcome == "rolled_back" and "GateRejectedError" in report.reason
    assert looks["describe"].startswith("## Rollouts (sagemaker-rollout)")

    # mid-bake: the 10% step, live shares, and the bake's own time left (not the time to the next check)
    first, second = (browsed(looks[at]).rows for at in (600, 700))
    (baking,) = first
    assert baking["kind"] == "rollout" and baking["data-endpoint"] == baking["endpoint"] == "churn-prod"
    assert baking["phase"] == "baking" and baking["strategy"] == "canary"
    assert baking["step"].startswith("step 1/2") and "10% planned" in baking["step"]
    assert "blue 90%" in baking["shares"] and "10% (new)" in baking["shares"]
    left = [row["left"] for row in (baking, second[0])]
    seconds = [int(t.split("m")[0]) * 60 + int(t.split("m")[1].split("s")[0]) for t in left]
    # 100 s apart, to the second: each look's clock also includes its own invocation (the first is a cold start),
    # and the widget shows whole seconds
    assert all(t.endswith("left of 5m00s") for t in left) and abs(seconds[0] - seconds[1] - 100) <= 1, left

    # at the gate: what the browser shows, and the buttons' pop-ups (never a Lambda call: the viewer's own
    # credentials steer, through the steering API)
    gate_dom = browsed(looks[1200])
    (waiting,) = [row for row in gate_dom.rows if row["kind"] == "rollout"]
    assert waiting["phase"] == "waiting for approval"
    assert waiting["left"].startswith("waiting at gate 'before promotion': times out in 23h")
    assert "blue 0%" in waiting["shares"] and "100% (new)" in waiting["shares"]
    assert waiting["latest"].startswith("step 1 (10%): pass") and "invocations" in waiting["latest"]
    assert waiting["steer"] == "ApprovePromoteAbort"  # three buttons, their pop-ups hidden until clicked
    assert gate_dom.actions and all(a == {"action": "html", "display": "popup"} for a in gate_dom.actions)
    assert "rollout approve churn-prod --stack sagemaker-rollout-prod" in looks[1200]

    # after the rejection: the record, with the person's reason shown as text and never as markup
    end_dom = browsed(looks["end"])
    (recorded,) = end_dom.rows
    assert recorded["kind"] == "record" and recorded["outcome"] == "rolled_back"
    assert EVIL in recorded["reason"] and recorded["reason"].startswith("GateRejectedError: rejected by arn:aws:sts::")
    assert "img" not in end_dom.tags and "script" not in end_dom.tags
    assert "No rollout is running." in looks["end"]

    # a screenshot of the gate moment, at a fixed window size
    shot = screenshot(page(looks[1200]), tmp_path / "console.png")
    assert png_size(shot) == (WIDTH, HEIGHT) and shot.stat().st_size > 10_000
