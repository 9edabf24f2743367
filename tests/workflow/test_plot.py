"""`rollout simulate --plot`: a valid PNG with the series a person expects."""

from rollout_cli.cli import main
from rollout_local.plot import plot

from tests.helpers import ROOT, scenario

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
