"""The report as a person reads it (``rollout simulate`` without ``--json``): one rollout as one timeline;
several as a table of rollouts, each one's timeline, then what happened around them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rollout_local.report import NOT_ROLLOUTS

if TYPE_CHECKING:
    from rollout_local.report import ExecutionReport, Report, TimelineEntry

DURATION = re.compile(r"\b\d+ s\b")  # "Updating (90 s)", "queued for 60 s": the same news, later


def text(report: Report) -> str:
    """The report for a person: one rollout as one timeline; several as a table, then each one's timeline."""
    lines = [f"scenario  {report.scenario}", f"outcome   {report.outcome}", f"reason    {report.reason or '-'}", ""]
    rollouts = [e for e in report.executions if e.outcome not in NOT_ROLLOUTS]
    if len(rollouts) <= 1:
        lines += _timeline_lines(report.timeline)
    else:
        lines += _rollouts_text(report, rollouts)
    if report.experiment is not None:
        lines += ["", *_experiment_lines(report.experiment)]
    several = len(report.endpoints) > 1
    shown = report.endpoints if several else [e for e in [report.endpoint] if e is not None]
    for index, e in enumerate(shown):
        head = ("endpoints" if several else "endpoint") if index == 0 else ""
        lines += [""] if index == 0 else []
        lines.append(f"{head:<9} {e.name}: {e.status if e.exists else 'does not exist'} on {e.config_name or '-'}")
        for v in e.variants:
            size = f"{v.instances} x {v.instance_type}" if v.instance_type else "serverless"
            shadow = " (shadow)" if v.shadow else ""
            indent = " " * (12 if several else 10)
            lines.append(f"{indent}{v.name}{shadow}: model {v.model}, weight {v.weight:g}, {size}")
    m = report.metrics
    calls = ", ".join(f"{k} {v}" for k, v in sorted(m.api_calls.items()))
    lines += [
        "",
        f"metrics   {m.state_transitions} state transitions, {m.lambda_invocations} Lambda invocations, "
        f"{m.simulated_seconds:.0f} simulated s in {m.wall_seconds:.2f} wall s",
        f"          traffic: {m.requests_served} requests, {m.bad_requests_served} failed ones served by the new "
        "model; alarm to rollback: "
        + ("-" if m.alarm_to_rollback_seconds is None else f"{m.alarm_to_rollback_seconds:g} s")
        + (f"; shadow copies: {m.shadow_requests} ({m.shadow_errors} failed)" if m.shadow_requests else ""),
        f"          API calls: {calls}",
    ]
    return "\n".join(lines)


def _rollouts_text(report: Report, rollouts: list[ExecutionReport]) -> list[str]:
    others = len(report.executions) - len(rollouts)
    lines = [f"rollouts  {len(rollouts)}" + (f" (and {others} duplicate or continued executions)" if others else "")]
    width = max(len(r.label) for r in rollouts)
    for number, r in enumerate(rollouts, 1):
        ended = "running" if r.ended is None else _clock(r.ended)
        when = f"{_clock(r.started):>7} - {ended:<7}"
        lines.append(f"{number:>8}  {when}  {r.label:<{width}}  {r.outcome:<11} {r.reason or ''}")
    for number, r in enumerate(rollouts, 1):
        lines += ["", f"rollout {number}: {r.label}, {r.outcome} ({r.name})", *_timeline_lines(r.timeline)]
    world = [e for e in report.timeline if e.rollout is None]
    if world:
        lines += ["", "around the rollouts", *_timeline_lines(world)]
    return lines


def _timeline_lines(entries: list[TimelineEntry]) -> list[str]:
    """One line per thing that happened, in the order it happened: a wait and its polls are one line, a bake's
    wait that only repeats what the line before said is left out, a wait ended by a failure (an alarm, a person)
    is shown when it ended; a state (or a pair of states) that repeats with nothing new but a duration is folded
    into '... N more, to +MM:SS'."""
    shown = _causal(_without_echoes(entries))
    keys = [(e.state, DURATION.sub("# s", e.note)) for e in shown]
    lines: list[str] = []
    i = 0
    while i < len(shown):
        polls = _polls(shown, i)
        if polls:  # one line for the wait, then the look that ended it
            end = i + 2 * polls + 1 if i + 2 * polls + 1 < len(shown) else i + 2 * polls
            waited = shown[end].t - shown[i].t
            news = DURATION.sub("", shown[i + 1].note).replace(" ()", "").strip()
            looked = _plural(polls + 1, "check")
            lines.append(f"{_clock(shown[i].t):>9}  {shown[i].state:<24} {_duration(waited)}, {looked}: {news}")
            i = end if end > i + 2 * polls else end + 1
            continue
        for period in (1, 2):
            block = keys[i : i + period]
            repeats = 0
            while len(block) == period and keys[i + period * (repeats + 1) : i + period * (repeats + 2)] == block:
                repeats += 1
            if repeats:
                break
        else:
            period = 1
        lines += [_line(e) for e in shown[i : i + period]]
        i += period * (repeats + 1)
        if repeats:
            lines.append(f"{'':>9}  ... {repeats} more, to {_clock(shown[i - 1].t)}")
    return lines


def _polls(entries: list[TimelineEntry], i: int) -> int:
    """How many (wait, look) pairs from ``i`` only say "still waiting": a 'Wait For ...' state, then the state that
    looks, again and again with the same news. The wait after the last of them ends at the look with news."""
    wait = entries[i]
    if not wait.state.startswith("Wait For"):
        return 0
    polls, j, first = 0, i, None
    while j + 2 < len(entries) and entries[j].state == wait.state and entries[j + 1].rollout == wait.rollout:
        news = DURATION.sub("# s", entries[j + 1].note)
        if entries[j + 2].state != wait.state or (first is not None and news != first):
            break
        first, polls, j = news, polls + 1, j + 2
    return polls


def _without_echoes(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """A bake's wait whose note repeats its rollout's previous line (it says what the check before it said)."""
    kept: list[TimelineEntry] = []
    last: dict[str | None, str] = {}
    for entry in entries:
        if entry.state == "Bake" and entry.note and entry.note == last.get(entry.rollout):
            continue
        last[entry.rollout] = entry.note
        kept.append(entry)
    return kept


def _causal(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """A wait ended by a failure (an alarm, a person) is told when it ended: after the alarm that ended it."""
    return sorted(entries, key=lambda e: e.ended if e.failed and e.ended is not None else e.t)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _line(entry: TimelineEntry) -> str:
    at = entry.ended if entry.failed and entry.ended is not None else entry.t
    return f"{_clock(at):>9}  {entry.state:<24} {entry.note}"


def _experiment_lines(x: dict[str, Any]) -> list[str]:
    lines = [f"test      {x['kind']} on {x['metric']}: winner {x['winner']}, decision {x['decision']}"]
    for side in ("baseline", "new"):
        f = x[side]
        rate = "-" if f["error_rate"] is None else f"{f['error_rate']:.3%}"
        latency = "-" if f["latency_ms"] is None else f"{f['latency_ms']:.1f} ms"
        value = "" if f["value"] is None or x["kind"] != "ab_test" else f", judged value {f['value']:.6g}"
        lines.append(
            f"          {side:<8} {'/'.join(f['variants'])}: {f['invocations']} invocations, 5XX {rate}, "
            f"latency {latency}{value}"
        )
    lines.append(f"          {x['reason']}")
    return lines


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"+{minutes:02d}:{secs:02d}"
