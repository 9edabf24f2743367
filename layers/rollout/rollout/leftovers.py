"""What a rollout leaves behind: the resources Clean Up deletes given how the rollout ended, and - when Clean Up
could not say what it did - the ones named as leftovers for the next rollout of the endpoint. Pure: no AWS call."""

from __future__ import annotations

from rollout.models.progress import Phase, RolloutState

ALARM, CONFIG, MODEL = "alarm", "endpoint-config", "model"


def planned(state: RolloutState) -> tuple[list[str], str | None]:
    """The configs and model of a prepared rollout that go, given how it ended (no AWS call)."""
    target = state.target
    if target is None:
        return [], None
    if state.phase is Phase.DEPLOYED:  # the live config stays; the one it did not need goes
        kept = state.experiment is not None and state.experiment.decision in ("keep", "keep_both")
        config = target.config_name if kept else target.shift_config_name
        return ([config] if config else []), None
    if state.phase is Phase.ROLLED_BACK:
        return [c for c in (target.shift_config_name, target.config_name) if c], target.model_name
    return [], None  # stopped: the endpoint's resources stay for the person who must look


def unconfirmed(state: RolloutState) -> list[str]:
    """What Clean Up was to delete when it could not say what it did (its function failed): named as leftovers, so
    the record tells and the next rollout of the endpoint tries again."""
    configs, model = planned(state)
    found = [f"{ALARM}:{a}" for a in state.service_alarms] + [f"{CONFIG}:{c}" for c in configs]
    found += [f"{MODEL}:{model}"] if model else []
    if state.phase is Phase.STOPPED and state.target is not None:
        target = state.target
        found += [f"{CONFIG}:{c}" for c in (target.shift_config_name, target.config_name) if c]
        found.append(f"{MODEL}:{target.model_name}")
    return sorted({*found, *state.inherited_leftovers})
