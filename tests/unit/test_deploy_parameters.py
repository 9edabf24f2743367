"""The template's deploy parameters: which endpoints a stack may change is always the deployer's explicit choice."""

import re
import tomllib

import pytest
from rollout_local.stack import ROOT, load_template

PATTERN = load_template()["Parameters"]["EndpointNamePattern"]


def test_the_endpoint_pattern_has_no_default_and_refuses_every_endpoint():
    assert "Default" not in PATTERN
    allowed = PATTERN["AllowedPattern"]
    for refused in ("*", "**", "?*", "*-*?", "Churn-*", ""):
        assert not re.fullmatch(allowed, refused), refused
    for accepted in ("*-prod", "churn-prod", "prod-*", "team-a-*-v?"):
        assert re.fullmatch(allowed, accepted), accepted


@pytest.mark.parametrize("environment", ["default", "staging", "prod"])
def test_every_samconfig_environment_names_its_endpoints(environment):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = dict(o.split("=", 1) for o in config[environment]["deploy"]["parameters"]["parameter_overrides"])
    assert re.fullmatch(PATTERN["AllowedPattern"], overrides["EndpointNamePattern"])


def test_local_mode_refuses_a_pattern_cloudformation_would_refuse():
    from rollout_local.scenario import Scenario
    from rollout_local.simulator import Simulation

    from tests.helpers import scenario

    bad: Scenario = scenario(stack={"EndpointNamePattern": "*"})
    with pytest.raises(ValueError, match="EndpointNamePattern='\\*'"), Simulation(bad):
        pass
