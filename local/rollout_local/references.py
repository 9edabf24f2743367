"""A scenario's cross references, checked when it loads: every package, endpoint, config and alarm an entry
names exists by then, keys of ``model_behaviour`` and ``policies`` name something real, and the timeline is in
time order. A mistake is reported on one line, with a suggestion for a typo."""

from __future__ import annotations

import contextlib
import difflib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rollout_local.actions import (
    Approve,
    DeleteConfig,
    DeleteEndpoint,
    Operator,
    PackageEvent,
    SetAlarm,
    SetApproval,
    TimelineEntry,
    UpdateEndpoint,
    UpdateWeights,
)

if TYPE_CHECKING:
    from rollout_local.scenario import Scenario

ROLLOUT_ALARM_PREFIX = "sagemaker-rollout-"  # alarms the service creates; their full names are not known ahead


def new_config_name(entry: UpdateEndpoint, index: int) -> str:
    """The name of the config an ``update_endpoint`` entry with ``variants`` creates."""
    return entry.config or f"{entry.endpoint}-config-t{index}"


@dataclass
class _Known:
    """What exists in the scenario's world, as the timeline is read in order."""

    versions: Counter[str]
    endpoints: set[str]
    configs: set[str]
    alarms: set[str]
    models: set[str]

    def package(self, ref: str) -> str | None:
        group, _, version = ref.rpartition("/")
        if group not in self.versions:
            return f"package {ref}: no version of group '{group}' is registered{_hint(group, self.versions)}"
        if int(version) > self.versions[group]:
            return f"package {ref}: only versions 1-{self.versions[group]} of {group} are registered by then"
        return None

    def endpoint(self, name: str) -> str | None:
        if name in self.endpoints:
            return None
        return f"unknown endpoint '{name}'{_hint(name, self.endpoints)} (known: {', '.join(sorted(self.endpoints))})"


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_scenario(scenario: Scenario) -> None:
    """Raise ValueError (one line) if the scenario refers to something it never creates, or is out of order."""
    problems: list[str] = []
    live = scenario.live_endpoints()
    names = [e.name for e in live]
    if scenario.endpoint is not None and scenario.endpoints:
        problems.append("give 'endpoint' (one endpoint) or 'endpoints' (several), not both")
    problems += [f"endpoints: '{n}' is listed twice" for n in sorted({n for n in names if names.count(n) > 1})]
    approval = scenario.approval
    if scenario.policy is not None and approval is None:
        problems.append("policy: is the approval's group's policy; without an approval use policies: {group: policy}")
    if scenario.policy is not None and approval is not None and approval.group in scenario.policies:
        problems.append(f"policy and policies.{approval.group} both set the approval group's policy: keep one")
    known = _Known(Counter(), set(names) | _policy_targets(scenario), {e.config for e in live}, set(), set())
    for spec in live:
        known.versions[f"{spec.name}-baseline"] += 1  # the live models' package (see Simulation.create_endpoint)
        known.models |= {v.model or f"{spec.name}-{v.name}-model" for v in spec.variants}
    if approval is not None and approval.package_exists:
        known.versions[approval.group] += 1
    known.alarms = {a.name for a in scenario.alarms}
    problems += _check_alarms(scenario, known)
    people = [p.name for p in scenario.everyone()]
    problems += [f"people: '{n}' is listed twice" for n in sorted({n for n in people if people.count(n) > 1})]
    asked = [(f"operator[{i}]", a.as_) for i, a in enumerate(scenario.operator)]
    asked += [(f"timeline[{i}] (operator)", e.as_) for i, e in enumerate(scenario.timeline) if isinstance(e, Operator)]
    for where, name in asked:
        if name is not None and name not in people:
            problems.append(f"{where}: as '{name}' is none of the scenario's people ({', '.join(people)})")
    default_endpoint = endpoint_name_of(scenario)
    if scenario.operator and default_endpoint is None:
        problems.append("operator: the scenario names no endpoint for these commands")
    previous = 0.0
    for index, entry in enumerate(scenario.timeline):
        where = f"timeline[{index}] ({entry.action})"
        if entry.at_seconds < previous:
            problems.append(
                f"{where}: at_seconds {entry.at_seconds:g} comes before the previous entry's {previous:g}; "
                "list the timeline in time order"
            )
        previous = max(previous, entry.at_seconds)
        problems += [f"{where}: {p}" for p in _check_entry(index, entry, known, default_endpoint)]
    problems += _check_behaviours(scenario, known)
    for group in scenario.policies:
        if group not in known.versions:
            problems.append(
                f"policies.{group}: no package of group '{group}' is ever registered{_hint(group, known.versions)}"
            )
    if problems:
        raise ValueError("; ".join(problems))


def _policy_targets(scenario: Scenario) -> set[str]:
    """Endpoints a rollout may create (a first deployment): those the policies and start inputs name."""
    found: set[str] = set()
    sources: list[Any] = list(scenario.all_policies().values())
    with contextlib.suppress(json.JSONDecodeError):  # a broken DefaultPolicy is the service's to refuse (PolicyError)
        sources.append(json.loads(scenario.stack.get("DefaultPolicy", "{}")))
    target = approval_target(scenario)
    if target:
        found.add(target)
    for entry in scenario.timeline:
        if isinstance(entry, Approve):
            sources.append({"endpoint_name": entry.metadata.get("rollout:endpoint_name")})
        if isinstance(entry, Operator) and entry.command == "start":
            sources += [{"endpoint_name": entry.endpoint}, entry.policy or {}]
    found |= {s["endpoint_name"] for s in sources if isinstance(s, dict) and isinstance(s.get("endpoint_name"), str)}
    return found


def _check_alarms(scenario: Scenario, known: _Known) -> list[str]:
    problems = []
    several = len(scenario.live_endpoints()) > 1
    for index, alarm in enumerate(scenario.alarms):
        if alarm.endpoint is not None and (problem := known.endpoint(alarm.endpoint)):
            problems.append(f"alarms[{index}] ({alarm.name}): {problem}")
        if alarm.metric and alarm.endpoint is None and several:
            problems.append(f"alarms[{index}] ({alarm.name}): name its 'endpoint' (the scenario has several)")
    return problems


def _check_entry(index: int, entry: TimelineEntry, known: _Known, default_endpoint: str | None) -> list[str]:
    """Problems of one entry; records what it creates in ``known``."""
    problems: list[str | None] = []
    if isinstance(entry, Approve):
        if entry.group is not None:
            known.versions[entry.group] += 1
        else:
            problems.append(known.package(entry.package or ""))
    elif isinstance(entry, SetApproval | PackageEvent):
        problems.append(known.package(entry.package))
    elif isinstance(entry, Operator):
        endpoint = entry.endpoint or default_endpoint
        if entry.command != "start" and endpoint is None:
            problems.append("name the 'endpoint' (the scenario has no default)")
        elif entry.command != "start" and endpoint is not None:
            problems.append(known.endpoint(endpoint))
        if entry.package is not None:
            problems.append(known.package(entry.package))
    elif isinstance(entry, UpdateEndpoint):
        problems.append(known.endpoint(entry.endpoint))
        if entry.variants:
            name = new_config_name(entry, index)
            if name in known.configs:
                problems.append(f"config '{name}' exists already; name the new config differently")
            known.configs.add(name)
            for variant in entry.variants:
                model = variant.model or f"{entry.endpoint}-{variant.name}-model"
                if variant.package is not None:
                    problems.append(known.package(variant.package))
                elif model not in known.models and f"{entry.endpoint}-baseline" not in known.versions:
                    problems.append(f"variant {variant.name}: model {model} does not exist; give its 'package'")
                known.models.add(model)
        elif entry.config not in known.configs:
            problems.append(_unknown_config(entry.config or "", known))
    elif isinstance(entry, UpdateWeights | DeleteEndpoint):
        problems.append(known.endpoint(entry.endpoint))
    elif isinstance(entry, DeleteConfig):
        if entry.endpoint is not None:
            problems.append(known.endpoint(entry.endpoint))
        elif entry.config not in known.configs:
            problems.append(_unknown_config(entry.config or "", known))
    elif isinstance(entry, SetAlarm) and not (
        entry.alarm in known.alarms or entry.alarm.startswith(ROLLOUT_ALARM_PREFIX)
    ):
        problems.append(
            f"unknown alarm '{entry.alarm}'{_hint(entry.alarm, known.alarms)}: declare it under 'alarms' "
            f"(or name one the service creates, {ROLLOUT_ALARM_PREFIX}...)"
        )
    return [p for p in problems if p]


def _service_alarm(name: str) -> bool:
    return name.startswith(ROLLOUT_ALARM_PREFIX)


def _unknown_config(name: str, known: _Known) -> str:
    return (
        f"unknown config '{name}'{_hint(name, known.configs)}; a config the service created is reached "
        "through 'endpoint' (the config it serves at that moment)"
    )


def _check_behaviours(scenario: Scenario, known: _Known) -> list[str]:
    problems = []
    for key in scenario.model_behaviour:
        if key in ("baseline", "new") or key in known.versions or key in known.models:
            continue
        group, _, version = key.rpartition("/")
        if group and version.isdigit() and known.package(key) is None:
            continue
        choices = ["baseline", "new", *known.versions, *known.models]
        problems.append(
            f"model_behaviour.{key}: not 'baseline', 'new', a registered group or group/version, nor a model the "
            f"scenario names{_hint(key, choices)}"
        )
    return problems


def endpoint_name_of(scenario: Scenario) -> str | None:
    """The endpoint a scenario is about: its only live endpoint, the one its approval targets, or the first."""
    live = scenario.live_endpoints()
    if len(live) == 1:
        return live[0].name
    target = approval_target(scenario)
    if live and target not in {e.name for e in live}:
        return live[0].name
    return target


def approval_target(scenario: Scenario) -> str | None:
    """The endpoint the initial approval names (manual input, package metadata, or its group's policy)."""
    approval = scenario.approval
    if approval is None:
        return None
    manual = approval.manual or {}
    for source in (
        manual,
        manual.get("policy") or {},
        {"endpoint_name": approval.metadata.get("rollout:endpoint_name")},
        scenario.all_policies().get(approval.group) or {},
    ):
        if isinstance(source, dict) and isinstance(source.get("endpoint_name"), str):
            return str(source["endpoint_name"])
    return None
