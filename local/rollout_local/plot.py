"""Drawing a simulated rollout: traffic weight, error rate and latency per variant over time, with the bake
windows, the verdicts, the alarm transitions and the rollback moment. ``rollout simulate --plot FILE.png``."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rollout_local.emulator.world import percentile

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rollout_local.report import Report
    from rollout_local.simulator import Simulation

VERDICT_COLOURS = {"pass": "tab:green", "fail": "tab:red", "inconclusive": "tab:orange"}


def plot(simulation: Simulation, report: Report, path: Path) -> dict[str, list[str]]:
    """Write the picture to ``path``; return the series drawn on each panel, the thresholds and the key's
    entries (for tests and the curious). A rollout that moved no traffic gets a figure saying so."""
    endpoint = report.endpoint.name if report.endpoint else ""
    start = simulation.clock.start
    world = simulation.world
    series: dict[str, list[str]] = {"weight": [], "error_rate": [], "latency": [], "thresholds": [], "key": []}
    variants = sorted({v for _, shares in world.shares for v in shares.get(endpoint, {})})
    if not any(world.minutes.get((endpoint, v)) for v in variants):
        return _nothing_to_draw(report, path, series)
    figure, (weights, errors, latency) = plt.subplots(3, 1, sharex=True, figsize=(12, 8.5))
    for variant in variants:
        times = [(t - start).total_seconds() / 60 + 1 for t, _ in world.shares]  # a minute is drawn at its end
        shares = [100 * s.get(endpoint, {}).get(variant, 0.0) for _, s in world.shares]
        weights.step(times, shares, where="pre", label=variant)
        series["weight"].append(variant)
        minutes = sorted(world.minutes.get((endpoint, variant), {}).items())
        if minutes:
            x = [(t - start).total_seconds() / 60 + 1 for t, _ in minutes]
            errors.plot(x, [100 * m.errors / m.invocations for _, m in minutes], marker=".", label=variant)
            series["error_rate"].append(variant)
            samples = [sorted(v for v, c in m.latencies_us for _ in range(c)) for _, m in minutes]
            latency.plot(x, [percentile(s, 99) / 1000 for s in samples], marker=".", label=variant)
            series["latency"].append(variant)
    series["thresholds"] = _thresholds(simulation, errors, latency)
    series["key"] = _mark_timeline(report, weights, errors, latency)
    weights.set_ylabel("traffic weight (%)")
    weights.set_ylim(-5, 110)
    errors.set_ylabel("5XX rate (%)")
    latency.set_ylabel("ModelLatency p99 (ms)")
    latency.set_xlabel("simulated minutes since the approval")
    for axis in (weights, errors, latency):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # beside the data, never on it
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0)
    figure.suptitle(f"{report.scenario}: {report.outcome}", fontsize=13)
    figure.tight_layout(rect=(0, 0.035, 1, 1))  # room for the key below the panels
    figure.savefig(path, dpi=110, metadata={"Software": None})  # the same run draws the same bytes
    plt.close(figure)
    return series


def _nothing_to_draw(report: Report, path: Path, series: dict[str, list[str]]) -> dict[str, list[str]]:
    """A rollout that served no traffic (rejected, refused, failed before its first shift): say so."""
    figure, axis = plt.subplots(figsize=(12, 3))
    axis.axis("off")
    reason = textwrap.fill(report.reason or "", 110)
    axis.text(
        0.5,
        0.5,
        f"{report.scenario}: {report.outcome}\n\nno traffic reached a new model: nothing to draw\n\n{reason}",
        ha="center",
        va="center",
        fontsize=11,
    )
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)
    series["key"] = ["nothing to draw"]
    return series


def _thresholds(simulation: Simulation, errors: Axes, latency: Axes) -> list[str]:
    """The policy's absolute limits as dashed lines on their panels."""
    scenario = simulation.scenario
    approval = scenario.approval
    policy = scenario.policy or (scenario.policies.get(approval.group, {}) if approval else {}) or {}
    analysis = policy.get("analysis") or {}
    drawn = []
    rate = analysis.get("max_error_rate")
    if isinstance(rate, int | float):
        errors.axhline(100 * rate, color="tab:gray", linestyle="--", linewidth=1, label=f"max_error_rate {rate:.1%}")
        drawn.append("max_error_rate")
    limit = analysis.get("max_latency_ms")
    if isinstance(limit, int | float):
        latency.axhline(limit, color="tab:gray", linestyle="--", linewidth=1, label=f"max_latency_ms {limit:g}")
        drawn.append("max_latency_ms")
    return drawn


def _mark_timeline(report: Report, *axes: Axes) -> list[str]:
    """Bakes (shaded), verdicts (markers above the weights), alarms going to ALARM and the rollback (vertical
    lines); a key on the top panel says which is which. Returns the key's labels."""
    entries = report.timeline
    seen: set[str] = set()
    alarms: list[str] = []
    for entry, following in zip(entries, [*entries[1:], None], strict=False):
        if entry.state == "Bake" and following is not None:
            for axis in axes:
                axis.axvspan(entry.t / 60, following.t / 60, color="tab:blue", alpha=0.08)
            seen.add("bake")
        if entry.state == "Evaluate Health":
            verdict = next((v for v in VERDICT_COLOURS if f": {v} -" in entry.note or f"{v}" in entry.note[:40]), None)
            if "HealthCheckFailedError" in entry.note:
                verdict = "fail"
            if verdict:
                axes[0].plot([entry.t / 60], [104], marker="v", color=VERDICT_COLOURS[verdict], markersize=8)
                seen.add(verdict)
        if entry.state.startswith("alarm ") and "-> ALARM" in entry.note:
            for axis in axes:
                axis.axvline(entry.t / 60, color="tab:purple", linestyle=":", linewidth=1)
            alarms.append(entry.state.removeprefix("alarm "))
    rollback = next((e for e in entries if e.state == "Roll Back"), None)
    if rollback is not None:
        for axis in axes:
            axis.axvline(rollback.t / 60, color="tab:red", linewidth=1.5)
    key: list[tuple[Any, str]] = []
    if "bake" in seen:
        key.append((Patch(color="tab:blue", alpha=0.15), "bake or gate (waiting, checked)"))
    for verdict, colour in VERDICT_COLOURS.items():
        if verdict in seen:
            key.append((Line2D([], [], marker="v", color=colour, linestyle="none"), f"check: {verdict}"))
    if alarms:
        names = ", ".join(dict.fromkeys(alarms))
        key.append((Line2D([], [], color="tab:purple", linestyle=":"), f"-> ALARM: {textwrap.shorten(names, 60)}"))
    if rollback is not None:
        key.append((Line2D([], [], color="tab:red", linewidth=1.5), "rollback starts"))
    if key:
        figure = axes[0].figure
        figure.legend(
            [h for h, _ in key],
            [label for _, label in key],
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=len(key),
            fontsize="x-small",
            frameon=False,
        )
    return [label for _, label in key]
