"""The scenario timeline: what the outside world does while rollouts run, at exact simulated times.

``check_scenario`` checks a scenario's cross references when it loads (every package, endpoint, config and alarm
an entry names exists by then; entries are in time order), so a typo is a one-line error instead of a run that
silently does something else. ``Timeline.perform`` does one entry the way the outside world would: data
scientists through the model registry (whose changes SageMaker announces on EventBridge), people through the
`rollout` CLI's code, other teams through SageMaker and CloudWatch. None of it runs inside a handler, so none of
it counts as the service's calls.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rollout_local.emulator.sagemaker import ACCOUNT, REGION
from rollout_local.scenario import (
    Approve,
    DeleteConfig,
    DeleteEndpoint,
    Operator,
    PackageEvent,
    Scenario,
    SetAlarm,
    SetApproval,
    TimelineEntry,
    UpdateEndpoint,
    UpdateWeights,
    approval_target,
    endpoint_name_of,
)

if TYPE_CHECKING:
    from rollout_local.simulator import Simulation

ROLLOUT_ALARM_PREFIX = "sagemaker-rollout-"  # alarms the service creates; their full names are not known ahead
EVENT_IDS = uuid.UUID("6f1d2c7e-3b1a-4c55-9d7e-1a2b3c4d5e6f")  # namespace of the simulated events' ids


# --- checks when the scenario loads ------------------------------------------------------------------------------


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
    import difflib

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
    try:
        sources.append(json.loads(scenario.stack.get("DefaultPolicy", "{}")))
    except json.JSONDecodeError:
        pass
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
    elif isinstance(entry, SetAlarm) and entry.alarm not in known.alarms:
        if not entry.alarm.startswith(ROLLOUT_ALARM_PREFIX):
            problems.append(
                f"unknown alarm '{entry.alarm}'{_hint(entry.alarm, known.alarms)}: declare it under 'alarms' "
                f"(or name one the service creates, {ROLLOUT_ALARM_PREFIX}...)"
            )
    return [p for p in problems if p]


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


# --- doing it ----------------------------------------------------------------------------------------------------


class ActionReport(BaseModel):
    """What one timeline entry did."""

    t: float = Field(description="simulated seconds since the start")
    action: str
    summary: str
    error: str | None = Field(default=None, description="the error AWS answered (the entry then changed nothing)")


def package_state_change(described: dict[str, Any], now: datetime, event_id: str) -> dict[str, Any]:
    """``SageMaker Model Package State Change`` as SageMaker emits it, from DescribeModelPackage's answer."""
    detail: dict[str, Any] = {}
    for key in (
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageName",
        "CreationTime",
        "LastModifiedTime",
        "InferenceSpecification",
        "ModelPackageStatus",
        "ModelApprovalStatus",
        "ApprovalDescription",
        "CustomerMetadataProperties",
    ):
        value = described.get(key)
        if isinstance(value, datetime):  # epoch milliseconds, as in the documented example
            value = int(value.timestamp() * 1000)
        if value not in (None, {}, ""):
            detail[key] = value
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [described["ModelPackageArn"]],
        "detail": detail,
    }


class Timeline:
    """Performs timeline entries against a running simulation, as the outside world."""

    def __init__(self, simulation: Simulation) -> None:
        self.sim = simulation
        self.reports: list[ActionReport] = []
        self.operator_results: list[dict[str, Any]] = []

    def perform(self, index: int, entry: TimelineEntry) -> ActionReport:
        """Do ``entry`` now; an AWS error is the entry's result (reported), never the simulation's failure."""
        from botocore.exceptions import ClientError

        sim = self.sim
        at = sim.clock.elapsed()
        try:
            summary, error = self._do(index, entry), None
        except ClientError as exc:
            summary = f"{entry.action} refused"
            error = f"{exc.response['Error'].get('Code')}: {exc.response['Error'].get('Message')}"
        except LookupError as exc:
            summary, error = f"{entry.action} found nothing to act on", str(exc)
        report = ActionReport(t=at, action=entry.action, summary=summary, error=error)
        self.reports.append(report)
        return report

    def _do(self, index: int, entry: TimelineEntry) -> str:
        sim = self.sim
        if isinstance(entry, Approve):
            if entry.group is not None:
                arn = sim.create_package(entry.group, "PendingManualApproval", entry.metadata or None, announce=True)
            else:
                arn = sim.package_arn(entry.package or "")
            sim.set_package_status(arn, "Approved", entry.description, entry.duplicates)
            return f"{_ref(sim, arn)} approved"
        if isinstance(entry, SetApproval):
            arn = sim.package_arn(entry.package)
            sim.set_package_status(arn, entry.status, entry.description, entry.duplicates)
            return f"{entry.package} set to {entry.status}"
        if isinstance(entry, PackageEvent):
            arn = sim.package_arn(entry.package)
            if entry.metadata:
                sim.outside.sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=entry.metadata)
            status = sim.announce_package(arn, entry.duplicates)
            return f"{entry.package} changed without an approval change (still {status})"
        if isinstance(entry, Operator):
            return self._operator(entry)
        if isinstance(entry, UpdateEndpoint):
            return self._update_endpoint(index, entry)
        if isinstance(entry, UpdateWeights):
            counts = {v: {"DesiredInstanceCount": n} for v, n in entry.instance_counts.items()}
            desired = {v: {"DesiredWeight": w} for v, w in entry.weights.items()}
            for variant, value in counts.items():
                desired.setdefault(variant, {}).update(value)
            sim.outside.sm.update_endpoint_weights_and_capacities(
                EndpointName=entry.endpoint,
                DesiredWeightsAndCapacities=[{"VariantName": v, **d} for v, d in desired.items()],
            )
            shown = ", ".join(f"{v} {_desired(d)}" for v, d in desired.items())
            return f"someone else set {entry.endpoint}'s {shown}"
        if isinstance(entry, SetAlarm):
            old = sim.world.set_alarm_state(entry.alarm, entry.state, entry.reason)
            return f"alarm {entry.alarm} set from {old} to {entry.state}: {entry.reason}"
        if isinstance(entry, DeleteEndpoint):
            sim.outside.sm.delete_endpoint(EndpointName=entry.endpoint)
            return f"someone else deleted endpoint {entry.endpoint}"
        config = entry.config or sim.outside.sm.describe_endpoint(EndpointName=entry.endpoint)["EndpointConfigName"]
        sim.outside.sm.delete_endpoint_config(EndpointConfigName=config)
        return f"someone else deleted endpoint config {config}"

    def _operator(self, entry: Operator) -> str:
        from rollout_local import operate

        sim = self.sim
        session, stack = sim.outside.session, sim.stack_info()
        endpoint = entry.endpoint or endpoint_name_of(sim.scenario) or ""
        if entry.command == "start":
            arn = operate.start(
                session, stack, sim.package_arn(entry.package or ""), entry.endpoint, entry.policy, sim.next_name()
            )
            sim.track(arn)
            result = operate.Steered(True, arn.rsplit(":", 1)[-1], f"{entry.by} started {arn}")
        elif entry.command in ("approve", "reject"):
            reject = entry.command == "reject"
            result = operate.approve(session, stack, endpoint, entry.by, entry.reason, reject)
        elif entry.command == "abort":
            result = operate.abort(session, stack, endpoint, entry.by, entry.reason)
        else:
            result = operate.promote(session, stack, endpoint, entry.by)
        self.operator_results.append({"t": sim.clock.elapsed(), "action": entry.command, **result.as_dict()})
        return f"{entry.by}: rollout {entry.command} {endpoint or ''}".rstrip() + f" -> {result.message}"

    def _update_endpoint(self, index: int, entry: UpdateEndpoint) -> str:
        sim = self.sim
        sm = sim.outside.sm
        if not entry.variants:
            sm.update_endpoint(EndpointName=entry.endpoint, EndpointConfigName=entry.config or "")
            return f"someone else updated {entry.endpoint} to config {entry.config}"
        name = new_config_name(entry, index)
        variants = []
        for variant in entry.variants:
            model = variant.model or f"{entry.endpoint}-{variant.name}-model"
            if model not in sim.sagemaker.models:
                ref = variant.package or f"{entry.endpoint}-baseline/1"
                sm.create_model(
                    ModelName=model,
                    ExecutionRoleArn=sim.stack.role_arn,
                    Containers=[{"ModelPackageName": sim.package_arn(ref)}],
                )
            variants.append(sim.production_variant(variant, model))
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **entry.config_extras)
        sm.update_endpoint(EndpointName=entry.endpoint, EndpointConfigName=name)
        return f"someone else updated {entry.endpoint} to a new config {name}"


def _desired(values: dict[str, float | int]) -> str:
    parts = []
    if "DesiredWeight" in values:
        parts.append(f"weight {values['DesiredWeight']:g}")
    if "DesiredInstanceCount" in values:
        parts.append(f"{values['DesiredInstanceCount']} instances")
    return " and ".join(parts)


def _ref(sim: Simulation, arn: str) -> str:
    package = sim.sagemaker.packages.get(arn, {})
    return f"{package.get('ModelPackageGroupName', '?')}/{package.get('ModelPackageVersion', '?')}"


def event_id(arn: str, number: int) -> str:
    """A deterministic event id (the same scenario yields the same ids, so reports can be compared)."""
    return str(uuid.uuid5(EVENT_IDS, f"{arn}#{number}"))
