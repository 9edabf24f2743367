"""Where the simulator finds the project's files: ``template.yaml`` (with the ASL and each function's ``app.py`` it
names), the sample ``events/`` and the showcase ``scenarios/``.

In a checkout they are the checkout's own; an installed ``sagemaker-rollout[simulator]`` carries them as data files
under ``<prefix>/share/sagemaker-rollout`` (pyproject.toml); ``$ROLLOUT_HOME`` names another directory explicitly
(a changed template, say) and wins over both.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

HOME_VARIABLE = "ROLLOUT_HOME"
SHARE = Path("share") / "sagemaker-rollout"


class HomeNotFoundError(LookupError):
    """No directory with the project's template.yaml: the message says where it looked."""


def _installed() -> list[Path]:
    """Where pip puts the data files: the environment's prefix, and the user scheme's (``pip install --user``)."""
    prefixes = [sysconfig.get_path("data")]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        prefixes.append(sysconfig.get_path("data", user_scheme))
    return [Path(prefix) / SHARE for prefix in prefixes]


def project_home() -> Path:
    """The directory holding template.yaml, statemachine/, functions/, events/ and scenarios/."""
    explicit = os.environ.get(HOME_VARIABLE)
    if explicit:
        path = Path(explicit).expanduser()
        if not (path / "template.yaml").is_file():
            raise HomeNotFoundError(f"${HOME_VARIABLE}={explicit} holds no template.yaml")
        return path.resolve()
    candidates = [Path(__file__).resolve().parents[2], *_installed()]  # a checkout's layout: local/rollout_local/
    for candidate in candidates:
        if (candidate / "template.yaml").is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise HomeNotFoundError(f"no template.yaml in {looked}: set ${HOME_VARIABLE} to a checkout of sagemaker-rollout")


def find_scenario(name: str, home: Path) -> Path:
    """A scenario by its path, else by its name among the shipped ones (``canary-happy-path``, with or without
    ``.yaml``): what `rollout simulate NAME` runs outside a checkout."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    for candidate in (home / "scenarios" / name, home / "scenarios" / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    return path
