"""What a scenario promises about its own end (``expect:``), and the check of a report against it.

Every file in ``scenarios/`` states its expectation, so the showcase scenarios are tests too
(``tests/workflow/test_scenarios.py``) and ``rollout simulate`` fails a scenario whose story went otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from rollout_local.specs import Strict

if TYPE_CHECKING:
    from rollout_local.report import EndpointReport, Report


class Expect(Strict):
    """The end a scenario expects: its outcome, words its reason must contain, and which model serves."""

    outcome: str = Field(description="the report's outcome: succeeded, rolled_back, rejected, ... or 'mixed'")
    reason_contains: list[str] = Field(
        default_factory=list, description="phrases the outcome's reason must contain (case-insensitive)"
    )
    new_model_serves: bool | None = Field(
        default=None,
        description="true: a variant of the scenario's endpoint serves the approved package with a share of live "
        "traffic; false: none does (shadow copies are not served traffic); null: not checked",
    )


def unmet(expect: Expect, report: Report) -> list[str]:
    """What in the report differs from the expectation, one phrase each (empty: as expected)."""
    problems: list[str] = []
    if report.outcome != expect.outcome:
        problems.append(f"outcome {report.outcome} (expected {expect.outcome})")
    reason = (report.reason or "").lower()
    for phrase in expect.reason_contains:
        if phrase.lower() not in reason:
            problems.append(f"reason {report.reason!r} does not say {phrase!r}")
    if expect.new_model_serves is not None:
        serves = _serves_new_model(report)
        if serves != expect.new_model_serves:
            said = "serves" if serves else "does not serve"
            problems.append(f"the endpoint {said} the approved model")
    return problems


def _serves_new_model(report: Report) -> bool:
    packages = {e.package for e in report.executions if e.package}
    endpoint: EndpointReport | None = report.endpoint
    if endpoint is None or not endpoint.exists:
        return False
    return any(v.model_package in packages and v.weight > 0 and not v.shadow for v in endpoint.variants)
