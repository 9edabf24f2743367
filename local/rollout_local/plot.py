"""Drawing a simulated rollout: traffic weight, error rate and latency per variant over time, with the pre-traffic
verification, the bake windows, the verdicts and what decided them, an A/B test's early stop, the alarm transitions
and the rollback moment. ``rollout simulate --plot FILE.png``."""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from datetime import timedelta
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

    from rollout_local.emulator.world import World
    from rollout_local.report import EventReport, Report, TimelineEntry
    from rollout_local.simulator import Simulation

VERDICT_COLOURS = {"pass": "tab:green", "fail": "tab:red", "inconclusive": "tab:orange"}
MARKER_Y = 104  # the verdict lane above the weights (0-100 %)
LABEL_Y = (111.0, 118.0)  # two rows for the figures that decided, alternating so neighbours do not overlap
VERIFY_Y = 126.0  # the verification's short label, above the verdicts' figures
STOP_COLOUR = "tab:cyan"
KEY_COLUMNS = 3
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class _Verification:
    """The pre-traffic verification as the run recorded it: when, its verdict, and its figures in words."""

    start: float
    end: float
    verdict: str
    summary: str


def plot(simulation: Simulation, report: Report, path: Path) -> dict[str, list[str]]:
    """Write the picture to ``path``; return the series drawn on each panel, the thresholds, the key's entries
    and the figures written beside the verdicts (for tests and the curious). A rollout that moved no traffic
    gets a figure saying so."""
    endpoint = report.endpoint.name if report.endpoint else ""
    start = simulation.clock.start
    world = simulation.world
    series: dict[str, list[str]] = {
        "weight": [],
        "error_rate": [],
        "latency": [],
        "thresholds": [],
        "key": [],
        "labels": [],
    }
    measured = sorted(v for e, v in world.minutes if e == endpoint and world.minutes[(e, v)])
    if not measured:
        return _nothing_to_draw(report, path, series)
    figure, (weights, errors, latency) = plt.subplots(3, 1, sharex=True, figsize=(12, 9))
    times = [(t - start).total_seconds() / 60 + 1 for t, _ in world.fleets]  # a minute is drawn at its end
    fleets = _fleet_shares(world, endpoint)
    # one colour per variant name on every panel; its other fleet or model dashed, in the same colour
    names = sorted({variant for variant, _, _ in fleets.values()} | set(measured))
    colours = {name: f"C{index % 10}" for index, name in enumerate(names)}
    for label, (variant, first, shares) in fleets.items():
        style = "-" if first else "--"
        weights.step(times, [100 * s for s in shares], where="pre", label=label, color=colours[variant], ls=style)
        series["weight"].append(label)
    models, guarded = _models_by_variant(world, endpoint), _guarded(world, endpoint)
    for variant in measured:
        minutes = sorted(world.minutes[(endpoint, variant)].items())
        # CloudWatch has one series per variant name, whatever fleets or models served under it: say so
        label = variant
        if variant in guarded:
            label = f"{variant} (both fleets)"
        elif len(models.get(variant, [])) > 1:
            label = f"{variant} (all its models)"
        x: list[float] = []
        rates: list[float] = []
        p99: list[float] = []
        for index, (at, minute) in enumerate(minutes):
            if index and at - minutes[index - 1][0] > MINUTE:  # a minute it served nothing: a gap, not a line
                x.append(math.nan)
                rates.append(math.nan)
                p99.append(math.nan)
            x.append((at - start).total_seconds() / 60 + 1)
            rates.append(100 * minute.errors / minute.invocations)
            p99.append(percentile(sorted(v for v, c in minute.latencies_us for _ in range(c)), 99) / 1000)
        errors.plot(x, rates, marker=".", label=label, color=colours[variant])
        series["error_rate"].append(label)
        latency.plot(x, p99, marker=".", label=label, color=colours[variant])
        series["latency"].append(label)
    series["thresholds"] = _thresholds(simulation, errors, latency)
    series["key"], series["labels"] = _mark_timeline(report, weights, errors, latency)
    weights.set_ylabel("traffic weight (%)")
    weights.set_ylim(-5, 132)
    weights.set_yticks([0, 25, 50, 75, 100])
    errors.set_ylabel("5XX rate (%)")
    latency.set_ylabel("ModelLatency p99 (ms)")
    latency.set_xlabel("simulated minutes since the approval")
    for axis in (weights, errors, latency):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # beside the data, never on it
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0)
    figure.suptitle(f"{report.scenario}: {report.outcome}", fontsize=13)
    rows = math.ceil(len(series["key"]) / KEY_COLUMNS)
    figure.tight_layout(rect=(0, 0.012 + 0.03 * rows, 1, 1))  # room for the key below the panels
    figure.savefig(path, dpi=110, metadata={"Software": None})  # the same run draws the same bytes
    plt.close(figure)
    return series


def _fleet_shares(world: World, endpoint: str) -> dict[str, tuple[str, bool, list[float]]]:
    """Each series of the weight panel: its variant, whether it is the variant's first model (its blue fleet),
    and its share per minute. A variant that served one model is one series.
    During a SageMaker guardrail (blue/green) update one variant name has two fleets, told apart by the model they
    serve: the model the variant served first is its blue fleet, the other its green fleet (which keeps the name
    once the blue fleet is terminated). A variant name that later serves another model (a promotion that reuses
    the name) gets a series per model. A shadow's series is the share of requests copied to it."""
    models, guarded = _models_by_variant(world, endpoint), _guarded(world, endpoint)
    per_minute: list[dict[str, float]] = []
    owners: dict[str, tuple[str, bool]] = {}
    for _, endpoints in world.fleets:
        shares: dict[str, float] = {}
        for variant, fleet, model, share in endpoints.get(endpoint, []):
            first = models[variant][0]
            if fleet == "shadow":
                label = f"{variant} (shadow copy)"
            elif variant in guarded:
                label = f"{variant}: {'blue' if model == first else 'green'} fleet"
            else:
                label = variant if model == first else f"{variant}: {model}"
            shares[label] = shares.get(label, 0.0) + share
            owners[label] = (variant, model == first)
        per_minute.append(shares)
    return {label: (*owners[label], [shares.get(label, 0.0) for shares in per_minute]) for label in sorted(owners)}


def _guarded(world: World, endpoint: str) -> set[str]:
    """The variants of ``endpoint`` that had a green fleet beside the blue one (a guardrail update)."""
    return {v for _, e in world.fleets for v, fleet, _, _ in e.get(endpoint, []) if fleet == "green"}


def _models_by_variant(world: World, endpoint: str) -> dict[str, list[str]]:
    """The models each variant name of ``endpoint`` served, in the order it first served them."""
    models: dict[str, list[str]] = {}
    for _, endpoints in world.fleets:
        for variant, _fleet, model, _ in sorted(endpoints.get(endpoint, []), key=lambda r: r[1] == "green"):
            if model not in models.setdefault(variant, []):  # the blue fleet's model first, then the green's
                models[variant].append(model)
    return models


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


def _check_verdict(entry: TimelineEntry) -> str | None:
    """The verdict of one periodic check, from its timeline note ("step 1/2 (10%): pass - ...")."""
    if "HealthCheckFailedError" in entry.note:
        return "fail"
    return next((v for v in VERDICT_COLOURS if f": {v} -" in entry.note or v in entry.note[:40]), None)


def decided_by(detail: dict[str, Any]) -> str | None:
    """The figure that decided a step verdict, in a few characters: a sequential test's always-valid p-value,
    the invocations an inconclusive check still needs, the p-value of a statistical pass or fail, or the value
    a threshold was crossed by. None when nothing but "no alarm" decided it."""
    figures = detail.get("figures") or {}
    verdict, text = detail.get("verdict"), str(detail.get("detail") or "")
    if figures.get("sequential_p") is not None:
        return f"seq. p={figures['sequential_p']:.2g}"
    if verdict == "inconclusive":
        said = re.search(r"about (\d+) more invocations", text)  # a check's note, when no figures were told
        more = figures.get("more_invocations") or (said[1] if said else 0)
        if more:
            return f"needs {more} more"
        if figures.get("more_minutes"):
            return f"needs {figures['more_minutes']} more min"
        fewer = re.search(r"served (\d+) invocations, fewer than min_invocations=(\d+)", text)
        return f"{fewer[1]} of {fewer[2]} inv." if fewer else None
    if verdict == "pass" and figures.get("p_within") is not None:
        return f"p={figures['p_within']:.2g}"
    if verdict == "fail":
        beyond = re.search(r"beyond the tolerance: [^;]*?p=([0-9.e+-]+)", text)  # the statistical judge's
        if beyond:
            return f"p={float(beyond[1].rstrip('.')):.2g}"
        found = re.search(r"(5XX rate [\d.]+%|ModelLatency \S+ [\d.]+ ms|alarm \S+)", text)
        return found[1].replace("ModelLatency ", "") if found else None
    return None


def _verification(report: Report) -> _Verification | None:
    """The pre-traffic verification of the run's first rollout, if it ran one: its span, verdict and figures."""
    entry = next((e for e in report.timeline if e.state == "Verify New Variant"), None)
    if entry is None:
        return None
    told = next((e for e in report.events if e.detail_type == "Rollout Variant Verified"), None)
    figures: dict[str, Any] = (told.detail.get("verification") or {}) if told else {}
    verdict = str(told.detail.get("verdict")) if told else ("fail" if entry.failed else "pass")
    parts = [f"{figures.get('requests', '?')} requests"] if figures else []
    if figures.get("label_agreement") is not None:
        parts.append(f"agreement {figures['label_agreement']:.1%}")
    if figures.get("score_mean_abs_difference") is not None:
        parts.append(f"score diff {figures['score_mean_abs_difference']:.3f}")
    if figures.get("score_ks") is not None:
        parts.append(f"KS {figures['score_ks']:.2f}")
    if figures:
        parts.append(f"errors new {figures.get('new_errors')} / baseline {figures.get('baseline_errors')}")
    if figures.get("new_latency_ms") is not None and figures.get("baseline_latency_ms") is not None:
        parts.append(f"median {figures['new_latency_ms']:g} / {figures['baseline_latency_ms']:g} ms")
    summary = ", ".join(parts) if parts else textwrap.shorten(entry.note, 80)
    end = entry.ended if entry.ended is not None else entry.t
    return _Verification(start=entry.t, end=end, verdict=verdict, summary=summary)


def _early_stop(report: Report) -> EventReport | None:
    """The step verdict with which a sequential test ended an A/B test before its duration, if one did."""
    if not (report.experiment or {}).get("stopped_early"):
        return None
    verdicts = [e for e in report.events if e.detail_type == "Rollout Step Verdict"]
    return next((e for e in verdicts if (e.detail.get("figures") or {}).get("sequential_p") is not None), None)


def _mark_timeline(report: Report, *axes: Axes) -> tuple[list[str], list[str]]:
    """The verification (a hatched span before any traffic), bakes (shaded), every check's verdict (triangles
    above the weights, with the figure that decided each told step verdict), an A/B test's early stop, alarms
    going to ALARM and the rollback (vertical lines); a key under the panels says which is which. Returns the
    key's labels and the figures written."""
    entries = report.timeline
    top = axes[0]
    seen: set[str] = set()
    alarms: list[str] = []
    marked: list[tuple[float, str, str]] = []  # the checks whose triangle was drawn: when, verdict, note
    key: list[tuple[Any, str]] = []
    verification = _verification(report)
    if verification is not None:
        colour = VERDICT_COLOURS.get(verification.verdict, "tab:gray")
        # a replay lasts seconds: drawn at least a fifth of a minute wide so it can be seen
        left, right = verification.start / 60, max(verification.end / 60, verification.start / 60 + 0.2)
        for axis in axes:
            axis.axvspan(left, right, facecolor=colour, alpha=0.25, hatch="///", edgecolor=colour, linewidth=0)
        top.text(left, VERIFY_Y, f" verify: {verification.verdict}", fontsize="x-small", color=colour, va="center")
        told = f"pre-traffic verification (weight 0): {verification.verdict} - {verification.summary}"
        summary = textwrap.fill(told, 60)
        key.append((Patch(facecolor=colour, alpha=0.25, hatch="///", edgecolor=colour), summary))
    for entry, following in zip(entries, [*entries[1:], None], strict=False):
        if entry.state == "Bake" and following is not None:
            for axis in axes:
                axis.axvspan(entry.t / 60, following.t / 60, color="tab:blue", alpha=0.08)
            seen.add("bake")
        if entry.state == "Evaluate Health" and (verdict := _check_verdict(entry)) is not None:
            top.plot([entry.t / 60], [MARKER_Y], marker="v", color=VERDICT_COLOURS[verdict], markersize=8)
            seen.add(verdict)
            marked.append((entry.t, verdict, entry.note))
        if entry.state.startswith("alarm ") and "-> ALARM" in entry.note:
            for axis in axes:
                axis.axvline(entry.t / 60, color="tab:purple", linestyle=":", linewidth=1)
            alarms.append(entry.state.removeprefix("alarm "))
    labels = _verdict_figures(report, top, seen, marked)
    stop = _early_stop(report)
    if stop is not None:
        for axis in axes:
            axis.axvline(stop.t / 60, color=STOP_COLOUR, linestyle="-.", linewidth=1.5)
        p_value = (stop.detail.get("figures") or {}).get("sequential_p")
        reason = str((report.experiment or {}).get("reason") or "")
        after = re.search(r"stopped early after (\d+) s", reason)
        words = f"after {int(after[1]) // 60} min" if after else "before its duration"
        key.append((Line2D([], [], color=STOP_COLOUR, linestyle="-."), f"A/B stopped early {words}: p={p_value:.2g}"))
    rollback = next((e for e in entries if e.state == "Roll Back"), None)
    if rollback is not None:
        for axis in axes:
            axis.axvline(rollback.t / 60, color="tab:red", linewidth=1.5)
    if "bake" in seen:
        key.append((Patch(color="tab:blue", alpha=0.15), "bake or gate (waiting, checked)"))
    for verdict, colour in VERDICT_COLOURS.items():
        if verdict in seen:
            key.append((Line2D([], [], marker="v", color=colour, linestyle="none"), f"check: {verdict}"))
    if labels:
        key.append((Line2D([], [], linestyle="none"), "(figure above a check: what decided it)"))
    if alarms:
        names = ", ".join(dict.fromkeys(alarms))
        key.append((Line2D([], [], color="tab:purple", linestyle=":"), f"-> ALARM: {textwrap.shorten(names, 60)}"))
    if rollback is not None:
        key.append((Line2D([], [], color="tab:red", linewidth=1.5), "rollback starts"))
    if key:
        top.figure.legend(
            [h for h, _ in key],
            [label for _, label in key],
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=min(len(key), KEY_COLUMNS),
            fontsize="x-small",
            frameon=False,
        )
    return [label for _, label in key], labels


def _verdict_figures(report: Report, top: Axes, seen: set[str], marked: list[tuple[float, str, str]]) -> list[str]:
    """The figure that decided each verdict worth a word - every told step verdict (the checks that ended,
    extended or failed a step) and every other inconclusive or failing check (from its timeline note) - written
    above its triangle, on two alternating rows; a verdict told without a check of its own (an A/B test's
    sequential stop) gets its triangle here. Returns the figures written, in time order."""
    told = [(e.t, e.detail) for e in report.events if e.detail_type == "Rollout Step Verdict"]
    untold = [
        (t, {"verdict": verdict, "detail": note.split(f": {verdict} - ", 1)[-1]})
        for t, verdict, note in marked
        if verdict != "pass" and not any(abs(t - when) <= 3 for when, _ in told)
    ]
    written: list[str] = []
    for at, detail in sorted([*told, *untold], key=lambda item: item[0]):
        verdict = str(detail.get("verdict"))
        colour = VERDICT_COLOURS.get(verdict, "tab:gray")
        if not any(abs(at - t) <= 3 for t, _, _ in marked) and verdict in VERDICT_COLOURS:
            top.plot([at / 60], [MARKER_Y], marker="v", color=colour, markersize=8)
            seen.add(verdict)
        figure = decided_by(detail)
        if figure is None:
            continue
        top.text(at / 60, LABEL_Y[len(written) % 2], figure, fontsize=6.5, color=colour, ha="center", va="center")
        written.append(figure)
    return written
