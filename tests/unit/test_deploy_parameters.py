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


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"MemorySize": 40_000}, "memorySize' failed to satisfy constraint: Member must have value less than"),
        ({"Runtime": "python2.1"}, "runtime' failed to satisfy constraint: Member must satisfy enum value set"),
        ({"Timeout": 0}, "Invalid value for parameter Timeout, value: 0, valid min value: 1"),
    ],
)
def test_local_mode_refuses_a_function_lambda_would_refuse(change, refusal):
    """The stack's functions are made straight in moto's store, each request checked first as Lambda checks it."""
    from rollout_local.simulator import Simulation

    from tests.helpers import scenario

    def transform(template):
        template["Resources"]["ShiftTrafficFunction"]["Properties"].update(change)
        return template

    with pytest.raises(Exception, match=re.escape(refusal)), Simulation(scenario(), template_transform=transform):
        pass
