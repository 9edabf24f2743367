"""Drawing a simulated rollout: traffic weight, error rate and latency per variant over time, with the bake
windows, the verdicts, the alarm transitions and the rollback moment. ``rollout simulate --plot FILE.png``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt

from rollout_local.emulator.world import percentile

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rollout_local.report import Report
    from rollout_local.simulator import Simulation

VERDICT_COLOURS = {"pass": "tab:green", "fail": "tab:red", "inconclusive": "tab:orange"}


def plot(simulation: Simulation, report: Report, path: Path) -> dict[str, list[str]]:
    """Write the picture to ``path``; return the series drawn on each panel (for tests and the curious)."""
    endpoint = report.endpoint.name if report.endpoint else ""
    start = simulation.clock.start
    world = simulation.world
    series: dict[str, list[str]] = {"weight": [], "error_rate": [], "latency": []}
    figure, (weights, errors, latency) = plt.subplots(3, 1, sharex=True, figsize=(11, 8.5))
    variants = sorted({v for _, shares in world.shares for v in shares.get(endpoint, {})})
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
    _mark_timeline(report, weights, errors, latency)
    weights.set_ylabel("traffic weight (%)")
    weights.set_ylim(-5, 105)
    errors.set_ylabel("5XX rate (%)")
    latency.set_ylabel("ModelLatency p99 (ms)")
    latency.set_xlabel("simulated minutes since the approval")
    for axis in (weights, errors, latency):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper right", fontsize="small")
    figure.suptitle(f"{report.scenario}: {report.outcome}", fontsize=13)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return series


def _mark_timeline(report: Report, *axes: Axes) -> None:
    entries = report.timeline
    for entry, following in zip(entries, [*entries[1:], None], strict=False):
        if entry.state == "Bake" and following is not None:
            for axis in axes:
                axis.axvspan(entry.t / 60, following.t / 60, color="tab:blue", alpha=0.08)
        if entry.state == "Evaluate Health":
            verdict = next((v for v in VERDICT_COLOURS if f": {v} -" in entry.note or f"{v}" in entry.note[:40]), None)
            if "HealthCheckFailedError" in entry.note:
                verdict = "fail"
            if verdict:
                axes[0].plot([entry.t / 60], [102], marker="v", color=VERDICT_COLOURS[verdict], markersize=8)
        if entry.state.startswith("alarm ") and "-> ALARM" in entry.note:
            for axis in axes:
                axis.axvline(entry.t / 60, color="tab:purple", linestyle=":", linewidth=1)
            axes[0].annotate(entry.state, (entry.t / 60, 50), rotation=90, fontsize="x-small", color="tab:purple")
    rollback = next((e for e in entries if e.state == "Roll Back"), None)
    if rollback is not None:
        for axis in axes:
            axis.axvline(rollback.t / 60, color="tab:red", linewidth=1.5)
        axes[0].annotate(
            "rollback",
            (rollback.t / 60, 90),
            color="tab:red",
            fontsize="small",
            xytext=(4, 0),
            textcoords="offset points",
        )
