"""Clean Up: remove what the rollout made and no longer needs - and what earlier rollouts of the endpoint could not.

Every deletion is tried on its own; one that fails does not stop the others and is not an error of the rollout: it
is a leftover, named in the record and the outcome event, and kept (DynamoDB, by Release Lock) for the next rollout
of the endpoint, whose Clean Up tries again once it knows what the endpoint serves.
"""

from __future__ import annotations

from rollout import names
from rollout.aws import cloudwatch, sagemaker
from rollout.errors import RolloutError
from rollout.leftovers import ALARM, CONFIG, MODEL, planned
from rollout.models.progress import Phase, RolloutState


def clean_up(state: RolloutState) -> RolloutState:
    """Delete what the rollout made and no longer needs: always its alarms; after a rollback its configs and model;
    after a success the intermediate config (the baseline config and model stay, for a manual revert). A rollout that
    stopped for a person keeps its configs and model (named as leftovers, so a later rollout removes them once the
    endpoint no longer uses them). Then earlier rollouts' leftovers the endpoint does not use."""
    target = state.target
    removed: list[str] = []
    left: list[str] = []

    def attempt(kind: str, name: str) -> None:
        try:
            if _delete(kind, name):
                removed.append(name)
        except RolloutError:  # AccessDenied, throttling, a 5xx after the SDK's retries: left for later
            left.append(f"{kind}:{name}")

    alarms = state.service_alarms or _existing(cloudwatch.variant_alarm_names(names.alarm_prefix(state.rollout_id)))
    for alarm in alarms:
        attempt(ALARM, alarm)
    configs, model = _to_delete(state)
    for config in configs:
        attempt(CONFIG, config)
    if model:
        attempt(MODEL, model)
    if state.phase is Phase.STOPPED and target is not None:  # kept for the person; a later rollout sweeps them
        left += [f"{CONFIG}:{c}" for c in (target.shift_config_name, target.config_name) if c]
        left.append(f"{MODEL}:{target.model_name}")
    in_use = _in_use(state)
    for leftover in state.inherited_leftovers:
        kind, _, name = leftover.partition(":")
        if in_use is None:  # the endpoint's state is for a person to settle: try again next time
            left.append(leftover)
        elif name not in in_use and kind in (ALARM, CONFIG, MODEL):
            attempt(kind, name)
    state.leftovers = sorted(set(left))
    said = f"deleted {', '.join(removed)}" if removed else "nothing to clean up"
    if state.leftovers:
        said += f"; left behind (the next rollout of {state.endpoint_name} tries again): {', '.join(state.leftovers)}"
    state.message = said
    return state


def _existing(candidates: list[str]) -> list[str]:
    """Alarms this rollout may have made before its state was lost with an error (Prepare Target failed part-way)."""
    return sorted(cloudwatch.alarm_states(candidates))


def _delete_alarm(name: str) -> bool:
    cloudwatch.delete_alarms([name])
    return True


def _delete(kind: str, name: str) -> bool:
    """Delete one resource of the rollout's; False when it was already gone."""
    if kind == ALARM:
        return _delete_alarm(name)
    if kind == CONFIG:
        return sagemaker.delete_endpoint_config(name)
    return sagemaker.delete_model(name)


def _to_delete(state: RolloutState) -> tuple[list[str], str | None]:
    """The configs and model of this rollout that go, given how it ended."""
    target = state.target
    if target is None:
        if state.phase is not Phase.ROLLED_BACK:
            return [], None
        # Prepare Target failed part-way and its state went with the error: what it made has known names (only
        # those that exist: a tag-conditioned delete of a resource that was never made is denied by IAM)
        made, model = prepared_names(state)
        configs = [name for name in made if sagemaker.describe_endpoint_config(name) is not None]
        return configs, (model if sagemaker.describe_model(model) is not None else None)
    return planned(state)


def _in_use(state: RolloutState) -> set[str] | None:
    """What the endpoint serves from now (configs and models an earlier rollout's leftovers must not include), or
    None when the rollout stopped and the endpoint's state is for a person to settle."""
    baseline, target = state.baseline, state.target
    if baseline is None or state.phase not in (Phase.DEPLOYED, Phase.ROLLED_BACK):
        return None
    used = {baseline.config_name or "", *(v.model_name for v in baseline.variants)}
    used |= {v.model_name for v in baseline.shadow_variants}
    if target is not None:
        used |= {target.config_name, target.shift_config_name or "", target.model_name}
    return used - {""}


def prepared_names(state: RolloutState) -> tuple[list[str], str]:
    """The configs and the model Prepare Target creates for this rollout (names are deterministic)."""
    endpoint, package, rollout_id = state.endpoint_name, state.package, state.rollout_id
    configs = [names.endpoint_config_name(endpoint, package.version, rollout_id, p) for p in ("c", "s", "p")]
    return configs, names.model_name(endpoint, package.arn, package.version, rollout_id)
