"""The layer ships what the tests run: every distribution pinned at the installed version, and botocore's
models for every service the layer's code calls."""

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "rollout"


def pinned():
    found = {}
    for line in (LAYER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not pinned with =="
            found[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return found


def test_every_shipped_distribution_is_pinned_at_the_version_the_tests_run():
    for name, version in pinned().items():
        assert metadata.version(name) == version, f"{name}: layer pins {version}, tests run {metadata.version(name)}"


def test_the_layer_ships_every_dependency_of_what_it_ships():
    shipped = pinned()
    for name in shipped:
        for requirement in metadata.requires(name) or []:
            if "extra ==" in requirement and "tracer" not in requirement:
                continue  # optional extras the layer does not use (Powertools' tracer extra is used)
            if "; " in requirement and "extra ==" not in requirement and "python_version" in requirement:
                continue  # backports for older Pythons than the runtime's 3.13
            dependency = re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]
            assert re.sub(r"[-_.]+", "-", dependency).lower() in shipped, f"{name} needs {dependency}, not shipped"


def test_botocore_models_are_kept_for_every_service_the_layer_calls():
    makefile = (LAYER / "Makefile").read_text()
    kept = set(re.search(r"^SERVICES := (.*)$", makefile, re.MULTILINE).group(1).split())
    called = set()
    for source in (LAYER / "rollout").rglob("*.py"):
        called |= set(re.findall(r'client\("([a-z0-9-]+)"\)', source.read_text()))
    assert called and called <= kept, f"models missing: {called - kept}"
    assert "xray" in kept, "the X-Ray SDK's sampling client needs its model"
