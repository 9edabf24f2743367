"""The dashboard widget's HTML in a real headless browser (Debian's chromium): its DOM, and a screenshot.

CloudWatch shows a custom widget's HTML inside the dashboard with its own default styles, hides each
``<cwdb-action>`` (its content becomes a pop-up on the element before it) and removes any JavaScript. ``page``
wraps the widget's HTML the same way (a frame of the widget's size, the ``btn`` style, ``cwdb-action`` hidden) so
the browser shows what the dashboard would; the page itself carries no script either.

``python -m rollout_local.console_shot docs/console.png`` redraws the README's picture from fixed data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from html import escape
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1400, 640  # the README picture's window (a 24-unit-wide dashboard row is about this wide)

FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body{{margin:0;background:#f2f3f3;font-family:Helvetica,Arial,sans-serif}}
.widget{{margin:8px;background:#fff;border:1px solid #d5dbdb;box-shadow:0 1px 1px rgba(0,28,36,.1)}}
.widget .title{{font:bold 14px Helvetica,Arial,sans-serif;padding:8px 12px;border-bottom:1px solid #eaeded}}
.widget .body{{padding:4px 12px 8px}}
cwdb-action{{display:none}}
a.btn{{display:inline-block;padding:2px 10px;border:1px solid #545b64;border-radius:2px;color:#16191f;
  font-weight:bold;font-size:12px;text-decoration:none;cursor:pointer;background:#fff}}
</style></head><body><div class="widget"><div class="title">{title}</div><div class="body">{content}</div></div>
</body></html>"""


def chromium() -> str | None:
    """The chromium executable, if one is installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def page(widget_html: str, title: str = "Rollouts: running and recent") -> str:
    """The widget's HTML inside a page that shows it as a CloudWatch dashboard does."""
    return FRAME.format(title=escape(title), content=widget_html)


def _run(arguments: list[str], html: str, timeout: float = 120) -> str:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("no chromium installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="console-") as scratch:
        source = Path(scratch) / "widget.html"
        source.write_text(html, encoding="utf-8")
        flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio"]
        flags.append(f"--user-data-dir={Path(scratch) / 'profile'}")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # chromium refuses to run as root with its sandbox
        done = subprocess.run(  # noqa: S603 - our own fixed arguments and a file we wrote, no shell
            [binary, *flags, *arguments, source.as_uri()], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return done.stdout


def dump_dom(html: str) -> str:
    """The DOM chromium built from ``html`` (after parsing and styling), serialized."""
    return _run(["--dump-dom"], html)


def screenshot(html: str, path: Path, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """A PNG of ``html`` in a window of ``width`` x ``height``."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={path}", f"--window-size={width},{height}"], html)
    if not path.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {path}")
    return path


def sample_view() -> object:
    """Fixed data for the README's picture: a canary mid-bake, a blue/green at a gate, a paused rollout, and
    recent rollouts (a rollback with its reason)."""
    from rollout.console import ConsoleView, Recent, Running, Verdict, WidgetParams

    figures: dict[str, float | int | str] = {
        "invocations": 1184,
        "error_rate": 0.0017,
        "latency_ms": 41.2,
        "baseline_error_rate": 0.0011,
        "baseline_latency_ms": 40.3,
    }
    arn = "arn:aws:states:eu-west-1:123456789012:execution:sagemaker-rollout-prod-rollout:"
    running = [
        Running(
            "churn-prod",
            "4be1c7a2",
            arn + "4be1c7a2",
            "churn v14",
            "canary",
            "baking",
            1,
            2,
            10.0,
            False,
            "v14-5c3e",
            {"blue": 90.0, "v14-5c3e": 10.0},
            None,
            372,
            600,
            None,
            Verdict(1, 10.0, "pass", "error rate and latency within limits", figures),
            None,
            "",
        ),
        Running(
            "fraud-scoring",
            "9d02e611",
            arn + "9d02e611",
            "fraud v7",
            "linear",
            "baking",
            3,
            4,
            75.0,
            False,
            "v7-a81f",
            {"v6-19bb": 25.0, "v7-a81f": 75.0},
            None,
            480,
            900,
            "arn:aws:sts::123456789012:assumed-role/RolloutOperator/alice: checking a downstream alert",
            Verdict(3, 75.0, "pass", "error rate and latency within limits", {**figures, "invocations": 9310}),
            None,
            "",
        ),
        Running(
            "ranking-prod",
            "e57a0b39",
            arn + "e57a0b39",
            "ranking v3",
            "blue_green",
            "baking",
            1,
            1,
            100.0,
            False,
            "v3-77d0",
            {"v2-0c41": 0.0, "v3-77d0": 100.0},
            "before promotion",
            85310,
            86400,
            None,
            Verdict(1, 100.0, "pass", "no alarm in ALARM", {"invocations": 20431}),
            None,
            "",
        ),
    ]
    recent = [
        Recent(
            "churn-prod",
            "1f9a3310",
            "2026-11-20 14:02 UTC",
            "churn v13",
            "canary",
            "rolled_back",
            "HealthCheckFailedError: step 1 (10%): 5XX rate 4.10% > 2.00% over 1,212 invocations",
            Verdict(1, 10.0, "fail", "5XX rate 4.10% > 2.00%", {"invocations": 1212, "error_rate": 0.041}),
        ),
        Recent(
            "churn-prod",
            "0c77e2d4",
            "2026-11-18 09:40 UTC",
            "churn v12",
            "canary",
            "succeeded",
            "endpoint churn-prod serves churn-prod-m-v12-3a1c",
            Verdict(2, 100.0, "pass", "error rate and latency within limits", {"invocations": 15120}),
        ),
    ]
    params = WidgetParams(endpoints=["churn-prod"], stack="sagemaker-rollout-prod")
    return ConsoleView(datetime(2026, 11, 23, 9, 30, tzinfo=UTC), running, recent, params)


def main(argv: list[str] | None = None) -> int:
    """Draw the README's picture of the widget (fixed data, fixed window size)."""
    from rollout.console import ConsoleView, render

    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m rollout_local.console_shot OUTPUT.png", file=sys.stderr)
        return 2
    view = sample_view()
    assert isinstance(view, ConsoleView)
    try:
        screenshot(page(render(view)), Path(arguments[0]))
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"rollout_local.console_shot: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
