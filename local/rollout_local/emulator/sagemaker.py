"""The SageMaker that moto lacks: model packages, models, endpoint configs and endpoints with AWS's rules.

Status transitions take simulated minutes (Creating/Updating -> InService), updates are accepted only while
InService, names follow SageMaker's pattern, a config holds 1 to 10 production variants (or exactly one
production and one shadow variant), the feature exclusions of ``exclusions.py`` are refused, and faults from a
scenario can make an update fail, revert, hang, or - under guardrails - fail together with its rollback
(``UpdateRollbackFailed``: the endpoint keeps serving from both fleets and accepts only DeleteEndpoint).
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rollout_local.emulator.exclusions import config_refusal, update_refusal
from rollout_local.emulator.faults import Fault
from rollout_local.emulator.guardrails import GuardedUpdate, GuardrailError, plan_update

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ACCOUNT = "123456789012"
REGION = "us-east-1"
# statuses in which an endpoint takes requests (UpdateRollbackFailed: "in service with a mix of the old and new
# endpoint configurations")
SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})


class ApiError(Exception):
    """An AWS error response: the code botocore raises as ClientError, and its message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _invalid(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def _upper_snake(status: str) -> str:
    """EndpointStatus as SageMaker's events spell it: ``InService`` -> ``IN_SERVICE``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", status).upper()


def _epoch_ms(moment: datetime) -> float:
    return float(int(moment.timestamp() * 1000))


class Timings(BaseModel):
    """How long SageMaker takes, in simulated seconds."""

    model_config = ConfigDict(extra="forbid")

    create_endpoint_seconds: int = Field(default=360, ge=1)
    update_endpoint_seconds: int = Field(default=480, ge=1)
    update_weights_seconds: int = Field(default=60, ge=1)
    delete_endpoint_seconds: int = Field(default=60, ge=1)


@dataclass
class Pending:
    kind: str  # create | update | weights | delete
    completes_at: datetime
    config_name: str | None = None
    weights: dict[str, tuple[float, int]] | None = None
    end_status: str = "InService"
    failure_reason: str | None = None


@dataclass
class Endpoint:
    name: str
    config_name: str
    status: str
    created: datetime
    modified: datetime
    live: dict[str, tuple[float, int | None]] = field(default_factory=dict)  # variant -> (weight, instances)
    failure_reason: str | None = None
    pending: Pending | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    shadows: dict[str, tuple[float, int | None]] = field(default_factory=dict)  # shadow variant -> (weight, count)
    guarded: GuardedUpdate | None = None


@dataclass(frozen=True)
class Route:
    """Where a share of an endpoint's requests goes: a variant's fleet (blue or green), or a shadow's copy."""

    variant: str
    model: str
    share: float
    fleet: str = ""  # "" for a plain variant, "green" during a guardrail update, "shadow" for a copy


class SageMakerEmulator:
    """In-memory SageMaker for the operations the rollout service and the simulator use."""

    def __init__(
        self,
        now: Callable[[], datetime],
        timings: Timings | None = None,
        is_scalable: Callable[[str, str], bool] | None = None,
        alarm_states: Callable[[list[str]], dict[str, str]] | None = None,
    ) -> None:
        self._now = now
        self.is_scalable = is_scalable or (lambda endpoint, variant: False)
        self.alarm_states = alarm_states or (lambda names: {})
        self.timings = timings or Timings()
        self.groups: dict[str, dict[str, Any]] = {}
        self.packages: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.config_tags: dict[str, list[dict[str, str]]] = {}  # DescribeEndpointConfig does not return tags
        self.endpoints: dict[str, Endpoint] = {}
        self._outcome: Callable[[], Fault | None] = lambda: None  # the scenario's say on the call in progress
        self.changes: list[tuple[datetime, str, str, dict[str, float] | str]] = []  # (at, operation, endpoint, what)
        self.lock = threading.RLock()  # executions' handlers and the world's ticker call in from several threads
        # SageMaker's EventBridge events: ``on_event`` puts one on the bus; ``wake_at`` asks the simulation to settle
        # the emulator at a moment a transition is due, so each event leaves at the transition's own time.
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self.wake_at: Callable[[datetime], None] | None = None
        self._announced: dict[str, tuple[str, str | None]] = {}  # endpoint -> (status, deployment stage) last sent
        self._wakes: set[tuple[str, datetime]] = set()

    # --- dispatch ----------------------------------------------------------------------------------------

    def handles(self, operation: str) -> bool:
        return hasattr(self, f"op_{operation}")

    def call(
        self, operation: str, params: dict[str, Any], outcome: Callable[[], Fault | None] | None = None
    ) -> dict[str, Any]:
        """One API call. ``outcome`` is asked, once the operation is accepted, whether a scenario fault decides
        how it ends (a workflow call may meet one; the simulator's own calls never do)."""
        with self.lock:
            self.settle()
            self._outcome = outcome or (lambda: None)
            try:
                result: dict[str, Any] = getattr(self, f"op_{operation}")(params)
            finally:
                self._outcome = lambda: None
                self._announce()
            return result

    def traffic_routes(self) -> dict[str, list[Route]]:
        """Per serving endpoint, where its requests go: each variant by live weight (split between the blue and
        green fleets during a guardrail update), and the sampled copies its shadow variants get."""
        routes: dict[str, list[Route]] = {}
        with self.lock:
            self.settle()
            now = self._now()
            for endpoint in self.endpoints.values():
                if endpoint.status not in SERVING:
                    continue
                config = self.configs.get(endpoint.config_name, {})
                specs = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
                total = sum(w for w, _ in endpoint.live.values())
                if total <= 0:
                    continue
                guarded = endpoint.guarded
                green_specs: dict[str, Any] = {}
                green = guarded.green(now) if guarded is not None else 0.0
                if guarded is not None:
                    new = self.configs.get(guarded.new_config, {})
                    green_specs = {v["VariantName"]: v for v in new.get("ProductionVariants", [])}
                found: list[Route] = []
                for variant, (weight, _) in endpoint.live.items():
                    share = weight / total
                    if weight <= 0:
                        continue
                    model = specs.get(variant, {}).get("ModelName", "")
                    green_model = green_specs.get(variant, {}).get("ModelName")
                    if green > 0 and green_model:
                        found.append(Route(variant, green_model, share * green, "green"))
                        if green < 1:
                            found.append(Route(variant, model, share * (1 - green)))
                    else:
                        found.append(Route(variant, model, share))
                shadow_specs = {v["VariantName"]: v for v in config.get("ShadowProductionVariants", [])}
                for variant, (weight, _) in endpoint.shadows.items():
                    sampled = min(1.0, weight / total)
                    found.append(Route(variant, shadow_specs.get(variant, {}).get("ModelName", ""), sampled, "shadow"))
                routes[endpoint.name] = found
        return routes

    def capture_config(self, name: str) -> dict[str, Any]:
        """The DataCaptureConfig of the endpoint's current config ({} without one)."""
        endpoint = self.endpoints.get(name)
        config = self.configs.get(endpoint.config_name, {}) if endpoint is not None else {}
        return dict(config.get("DataCaptureConfig") or {})

    def invocation_target(self, name: str, variant: str | None, pick: float) -> tuple[str, str, dict[str, Any]]:
        """Where an InvokeEndpoint goes: (variant, model, the config's DataCaptureConfig or {}). ``variant`` is the
        request's TargetVariant - any production variant, weight 0 included (AWS's way to test a variant before
        it gets traffic); without it the live weights decide, ``pick`` in [0, 1) standing for AWS's random draw.
        Shadow variants cannot be targeted (they are no production variant; stricter than unsure)."""
        with self.lock:
            self.settle()
            endpoint = self.endpoints.get(name)
            if endpoint is None or endpoint.status not in SERVING:
                state = "not found" if endpoint is None else f"in status {endpoint.status}"
                raise ApiError("ValidationError", f"Endpoint {name} of account {ACCOUNT} {state}.")
            config = self.configs.get(endpoint.config_name, {})
            models = {v["VariantName"]: v.get("ModelName", "") for v in config.get("ProductionVariants", [])}
            capture = dict(config.get("DataCaptureConfig") or {})
            if variant is not None:
                if variant not in endpoint.live or variant not in models:
                    raise ApiError(
                        "ValidationError",
                        f"The variant {variant} is not a production variant of endpoint {name} "
                        f"(variants: {', '.join(sorted(endpoint.live))}); TargetVariant must name one.",
                    )
                return variant, models[variant], capture
            total = sum(w for w, _ in endpoint.live.values())
            if total <= 0:
                raise ApiError("ValidationError", f"Endpoint {name} has no variant with traffic weight above 0.")
            point = pick * total
            for candidate, (weight, _) in sorted(endpoint.live.items()):
                if weight <= 0:
                    continue
                if point < weight:
                    return candidate, models.get(candidate, ""), capture
                point -= weight
            last = max((v for v, (w, _) in endpoint.live.items() if w > 0))
            return last, models.get(last, ""), capture

    # --- time --------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Apply every transition whose time has come (and send SageMaker's events for them)."""
        with self.lock:
            self._settle()
            self._announce()

    # --- SageMaker's events --------------------------------------------------------------------------------

    def _stage(self, endpoint: Endpoint, now: datetime) -> str | None:
        """The deployment stage of a guarded update in flight (what its Deployment State Change events tell)."""
        if endpoint.guarded is None or endpoint.pending is None or endpoint.pending.kind not in ("update", "rollback"):
            return None
        status, message = endpoint.guarded.stage(now)
        return f"{status}: {message}"

    def _announce(self) -> None:
        """Send an event for every endpoint whose status (or guarded deployment stage) changed since the last one,
        and ask to be settled when its next transition is due."""
        now = self._now()
        for name in [n for n in self._announced if n not in self.endpoints]:
            del self._announced[name]  # deleted: SageMaker's documents show no event for the end of a deletion
        for name, endpoint in self.endpoints.items():
            stage = self._stage(endpoint, now)
            last = self._announced.get(name)
            self._announced[name] = (endpoint.status, stage)
            if self.on_event is not None and last != (endpoint.status, stage):
                if last is None or last[0] != endpoint.status:
                    self.on_event(self._event(endpoint, "SageMaker Endpoint State Change", now))
                if stage is not None and (last is None or last[1] != stage):
                    self.on_event(self._event(endpoint, "SageMaker Endpoint Deployment State Change", now))
            due = self._next_transition(endpoint, now)
            if due is not None and self.wake_at is not None and (name, due) not in self._wakes:
                self._wakes.add((name, due))
                self.wake_at(due)

    @staticmethod
    def _next_transition(endpoint: Endpoint, now: datetime) -> datetime | None:
        """When the endpoint's status or deployment stage next changes by itself (None: not by itself)."""
        pending = endpoint.pending
        if pending is None:
            return None
        moments = [pending.completes_at]
        guarded = endpoint.guarded
        if guarded is not None and guarded.rolled_back_at is None and not guarded.hung:
            offsets = [guarded.provisioned_after, *(at for at, _ in guarded.shifts), guarded.done_after - 1]
            moments += [guarded.started + timedelta(seconds=offset) for offset in offsets]
        future = [moment for moment in moments if moment > now]
        return min(future) if future else None

    def _event(self, endpoint: Endpoint, detail_type: str, now: datetime) -> dict[str, Any]:
        """The event as SageMaker sends it ("Events that Amazon SageMaker AI sends to Amazon EventBridge"): the
        endpoint as DescribeEndpoint tells it, EndpointStatus in upper snake case, times in epoch milliseconds."""
        described = self.op_DescribeEndpoint({"EndpointName": endpoint.name})
        detail: dict[str, Any] = {
            key: value for key, value in described.items() if key not in ("CreationTime", "LastModifiedTime")
        }
        detail["EndpointStatus"] = _upper_snake(endpoint.status)
        detail["CreationTime"] = _epoch_ms(endpoint.created)
        detail["LastModifiedTime"] = _epoch_ms(endpoint.modified)
        detail["Tags"] = {tag["Key"]: tag["Value"] for tag in endpoint.tags}
        summary = detail.get("PendingDeploymentSummary")
        if summary is not None:
            summary["StartTime"] = _epoch_ms(summary["StartTime"])
            for variant in summary.get("ProductionVariants", []):
                for status in variant.get("VariantStatus", []):
                    status["StartTime"] = _epoch_ms(now)
        if detail_type == "SageMaker Endpoint Deployment State Change":
            time = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:  # the documented sample of this event carries its time as epoch milliseconds, in a string
            time = str(int(_epoch_ms(now)))
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "time": time,
            "region": REGION,
            "resources": [described["EndpointArn"]],
            "detail": detail,
        }

    def _settle(self) -> None:
        now = self._now()
        for name in list(self.endpoints):
            endpoint = self.endpoints[name]
            if endpoint.guarded is not None and endpoint.pending is not None:
                self._guard(endpoint, endpoint.guarded, endpoint.pending, now)
            pending = endpoint.pending
            if pending is None or pending.completes_at > now:
                continue
            endpoint.pending, endpoint.modified = None, pending.completes_at
            if pending.kind == "delete":
                del self.endpoints[name]
                continue
            if pending.end_status in ("Creating", "Updating"):
                continue  # a hung operation never completes
            if pending.end_status != "UpdateRollbackFailed":  # a failed rollback leaves both fleets serving
                endpoint.guarded = None
            if pending.end_status == "InService" and pending.failure_reason is None:
                if pending.config_name:
                    endpoint.config_name = pending.config_name
                    endpoint.live = self._live_from_config(pending.config_name)
                    endpoint.shadows = self._live_from_config(pending.config_name, "ShadowProductionVariants")
                if pending.weights:
                    for variant, (weight, count) in pending.weights.items():
                        endpoint.live[variant] = (weight, count)
                endpoint.failure_reason = None
            else:
                endpoint.failure_reason = pending.failure_reason
            endpoint.status = pending.end_status

    def _live_from_config(
        self, config_name: str, kind: str = "ProductionVariants"
    ) -> dict[str, tuple[float, int | None]]:
        return {
            v["VariantName"]: (float(v.get("InitialVariantWeight", 1.0)), v.get("InitialInstanceCount"))
            for v in self.configs[config_name].get(kind, [])
        }

    def _guard(self, endpoint: Endpoint, guarded: GuardedUpdate, pending: Pending, now: datetime) -> None:
        """SageMaker watching its own deployment: a failed green fleet, an alarm, or the timeout roll it back."""
        if guarded.rolled_back_at is not None or guarded.hung:
            return
        started, why, at, fleet_failed = guarded.started, "", now, False
        provisioned = started + timedelta(seconds=guarded.provisioned_after)
        deadline = started + timedelta(seconds=guarded.timeout)
        done = started + timedelta(seconds=guarded.done_after)
        first_shift = started + timedelta(seconds=guarded.shifts[0][0]) if guarded.shifts else done
        if guarded.fails_with is not None and now >= provisioned:
            why, at, fleet_failed = f"the new fleet failed: {guarded.fails_with}", provisioned, True
        elif guarded.rollback_fails_with is not None and now >= first_shift:
            why, at = f"the new fleet failed in its first bake: {guarded.rollback_fails_with}", first_shift
        elif now >= deadline and deadline < done:
            why, at = f"MaximumExecutionTimeoutInSeconds={guarded.timeout} reached", deadline
        elif guarded.alarms and guarded.shifts and started + timedelta(seconds=guarded.shifts[0][0]) <= now < done:
            firing = sorted(n for n, state in self.alarm_states(guarded.alarms).items() if state == "ALARM")
            if firing:
                why = f"alarm {', '.join(firing)} in ALARM"
        if not why:
            return
        guarded.rolled_back_at, guarded.rollback_reason = at, why
        self.changes.append((at, "GuardrailRollback", endpoint.name, why))
        pending.kind, pending.config_name = "rollback", None
        pending.completes_at = at + timedelta(seconds=guarded.rollback_seconds)  # at: when it happened
        pending.end_status = "InService"
        pending.failure_reason = guarded.fails_with if fleet_failed else None
        endpoint.failure_reason = None
        if guarded.rollback_fails_with is not None:  # the rollback fails: traffic stays split between the fleets
            guarded.stuck_share = guarded.shifts[0][1]
            pending.end_status = "UpdateRollbackFailed"
            pending.failure_reason = guarded.rollback_fails_with
            stuck = (
                f"the rollback failed: {guarded.stuck_share:.0%} of traffic stays on {guarded.new_config} and the "
                f"rest on {guarded.old_config} (UpdateRollbackFailed)"
            )
            self.changes.append((pending.completes_at, "GuardrailRollback", endpoint.name, stuck))

    def _schedule(self, endpoint: Endpoint, pending: Pending) -> None:
        fault = self._outcome()
        if fault is not None and fault.duration_seconds:
            pending.completes_at = endpoint.modified + timedelta(seconds=fault.duration_seconds)
        if fault is not None and fault.endpoint_status_after:
            pending.end_status = fault.endpoint_status_after
            if fault.endpoint_status_after in ("Failed", "InService"):
                pending.failure_reason = fault.failure_reason
        endpoint.pending = pending

    # --- names and lookups -------------------------------------------------------------------------------

    @staticmethod
    def _check_name(kind: str, name: str) -> None:
        if not NAME.match(name or ""):
            raise _invalid(
                f"1 validation error detected: Value '{name}' at '{kind}' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            )

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise _invalid(f'Could not find endpoint "{self._arn("endpoint", name)}".')
        return endpoint

    def _config(self, name: str) -> dict[str, Any]:
        config = self.configs.get(name)
        if config is None:
            raise _invalid(f'Could not find endpoint configuration "{self._arn("endpoint-config", name)}".')
        return config

    # --- model registry ----------------------------------------------------------------------------------

    def op_CreateModelPackageGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["ModelPackageGroupName"]
        if name in self.groups:
            raise _invalid(f"Model Package Group {name} already exists.")
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name.lower()}"
        self.groups[name] = {"ModelPackageGroupName": name, "ModelPackageGroupArn": arn, "versions": 0}
        return {"ModelPackageGroupArn": arn}

    def op_CreateModelPackage(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self.groups.get(p.get("ModelPackageGroupName", ""))
        if group is None:
            raise _invalid(f"Model Package Group {p.get('ModelPackageGroupName')} does not exist.")
        group["versions"] += 1
        version = group["versions"]
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group['ModelPackageGroupName'].lower()}/{version}"
        self.packages[arn] = {
            "ModelPackageName": group["ModelPackageGroupName"],
            "ModelPackageGroupName": group["ModelPackageGroupName"],
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": p.get("ModelApprovalStatus", "PendingManualApproval"),
            "InferenceSpecification": p.get("InferenceSpecification", {}),
            "CustomerMetadataProperties": dict(p.get("CustomerMetadataProperties", {})),
            "CreationTime": self._now(),
            "LastModifiedTime": self._now(),
        }
        return {"ModelPackageArn": arn}

    def _package(self, name_or_arn: str) -> dict[str, Any]:
        package = self.packages.get(name_or_arn)
        if package is None:
            raise _invalid(f"ModelPackage {name_or_arn} does not exist.")
        return package

    def op_DescribeModelPackage(self, p: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self._package(p["ModelPackageName"]))

    def op_UpdateModelPackage(self, p: dict[str, Any]) -> dict[str, Any]:
        package = self._package(p["ModelPackageArn"])
        for key in ("ModelApprovalStatus", "ApprovalDescription"):
            if key in p:
                package[key] = p[key]
        package["CustomerMetadataProperties"].update(p.get("CustomerMetadataProperties", {}))
        package["LastModifiedTime"] = self._now()
        return {"ModelPackageArn": package["ModelPackageArn"]}

    # --- models ------------------------------------------------------------------------------------------

    def op_CreateModel(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["ModelName"]
        self._check_name("modelName", name)
        if name in self.models:
            raise _invalid(f'Cannot create already existing model "{self._arn("model", name)}".')
        containers = p.get("Containers") or ([p["PrimaryContainer"]] if "PrimaryContainer" in p else [])
        if not containers:
            raise _invalid("Either PrimaryContainer or Containers must be provided.")
        for container in containers:
            if "ModelPackageName" in container:
                self._package(container["ModelPackageName"])
        self.models[name] = {
            "ModelName": name,
            "ModelArn": self._arn("model", name),
            "ExecutionRoleArn": p["ExecutionRoleArn"],
            "Containers": copy.deepcopy(containers),
            "CreationTime": self._now(),
            "Tags": p.get("Tags", []),
        }
        return {"ModelArn": self.models[name]["ModelArn"]}

    def op_DescribeModel(self, p: dict[str, Any]) -> dict[str, Any]:
        model = self.models.get(p["ModelName"])
        if model is None:
            raise _invalid(f'Could not find model "{self._arn("model", p["ModelName"])}".')
        return {k: v for k, v in model.items() if k != "Tags"}

    def op_DeleteModel(self, p: dict[str, Any]) -> dict[str, Any]:
        self.op_DescribeModel(p)
        del self.models[p["ModelName"]]
        return {}

    # --- endpoint configs --------------------------------------------------------------------------------

    def op_CreateEndpointConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        self._check_name("endpointConfigName", name)
        if name in self.configs:
            raise _invalid(
                f'Cannot create already existing endpoint configuration "{self._arn("endpoint-config", name)}".'
            )
        variants = p.get("ProductionVariants", [])
        shadows = p.get("ShadowProductionVariants", [])
        if not 1 <= len(variants) <= 10:
            raise _invalid("ProductionVariants must hold 1 to 10 variants.")
        if shadows and (len(variants) != 1 or len(shadows) != 1):
            raise _invalid(
                "An endpoint config with ShadowProductionVariants must have exactly one production variant "
                "and one shadow variant."
            )
        seen: set[str] = set()
        for variant in [*variants, *shadows]:
            vname = variant["VariantName"]
            self._check_name("variantName", vname)
            if vname in seen:
                raise _invalid(f"Variant name {vname} is used more than once; variant names must be unique.")
            seen.add(vname)
            if variant["ModelName"] not in self.models:
                raise _invalid(f'Could not find model "{self._arn("model", variant["ModelName"])}".')
            serverless = "ServerlessConfig" in variant
            instances = "InstanceType" in variant or "InitialInstanceCount" in variant
            if serverless == instances or (
                instances and not ("InstanceType" in variant and "InitialInstanceCount" in variant)
            ):
                raise _invalid(
                    f"Variant {vname} must specify either InstanceType and InitialInstanceCount, or ServerlessConfig."
                )
        refusal = config_refusal(p, self.models, self._containers_of)
        if refusal:
            raise _invalid(refusal)
        stored = {k: copy.deepcopy(v) for k, v in p.items() if k != "Tags"}
        stored["EndpointConfigArn"] = self._arn("endpoint-config", name)
        stored["CreationTime"] = self._now()
        for variant in stored["ProductionVariants"]:
            variant.setdefault("InitialVariantWeight", 1.0)
        self.configs[name] = stored
        self.config_tags[name] = list(p.get("Tags", []))
        return {"EndpointConfigArn": stored["EndpointConfigArn"]}

    def _containers_of(self, container: dict[str, Any]) -> int:
        """How many containers one container entry stands for: a registry package brings its own."""
        package = self.packages.get(container.get("ModelPackageName", ""))
        if package is None:
            return 1
        return max(1, len(package.get("InferenceSpecification", {}).get("Containers", [])))

    def op_DescribeEndpointConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self._config(p["EndpointConfigName"]))

    def op_DeleteEndpointConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        self._config(p["EndpointConfigName"])
        del self.configs[p["EndpointConfigName"]]
        self.config_tags.pop(p["EndpointConfigName"], None)
        return {}

    # --- endpoints ---------------------------------------------------------------------------------------

    def op_CreateEndpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        name, config_name = p["EndpointName"], p["EndpointConfigName"]
        self._check_name("endpointName", name)
        if name in self.endpoints:
            raise _invalid(f'Cannot create already existing endpoint "{self._arn("endpoint", name)}".')
        self._config(config_name)
        now = self._now()
        endpoint = Endpoint(
            name=name, config_name=config_name, status="Creating", created=now, modified=now, tags=p.get("Tags", [])
        )
        self.endpoints[name] = endpoint
        done = now + timedelta(seconds=self.timings.create_endpoint_seconds)
        self._schedule(endpoint, Pending("create", done, config_name=config_name))
        return {"EndpointArn": self._arn("endpoint", name)}

    def _require_in_service(self, endpoint: Endpoint, action: str) -> None:
        if endpoint.status != "InService":
            raise _invalid(
                f'Cannot {action} endpoint "{self._arn("endpoint", endpoint.name)}" because it is in '
                f"{endpoint.status} status; it must be InService."
            )

    def op_UpdateEndpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(p["EndpointName"])
        self._config(p["EndpointConfigName"])
        self._require_in_service(endpoint, "update")
        refusal = update_refusal(
            endpoint.name,
            self.configs.get(endpoint.config_name, {}),
            self._config(p["EndpointConfigName"]),
            lambda variant: self.is_scalable(endpoint.name, variant),
        )
        if refusal:
            raise _invalid(refusal)
        for key in ("RetainAllVariantProperties", "ExcludeRetainedVariantProperties", "RetainDeploymentConfig"):
            if p.get(key):
                raise _invalid(f"{key} is not supported by this emulator yet.")
        if p.get("DeploymentConfig"):
            return self._guarded_update(endpoint, p["EndpointConfigName"], p["DeploymentConfig"])
        endpoint.status, endpoint.modified = "Updating", self._now()
        self.changes.append((endpoint.modified, "UpdateEndpoint", endpoint.name, p["EndpointConfigName"]))
        done = endpoint.modified + timedelta(seconds=self.timings.update_endpoint_seconds)
        self._schedule(endpoint, Pending("update", done, config_name=p["EndpointConfigName"]))
        return {"EndpointArn": self._arn("endpoint", endpoint.name)}

    def _guarded_update(self, endpoint: Endpoint, config_name: str, deployment: dict[str, Any]) -> dict[str, Any]:
        """UpdateEndpoint with a DeploymentConfig: blue/green or rolling, watched by SageMaker itself."""
        old = self.configs[endpoint.config_name]["ProductionVariants"]
        new = self.configs[config_name]["ProductionVariants"]
        if sorted(v["VariantName"] for v in new) != sorted(v["VariantName"] for v in old):
            raise _invalid(
                "A blue/green or rolling deployment needs the new endpoint configuration to have the same "
                "variant names as the current one."
            )
        live = [dict(v, InitialInstanceCount=endpoint.live.get(v["VariantName"], (0, None))[1] or 1) for v in old]
        now = self._now()
        fault = self._outcome()
        provisioning = self.timings.update_endpoint_seconds
        if fault is not None and fault.duration_seconds:
            provisioning = fault.duration_seconds
        try:
            guarded = plan_update(
                deployment,
                live,
                now,
                endpoint.config_name,
                config_name,
                provisioning,
                self.timings.update_weights_seconds,
            )
        except GuardrailError as exc:
            raise _invalid(str(exc)) from None
        missing = [a for a in guarded.alarms if a not in self.alarm_states(guarded.alarms)]
        if missing:
            raise _invalid(f"Alarm(s) {', '.join(missing)} in AutoRollbackConfiguration do not exist.")
        if fault is not None and fault.endpoint_status_after in ("Creating", "Updating"):
            guarded.hung, guarded.shifts = True, []
        elif fault is not None and fault.endpoint_status_after in ("Failed", "InService"):
            guarded.fails_with, guarded.shifts = fault.failure_reason, []
        elif fault is not None and fault.endpoint_status_after == "UpdateRollbackFailed":
            guarded.rollback_fails_with = fault.failure_reason
        endpoint.status, endpoint.modified, endpoint.guarded = "Updating", now, guarded
        what = f"{config_name} ({guarded.kind})"
        self.changes.append((now, "UpdateEndpoint", endpoint.name, what))
        done = now + timedelta(seconds=guarded.done_after)
        end = "Updating" if guarded.hung else "InService"
        endpoint.pending = Pending("update", done, config_name=config_name, end_status=end)
        return {"EndpointArn": self._arn("endpoint", endpoint.name)}

    def op_UpdateEndpointWeightsAndCapacities(self, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(p["EndpointName"])
        self._require_in_service(endpoint, "update weights and capacities of")
        weights: dict[str, tuple[float, int]] = {}
        for desired in p["DesiredWeightsAndCapacities"]:
            variant = desired["VariantName"]
            if variant not in endpoint.live:
                raise _invalid(f"The variant name(s) [{variant}] is/are not present in the endpoint.")
            weight, count = endpoint.live[variant]
            weights[variant] = (float(desired.get("DesiredWeight", weight)), desired.get("DesiredInstanceCount", count))
        endpoint.status, endpoint.modified = "Updating", self._now()
        self.changes.append(
            (
                endpoint.modified,
                "UpdateEndpointWeightsAndCapacities",
                endpoint.name,
                {v: w for v, (w, _) in weights.items()},
            )
        )
        done = endpoint.modified + timedelta(seconds=self.timings.update_weights_seconds)
        self._schedule(endpoint, Pending("weights", done, weights=weights))
        return {"EndpointArn": self._arn("endpoint", endpoint.name)}

    def op_DeleteEndpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(p["EndpointName"])
        if endpoint.status == "Deleting":
            raise _invalid(f'Endpoint "{self._arn("endpoint", endpoint.name)}" is already being deleted.')
        endpoint.status, endpoint.modified = "Deleting", self._now()
        endpoint.pending = Pending(
            "delete", endpoint.modified + timedelta(seconds=self.timings.delete_endpoint_seconds)
        )
        return {}

    def op_DescribeEndpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(p["EndpointName"])
        config = self.configs.get(endpoint.config_name, {})
        specs = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
        variants = []
        for name, (weight, count) in endpoint.live.items():
            spec = specs.get(name, {})
            described: dict[str, Any] = {"VariantName": name, "CurrentWeight": weight, "DesiredWeight": weight}
            if count is not None:
                described["CurrentInstanceCount"] = described["DesiredInstanceCount"] = count
            if "ServerlessConfig" in spec:
                described["CurrentServerlessConfig"] = spec["ServerlessConfig"]
            variants.append(described)
        described_endpoint: dict[str, Any] = {
            "EndpointName": endpoint.name,
            "EndpointArn": self._arn("endpoint", endpoint.name),
            "EndpointConfigName": endpoint.config_name,
            "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created,
            "LastModifiedTime": endpoint.modified,
        }
        if variants and endpoint.status != "Creating":
            described_endpoint["ProductionVariants"] = variants
        if endpoint.failure_reason:
            described_endpoint["FailureReason"] = endpoint.failure_reason
        shadow_specs = {v["VariantName"]: v for v in config.get("ShadowProductionVariants", [])}
        shadows = [
            {"VariantName": name, "CurrentWeight": weight, "DesiredWeight": weight}
            | ({"CurrentInstanceCount": count, "DesiredInstanceCount": count} if count is not None else {})
            for name, (weight, count) in endpoint.shadows.items()
            if name in shadow_specs
        ]
        if shadows and endpoint.status != "Creating":
            described_endpoint["ShadowProductionVariants"] = shadows
        pending = endpoint.pending
        guarded = endpoint.guarded
        if pending is not None and pending.kind in ("update", "rollback") and guarded is not None:
            status, message = guarded.stage(self._now())
            described_endpoint["PendingDeploymentSummary"] = {
                "EndpointConfigName": guarded.new_config,
                "StartTime": guarded.started,
                "ProductionVariants": [
                    {"VariantName": v, "VariantStatus": [{"Status": status, "StatusMessage": message}]}
                    for v in endpoint.live
                ],
            }
        elif pending is not None and pending.kind == "update" and pending.config_name:
            described_endpoint["PendingDeploymentSummary"] = {
                "EndpointConfigName": pending.config_name,
                "StartTime": endpoint.modified,
            }
        return described_endpoint

    def op_ListEndpoints(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "Endpoints": [
                {
                    "EndpointName": e.name,
                    "EndpointArn": self._arn("endpoint", e.name),
                    "CreationTime": e.created,
                    "LastModifiedTime": e.modified,
                    "EndpointStatus": e.status,
                }
                for e in self.endpoints.values()
            ]
        }
