"""Three installable parts in one distribution: the layer package, the operator's `rollout` command (boto3 and
pydantic, nothing of the simulator) and the simulator (the ``simulator`` extra, with its project files as data
files so that it works outside a checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from rollout_cli.cli import SIMULATOR_EXTRA, SIMULATOR_MODULES
from rollout_local.home import HOME_VARIABLE, HomeNotFoundError, find_scenario, project_home

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SIMULATOR_ONLY = {"moto", "matplotlib", "pyyaml", "regex", "aws-sam-translator"}
BLOCKED = ("moto", "matplotlib", "yaml", "regex", "samtranslator")


def _name(requirement: str) -> str:
    return requirement.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()


def test_the_command_depends_on_nothing_of_the_simulator_and_the_extra_brings_it():
    base = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extra = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["simulator"]}
    assert {"boto3", "pydantic"} <= base
    assert base & SIMULATOR_ONLY == set()
    assert extra >= SIMULATOR_ONLY
    assert PYPROJECT["project"]["scripts"]["rollout"] == "rollout_cli.cli:main"
    assert "simulator" in SIMULATOR_EXTRA and set(BLOCKED) <= set(SIMULATOR_MODULES)


def test_the_simulators_project_files_are_data_files_every_function_included():
    data = PYPROJECT["tool"]["setuptools"]["data-files"]
    shipped = {pattern for patterns in data.values() for pattern in patterns}
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    assert functions
    for name in functions:
        assert data.get(f"share/sagemaker-rollout/functions/{name}") == [f"functions/{name}/app.py"], name
    assert {"template.yaml", "statemachine/*.json", "events/*.json", "scenarios/*.yaml"} <= shipped
    for pattern in shipped:
        assert list(ROOT.glob(pattern)), f"{pattern} matches no file"


BLOCKER = textwrap.dedent(
    """
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked}:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not installed)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def _without_simulator(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = BLOCKER.format(blocked=set(BLOCKED)) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # --help on long lines, as a wide terminal shows it
    )


def test_the_commands_modules_import_and_run_without_the_simulator(tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"endpoint_name": "churn-prod"}')
    done = _without_simulator(
        f"""
        import sys
        import rollout_cli.cli, rollout_cli.operate, rollout_cli.status
        from rollout_cli.cli import main
        code = main(["policy", "validate", {str(policy)!r}])
        assert code == 0, code
        try:
            main(["--help"])
        except SystemExit as exit:
            assert exit.code == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {set(BLOCKED)!r})
        assert loaded == [], loaded
        print("simulate exit", main(["simulate", "canary-happy-path"]))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "valid all_at_once policy for churn-prod" in done.stdout
    assert "`simulate` needs the simulator (pip install 'sagemaker-rollout[simulator]')" in done.stdout
    assert "simulate exit 1" in done.stdout
    assert done.stderr.splitlines() == [
        "rollout simulate: needs the simulator, which is not installed (no moto, yaml, regex, matplotlib, "
        "samtranslator): pip install 'sagemaker-rollout[simulator]'"
    ]


def test_the_check_sees_a_missing_module(tmp_path):
    done = _without_simulator(
        "from rollout_cli.cli import missing_simulator_modules\nprint(missing_simulator_modules())", tmp_path
    )
    assert done.stdout.strip() == "['moto', 'yaml', 'regex', 'matplotlib', 'samtranslator']", done.stderr
    from rollout_cli.cli import missing_simulator_modules

    assert missing_simulator_modules() == []


def test_the_project_home_is_the_checkout_or_an_explicit_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(HOME_VARIABLE, raising=False)
    assert project_home() == ROOT
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path))
    with pytest.raises(HomeNotFoundError, match=f"{HOME_VARIABLE}=.* holds no template.yaml"):
        project_home()
    (tmp_path / "template.yaml").write_text("{}")
    assert project_home() == tmp_path.resolve()


def test_a_shipped_scenario_is_found_by_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_scenario("canary-happy-path", ROOT) == ROOT / "scenarios" / "canary-happy-path.yaml"
    assert find_scenario("canary-happy-path.yaml", ROOT) == ROOT / "scenarios" / "canary-happy-path.yaml"
    (tmp_path / "canary-happy-path.yaml").write_text("mine")
    assert find_scenario("canary-happy-path.yaml", ROOT) == Path("canary-happy-path.yaml"), "a file of that name wins"
    assert find_scenario("nope", ROOT) == Path("nope"), "not found: the path as given (its error names it)"
