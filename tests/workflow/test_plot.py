"""`rollout simulate --plot`: a valid PNG with the series a person expects."""

import re

from rollout_cli.cli import main
from rollout_local.plot import plot

from tests.helpers import CAPTURING_ENDPOINT, ROOT, scenario

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_plot_of_a_rollback_shows_both_variants_on_every_panel(run, tmp_path):
    report, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "canary", "canary_percent": 20, "bake_seconds": 600},
                "analysis": {"max_error_rate": 0.02, "min_invocations": 50},
            },
            traffic={"requests_per_second": 10},
            model_behaviour={"new": {"error_rate": 0.1}},
        )
    )
    path = tmp_path / "timeline.png"
    series = plot(sim, report, path)
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 20_000
    new_variant = next(v for v in series["weight"] if v != "blue")
    assert {k: series[k] for k in ("weight", "error_rate", "latency")} == {
        "weight": ["blue", new_variant],
        "error_rate": ["blue", new_variant],
        "latency": ["blue", new_variant],
    }
    assert series["thresholds"] == ["max_error_rate"], "the policy's limit is drawn on its panel"
    assert "check: fail" in series["key"] and "rollback starts" in series["key"], "a key for the marks"
    assert "bake or gate (waiting, checked)" in series["key"]


def test_a_rollout_that_moved_no_traffic_gets_a_figure_that_says_so(run, tmp_path):
    report, sim = run(scenario(policy={"endpoint_name": "churn-prod", "strategy": {"type": "big_bang"}}))
    assert report.outcome == "rejected"
    path = tmp_path / "rejected.png"
    series = plot(sim, report, path)
    assert path.read_bytes().startswith(PNG) and series["key"] == ["nothing to draw"]
    assert series["weight"] == series["error_rate"] == series["latency"] == []


def test_the_same_run_draws_the_same_picture(tmp_path):
    pictures = []
    for name in ("a.png", "b.png"):
        assert (
            main(
                [
                    "simulate",
                    str(ROOT / "scenarios" / "standard-happy-path.yaml"),
                    "--plot",
                    str(tmp_path / name),
                    "--json",
                ]
            )
            == 0
        )
        pictures.append((tmp_path / name).read_bytes())
    assert pictures[0] == pictures[1], "make pictures rewrites nothing when nothing changed"


def test_the_cli_writes_the_plot(tmp_path, capsys):
    path = tmp_path / "t.png"
    code = main(
        [
            "simulate",
            str(ROOT / "scenarios" / "canary-happy-path.yaml"),
            "--plot",
            str(path),
            "--json",
            "--expect",
            "succeeded",
        ]
    )
    assert code == 0 and path.read_bytes().startswith(PNG)
    assert capsys.readouterr().out.lstrip().startswith("{"), "--json prints only the report"


GOOD = {"error_rate": 0.001, "latency_ms": 40, "p99_latency_ms": 120}


def verified_canary(new, **traffic):
    return scenario(
        endpoint=CAPTURING_ENDPOINT,
        stack={"CaptureBucketName": "churn-captures"},
        policy={
            "endpoint_name": "churn-prod",
            "strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": 600},
            "verification": {"sample_size": 60, "min_label_agreement": 0.9},
            "analysis": {"judge": "statistical", "error_rate_tolerance": 0.005, "check_interval_seconds": 120},
        },
        traffic=traffic,
        model_behaviour={"baseline": GOOD, "new": new},
    )


def test_the_plot_shows_the_verification_and_what_decided_each_statistical_verdict(run, tmp_path):
    # a canary on 3 requests a minute waits for evidence; the callers arrive at 1100 s and it passes
    report, sim = run(
        verified_canary(GOOD, requests_per_second=0.5, changes=[{"after_seconds": 1100, "requests_per_second": 20}])
    )
    assert report.outcome == "succeeded", report.reason
    series = plot(sim, report, tmp_path / "verified.png")
    (verification,) = [k for k in series["key"] if k.startswith("pre-traffic verification")]
    (told,) = [e.detail["verification"] for e in report.events if e.detail_type == "Rollout Variant Verified"]
    shown = verification.replace("\n", " ")
    assert shown.startswith(f"pre-traffic verification (weight 0): pass - {told['requests']} requests")
    assert f"errors new {told['new_errors']} / baseline {told['baseline_errors']}" in shown
    assert f"agreement {told['label_agreement']:.1%}" in shown
    needs = [label for label in series["labels"] if label.startswith("needs ")]
    assert needs and all(int(label.split()[1]) > 100 for label in needs), series["labels"]
    assert series["labels"][-1].startswith("p="), "the pass is told with its p-value"
    assert {"check: pass", "check: inconclusive", "(figure above a check: what decided it)"} <= set(series["key"])


def test_a_failed_verification_is_drawn_with_the_replays_errors_and_no_traffic(run, tmp_path):
    report, sim = run(verified_canary({"error_rate": 0.5, "latency_ms": 40}, requests_per_second=5))
    assert report.outcome == "rolled_back", report.reason
    series = plot(sim, report, tmp_path / "failed.png")
    new_variant = next(v for v in series["error_rate"] if v != "blue")
    assert series["weight"] == ["blue"], "the new model never had a share of the traffic"
    assert new_variant in series["latency"], "its replayed requests are in CloudWatch, so on the panels"
    assert any(k.startswith("pre-traffic verification (weight 0): fail") for k in series["key"])
    assert "rollback starts" in series["key"]


def test_an_ab_test_stopped_early_is_marked_with_its_sequential_p_value(run, tmp_path):
    report, sim = run(
        scenario(
            policy={
                "endpoint_name": "churn-prod",
                "strategy": {"type": "ab_test", "duration_seconds": 3600, "min_invocations": 500, "stop_early": True},
                "analysis": {"judge": "statistical"},
            },
            traffic={"requests_per_second": 20},
            model_behaviour={"baseline": {"error_rate": 0.02, "latency_ms": 40}, "new": {"error_rate": 0.0005}},
        )
    )
    assert report.experiment["stopped_early"], report.reason
    series = plot(sim, report, tmp_path / "ab.png")
    (stop,) = [k for k in series["key"] if k.startswith("A/B stopped early")]
    assert re.match(r"A/B stopped early after \d+ min: p=", stop) and "check: pass" in series["key"]
    assert series["labels"][0].startswith("seq. p="), series["labels"]
    # the promoted model serves under the baseline's name: a series of its own, in the same colour, dashed
    assert any(label.startswith("blue: ") for label in series["weight"]), series["weight"]
    assert "blue (all its models)" in series["error_rate"]


def test_a_blue_green_plot_draws_each_fleet_and_says_cloudwatch_has_one_series(run, tmp_path):
    from rollout_local.scenario import load_scenario

    report, sim = run(load_scenario(ROOT / "scenarios" / "blue-green-canary.yaml"))
    assert report.outcome == "succeeded", report.reason
    series = plot(sim, report, tmp_path / "bg.png")
    assert series["weight"] == ["AllTraffic: blue fleet", "AllTraffic: green fleet"]
    assert series["error_rate"] == series["latency"] == ["AllTraffic (both fleets)"]
    green = [sum(share for _, fleet, _, share in f["churn-prod"] if fleet == "green") for _, f in sim.world.fleets]
    assert max(green) == 1.0 and 0 < min(g for g in green if g) < 1, "the canary fleet first, then all of it"
