"""`make bench`: the figures of issue 13, each beside its goal, measured now (never asserted by a test).

Every scenario runs in a child process of its own (``--child``), so each figure has its own wall time, CPU time
and peak memory; the parent prints the table, a cost estimate per rollout from AWS's list prices, and the load
the machine was under (wall times on a shared machine are noisy: CPU seconds are printed beside them).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIVE = {"name": "churn-prod", "variants": [{"name": "blue", "instance_type": "ml.m5.xlarge", "instance_count": 2}]}
BEHAVIOUR = {
    "baseline": {"error_rate": 0.004, "latency_ms": 40, "p99_latency_ms": 120},
    "new": {"error_rate": 0.002, "latency_ms": 35, "p99_latency_ms": 100},
}
ANALYSIS = {"max_error_rate": 0.02, "max_latency_ratio": 1.5, "min_invocations": 100}
UPDATE_STATES = ("Wait For Endpoint", "Check Endpoint")  # waiting for SageMaker, not judging the model


def _post_promotion_bake() -> int:
    """The policy's default post_promotion_bake_seconds: the bench's policies keep it."""
    from rollout.models.policy import Policy

    default: int = Policy.model_fields["post_promotion_bake_seconds"].default
    return default


POST_PROMOTION_BAKE = _post_promotion_bake()

# AWS list prices, us-east-1, without free tiers (sources in the README's benchmark section)
PRICES = {
    "sfn_transition": 0.025 / 1000,  # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1_000_000,  # Lambda, per request
    "lambda_gb_second": 0.0000166667,  # Lambda x86, per GB-second (init included since August 2025)
    "cw_metric_requested": 0.01 / 1000,  # CloudWatch GetMetricData, per metric requested
    "cw_alarm_metric_month": 0.10,  # CloudWatch standard-resolution alarm, per metric per month (730 h)
    "ddb_write_unit": 0.625 / 1_000_000,  # DynamoDB on-demand, per write request unit
    "ddb_read_unit": 0.125 / 1_000_000,  # DynamoDB on-demand, per read request unit
    "eventbridge_event": 1.00 / 1_000_000,  # EventBridge custom event put (64 KB chunk)
    "sns_publish": 0.50 / 1_000_000,  # SNS standard topic, per publish (deliveries extra)
}
DDB_WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
DDB_READS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem")


def scenario(name: str, policy: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A one-endpoint scenario: the churn endpoint, the approval event, this policy."""
    return {
        "name": name,
        "endpoint": LIVE,
        "approval": {"group": "churn", "event": "events/model-package-approved.json"},
        "policy": {"endpoint_name": "churn-prod", **policy},
        "traffic": {"requests_per_second": 20},
        "model_behaviour": BEHAVIOUR,
        **extra,
    }


def canary(bake: int, **policy: Any) -> dict[str, Any]:
    return {"strategy": {"type": "canary", "canary_percent": 10, "bake_seconds": bake}, "analysis": ANALYSIS, **policy}


def gate(timeout: int) -> dict[str, Any]:
    gates = {"confirm_before_promotion": True, "timeout_seconds": timeout, "on_timeout": "proceed"}
    return canary(300, gates=gates)


def many_canaries(count: int) -> dict[str, Any]:
    """``count`` endpoints, each with its own group, all approved at +00:00: concurrent canaries."""
    names = [f"model-{i:02d}-prod" for i in range(count)]  # the stack's EndpointNamePattern in local mode: *-prod
    return {
        "name": f"canaries-{count}",
        "endpoints": [
            {"name": n, "variants": [{"name": "main", "instance_type": "ml.m5.large", "instance_count": 1}]}
            for n in names
        ],
        "policies": {f"g{i:02d}": {"endpoint_name": n, **canary(600)} for i, n in enumerate(names)},
        "traffic": {"requests_per_second": 20},
        "model_behaviour": BEHAVIOUR,
        "timeline": [{"at_seconds": 0, "action": "approve", "group": f"g{i:02d}"} for i in range(count)],
    }


# --- one scenario, in a child process -----------------------------------------------------------------------


def _windows(entries: list[Any]) -> list[tuple[float, float]]:
    """Spans of an execution's timeline spent waiting for SageMaker's endpoint changes."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for entry in entries:
        if entry.state in UPDATE_STATES:
            start = entry.t if start is None else start
        elif start is not None:
            spans.append((start, entry.t))
            start = None
    return spans


def _peak_concurrency(invocations: list[Any]) -> int:
    """The most invocations running at one simulated instant: the environments one broad function would need."""
    edges = sorted(
        [(i.at.timestamp() - i.seconds, 1) for i in invocations] + [(i.at.timestamp(), -1) for i in invocations]
    )
    running = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant: a warm environment is reused
        running += step
        peak = max(peak, running)
    return peak


def _memory_mb() -> dict[str, int]:
    from rollout_local.stack import function_ids, load_template

    template = load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    resources = template["Resources"]
    return {f: int(resources[f]["Properties"].get("MemorySize", default)) for f in function_ids()}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario; its figures, with this process's CPU time and peak memory."""
    from rollout_local.scenario import Scenario
    from rollout_local.simulator import Simulation

    started = time.monotonic()
    scenario_model = Scenario.model_validate({**spec, "base_dir": ROOT})
    with Simulation(scenario_model) as simulation:
        cpu_before = time.process_time()  # every thread of this process: the simulation's own CPU
        report = simulation.run()
        sim_cpu = time.process_time() - cpu_before
        aws = simulation.aws
        begin = simulation.clock.start
        call_times = [((at - begin).total_seconds(), api) for at, api in aws.call_log]
        windows = [w for e in report.executions for w in _windows(e.timeline)]
        update_seconds = sum(b - a for a, b in windows)
        update_calls = sum(1 for t, _ in call_times if any(a <= t < b for a, b in windows))
        memory = _memory_mb()
        gb_seconds = sum(i.seconds * memory.get(i.function, 128) / 1024 for i in aws.invocations)
        durations = [e.ended - e.started for e in report.executions if e.ended is not None]
        bakes = [t.t for e in report.executions for t in e.timeline if t.state == "Bake"]
        checks = [t.t for e in report.executions for t in e.timeline if t.state == "Evaluate Health"]
        span = 0.0
        if bakes and checks:  # the first Bake to the last check, time spent waiting for SageMaker left out
            first, last = min(bakes), max(checks)
            span = last - first - sum(max(0.0, min(b, last) - max(a, first)) for a, b in windows)
        figures = {
            "outcome": report.outcome,
            "executions": len(report.executions),
            "succeeded": sum(1 for e in report.executions if e.status == "SUCCEEDED"),
            "reason": report.reason,
            "transitions": report.metrics.state_transitions,
            "lambda_invocations": report.metrics.lambda_invocations,
            "cold_starts": sum(1 for i in aws.invocations if i.cold),
            "functions_used": len({i.function for i in aws.invocations}),
            "peak_concurrency": _peak_concurrency(aws.invocations),
            "gb_seconds": gb_seconds,
            "api_calls": dict(report.metrics.api_calls),
            "events_put": len(aws.published),
            "metrics_requested": simulation.world.store.metrics_requested,
            "simulated_seconds": report.metrics.simulated_seconds,
            "sim_wall_seconds": report.metrics.wall_seconds,
            "sim_cpu_seconds": sim_cpu,
            "health_event": next((i.event for i in aws.invocations if i.function == "EvaluateHealthFunction"), None),
            "rollout_seconds": max(durations) if durations else 0.0,
            "update_seconds": update_seconds,
            "update_calls": update_calls,
            "bake_span_seconds": span,
            "alarm_to_cut_seconds": report.metrics.alarm_to_rollback_seconds,
        }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures |= {
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }
    return figures


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """``run_child`` in a fresh interpreter (its own clock, memory and CPU account)."""
    done = subprocess.run(
        [sys.executable, "-m", "rollout_local.bench", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scenario {spec['name']} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- cold start and the layer -------------------------------------------------------------------------------


def _python313() -> str | None:
    candidates = [os.environ.get("PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p / "bin" / "python3.13") for p in sorted(pyenv.glob("3.13*"))]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "0"], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def built_layer(python: str) -> Path:
    """The layer as `sam build` makes it (layers/rollout/Makefile), built again whenever anything in it changes."""
    layer = ROOT / "layers" / "rollout"
    sources = [layer / "requirements.txt", layer / "Makefile", *sorted((layer / "rollout").rglob("*.py"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    target = ROOT / ".bench" / f"layer-{digest[:12]}"
    if not (target / "python").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            ["make", "-C", str(layer), "build-RolloutLayer", f"ARTIFACTS_DIR={target}", f"PYTHON={python}"],
            check=True,
            capture_output=True,
        )
    return target / "python"


def layer_size(site: Path) -> tuple[float, float]:
    """Unzipped and zipped (deflate) size of the layer, MiB."""
    files = [p for p in site.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, Path("python") / path.relative_to(site))
    return unzipped / 2**20, buffer.tell() / 2**20


BARE = (
    "import boto3; from aws_lambda_powertools import Logger, Tracer, Metrics; "
    "Logger(); Tracer(); Metrics(namespace='bare')"
)

# a bare handler that parses its input with Powertools Parser: the same, with pydantic's BaseModel and Field
BARE_PARSER = BARE + "; from pydantic import BaseModel, Field"


def cold_import(python: str, site: Path, code: str, runs: int = 7) -> float:
    """Median CPU seconds of ``code`` in a fresh python3.13 with only the layer (read-only: no bytecode written)."""
    return statistics.median(_cold_run(python, site, code) for _ in range(runs))


def cold_ratio(python: str, site: Path, code: str, runs: int = 7, bare: str = BARE) -> tuple[float, float, float]:
    """``code``'s cold CPU time over the ``bare`` baseline's, measured in interleaved pairs (a shared machine's load
    moves both alike): the median of the pairs' ratios, and the median seconds of each."""
    pairs = [(_cold_run(python, site, code), _cold_run(python, site, bare)) for _ in range(runs)]
    ratio = statistics.median(a / b for a, b in pairs)
    return ratio, statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)


def _cold_run(python: str, site: Path, code: str) -> float:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "sagemaker-rollout",
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    timed = f"import time; t = time.process_time(); {code}; print(time.process_time() - t)"
    done = subprocess.run([python, "-S", "-c", timed], capture_output=True, text=True, env=env, check=True)
    return float(done.stdout.split()[-1])


def handler_functions() -> list[str]:
    """Every function of the stack that has a handler (functions/<name>/app.py)."""
    return sorted(f.name for f in (ROOT / "functions").iterdir() if (f / "app.py").is_file())


def handler_import(function: str, event: dict[str, Any] | None = None) -> str:
    """Code importing a function's handler; with ``event``, also parsing it as its first invocation would."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'functions' / function)!r}); import app"
    if event is not None:  # the models are built on first use (defer_build): count that too
        code += (
            f"; from rollout.models.progress import RolloutState; RolloutState.model_validate({event!r}).model_dump()"
        )
    return code


def every_handler_import() -> str:
    """Code importing every function's handler in one interpreter: what one broad function would load."""
    paths = {f.name: str(f / "app.py") for f in sorted((ROOT / "functions").iterdir()) if (f / "app.py").is_file()}
    return (
        "import importlib.util as u; "
        "[(lambda s: s.loader.exec_module(u.module_from_spec(s)))(u.spec_from_file_location('app_' + n, p)) "
        f"for n, p in {paths!r}.items()]"
    )


# --- the table ----------------------------------------------------------------------------------------------


def cost(figures: dict[str, Any]) -> dict[str, float]:
    """Dollars per rollout from AWS list prices (see PRICES)."""
    calls = figures["api_calls"]
    hours = max(1.0, figures["rollout_seconds"] / 3600)  # alarms are billed by the hour
    alarms = calls.get("cloudwatch:PutMetricAlarm", 0) * 2  # the 5XX-rate alarm's metric math reads two metrics
    return {
        "Step Functions transitions": figures["transitions"] * PRICES["sfn_transition"],
        "Lambda requests": figures["lambda_invocations"] * PRICES["lambda_request"],
        "Lambda GB-seconds": figures["gb_seconds"] * PRICES["lambda_gb_second"],
        "CloudWatch GetMetricData": figures["metrics_requested"] * PRICES["cw_metric_requested"],
        "CloudWatch alarms": alarms * PRICES["cw_alarm_metric_month"] * hours / 730,
        "DynamoDB": sum(calls.get(c, 0) for c in DDB_WRITES) * PRICES["ddb_write_unit"]
        + sum(calls.get(c, 0) for c in DDB_READS) * PRICES["ddb_read_unit"],
        "EventBridge": figures["events_put"] * PRICES["eventbridge_event"],
        "SNS": calls.get("sns:Publish", 0) * PRICES["sns_publish"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rollout_local.bench", description=__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--skip-pytest", action="store_true", help="do not time the pytest phase")
    parser.add_argument("--canaries", type=int, default=50, help="concurrent canaries (default 50)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))))
        return 0
    rows: list[tuple[str, str, str]] = []
    figures: dict[str, Any] = {"load_before": os.getloadavg()}

    def row(name: str, value: str, goal: str) -> None:
        rows.append((name, value, goal))
        print(f"  {name}: {value}   (goal {goal})", file=sys.stderr)

    runs = {
        "canary": child(scenario("bench-canary-10min", canary(600))),
        "bake_24h": child(scenario("bench-bake-24h", canary(86400))),
        "gate_10min": child(scenario("bench-gate-10min", gate(600))),
        "gate_24h": child(scenario("bench-gate-24h", gate(86400))),
        "alarm": child(json.loads(json.dumps(_scenario_file("canary-alarm-mid-bake")))),
        "many": child(many_canaries(args.canaries)),
    }
    figures["runs"] = runs
    c = runs["canary"]
    row("state transitions, one-step canary with a 10-minute bake", str(c["transitions"]), "<= 60")
    # the same policy with a day more of bake (or of gate) than the 10-minute run: what a day of waiting costs
    day = (86400 - 600) / 86400
    per_day_bake = (runs["bake_24h"]["transitions"] - c["transitions"]) / day
    per_day_gate = (runs["gate_24h"]["transitions"] - runs["gate_10min"]["transitions"]) / day
    row("state transitions per day of a bake", f"{per_day_bake:.0f}", "<= 300")
    row("state transitions per day of a waiting gate", f"{per_day_gate:.0f}", "<= 300")
    # every bake the policy configures: the canary step's and the post-promotion bake (the model's default)
    configured = 600 + POST_PROMOTION_BAKE
    overhead = (c["bake_span_seconds"] - configured) / configured
    row(
        f"orchestration overhead over the configured bakes (600 s canary bake + {POST_PROMOTION_BAKE} s "
        "post-promotion bake)",
        f"{overhead:.1%} (from the first Bake to the last check: {c['bake_span_seconds']:.0f} s for {configured} s "
        "of bakes, time waiting for SageMaker left out)",
        "<= 2%",
    )
    row(
        "state transitions, canary rolled back mid-bake (scenarios/canary-alarm-mid-bake.yaml)",
        str(runs["alarm"]["transitions"]),
        "fewer (83 while Wait For Rollback polled every 30 s)",
    )
    python = _python313()
    if python is not None:
        cold_start_rows(python, built_layer(python), c, row, figures)
    else:
        row("handler import vs bare + pydantic", "not measured: no python3.13 here", "<= 1.3x")
    row(
        "simulated-to-wall ratio (10-minute canary; 24 h bake)",
        f"{c['simulated_seconds'] / c['sim_wall_seconds']:.0f}x; "
        f"{runs['bake_24h']['simulated_seconds'] / runs['bake_24h']['sim_wall_seconds']:.0f}x",
        "linear in simulated time",
    )
    b = runs["bake_24h"]
    row(
        "24 h bake, wall time",
        f"{b['sim_wall_seconds']:.1f} s ({b['sim_cpu_seconds']:.1f} s CPU; {b['cpu_seconds']:.1f} s with start-up)",
        "<= 10 s",
    )
    m = runs["many"]
    row(
        f"{args.canaries} concurrent canaries on {args.canaries} endpoints, wall time",
        f"{m['sim_wall_seconds']:.1f} s ({m['sim_cpu_seconds']:.1f} s CPU; "
        f"{m['succeeded']} of {m['executions']} executions succeeded)",
        "<= 60 s",
    )
    row("Lambda invocations, one canary", f"{c['lambda_invocations']} ({c['cold_starts']} cold starts)", "fewer")
    per_minute = c["update_calls"] / (c["update_seconds"] / 60) if c["update_seconds"] else 0.0
    row("API calls per minute of update", f"{per_minute:.1f}", "fewer (events, not polling)")
    row("alarm-to-traffic-cut", f"{runs['alarm']['alarm_to_cut_seconds']} s", "seconds")
    row(
        "peak memory",
        f"{c['peak_mib']:.0f} MiB (one canary), {m['peak_mib']:.0f} MiB ({args.canaries} canaries)",
        "bounded",
    )
    if not args.skip_pytest:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        # as `make test` runs it: bytecode cached (the Makefile's PYTEST)
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        tests = subprocess.run(
            [str(Path(sys.executable).parent / "pytest"), "-q"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            env=environment,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - started
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        (ROOT / ".bench").mkdir(exist_ok=True)
        (ROOT / ".bench" / "pytest.txt").write_bytes(tests.stdout + tests.stderr)  # what failed, if anything
        verdict = "all passed" if tests.returncode == 0 else f"FAILED, exit {tests.returncode}: .bench/pytest.txt"
        row("pytest phase of make test", f"{wall:.0f} s wall ({cpu:.0f} s CPU; {verdict})", "<= 120 s wall")
    dollars = cost(c)
    figures["cost"], figures["load_after"] = dollars, os.getloadavg()
    print(_table(rows, dollars, c, figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


def cold_start_rows(
    python: str, site: Path, c: dict[str, Any], row: Callable[[str, str, str], None], figures: dict[str, Any]
) -> None:
    """The cold-start rows: every handler's import against both bare handlers, evaluate_health with its first
    state parsed, one broad function instead of many, and the layer's size (``c``: the one-step canary's run)."""
    # The goal is read against a bare handler that parses its input with Powertools Parser (pydantic): the
    # service keeps pydantic validation (issue 14), so what it must keep cheap is its own code. The baseline
    # without pydantic stays printed as information (pydantic alone is most of the 0.3x there).
    handlers = handler_functions()
    parsed = {f: cold_ratio(python, site, handler_import(f), bare=BARE_PARSER) for f in handlers}
    plain = {f: cold_ratio(python, site, handler_import(f)) for f in handlers}
    first_event = handler_import("evaluate_health", c["health_event"])
    first = cold_ratio(python, site, first_event, bare=BARE_PARSER)
    first_plain = cold_ratio(python, site, first_event)
    pydantic_alone = cold_ratio(python, site, BARE_PARSER)
    ratios = {f: m[0] for f, m in plain.items()}
    parser_ratios = {f: m[0] for f, m in parsed.items()}
    worst = max(parser_ratios, key=lambda f: parser_ratios[f])
    row(
        f"handler import vs bare boto3 + Powertools Logger/Tracer/Metrics + pydantic (a Powertools Parser "
        f"handler's imports; python3.13, built layer; every one of the {len(handlers)} handlers, each in "
        "interleaved pairs with the bare import)",
        f"worst {parser_ratios[worst]:.2f}x ({worst}: {parsed[worst][1]:.2f} s CPU vs {parsed[worst][2]:.2f} s), "
        f"median {statistics.median(parser_ratios.values()):.2f}x; evaluate_health {first[0]:.2f}x with its "
        "first state parsed (import and first invocation: the models are built on first use)",
        "<= 1.3x",
    )
    worst_plain = max(ratios, key=lambda f: ratios[f])
    row(
        "the same against bare boto3 + Powertools Logger/Tracer/Metrics without pydantic (information: the "
        "service keeps pydantic validation)",
        f"worst {ratios[worst_plain]:.2f}x ({worst_plain}: {plain[worst_plain][1]:.2f} s CPU vs "
        f"{plain[worst_plain][2]:.2f} s), median {statistics.median(ratios.values()):.2f}x; evaluate_health "
        f"{first_plain[0]:.2f}x with its first state parsed; `from pydantic import BaseModel, Field` alone "
        f"{pydantic_alone[0]:.2f}x",
        "information",
    )
    figures["first_parse_ratio"], figures["first_parse_plain_ratio"] = first[0], first_plain[0]
    figures["parser_baseline_ratio"], figures["pydantic_alone_ratio"] = parser_ratios[worst], pydantic_alone[0]
    # fewer, broader functions: each environment would load every step's code, and a rollout would need as
    # many environments as invocations ever overlap, instead of one (at least) per function it calls
    one = plain["evaluate_health"][1]
    every = cold_import(python, site, every_handler_import())
    row(
        f"cold starts per canary rollout ({c['functions_used']} functions) vs one function for every step",
        f"{c['cold_starts']} x {one:.2f} s = {c['cold_starts'] * one:.1f} s CPU of imports; one function: "
        f"{c['peak_concurrency']} (its peak concurrency) x {every:.2f} s (every handler's imports) = "
        f"{c['peak_concurrency'] * every:.1f} s",
        "fewer cold starts without fat handlers",
    )
    figures["every_handler_import"] = every
    unzipped, zipped = layer_size(site)
    row("layer size", f"{unzipped:.1f} MiB unzipped, {zipped:.1f} MiB zipped; pinned and tested", "what is needed")
    figures["import_ratios"], figures["parser_import_ratios"] = ratios, parser_ratios
    figures["layer_mib"] = (unzipped, zipped)


def _scenario_file(name: str) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load((ROOT / "scenarios" / f"{name}.yaml").read_text())
    return loaded


def _table(rows: list[tuple[str, str, str]], dollars: dict[str, float], c: dict[str, Any], f: dict[str, Any]) -> str:
    lines = ["| figure | now | goal |", "|---|---|---|", *[f"| {a} | {b} | {g} |" for a, b, g in rows]]
    lines += [
        "",
        f"Cost of one canary rollout (10-minute bake), AWS list prices, us-east-1: ${sum(dollars.values()):.5f}",
    ]
    lines += [f"- {name}: ${value:.6f}" for name, value in dollars.items()]
    lines += [
        "",
        f"Machine: {os.cpu_count()} cores, load average {f['load_before'][0]:.2f} before, "
        f"{f['load_after'][0]:.2f} after; the canary's own run took {c['cpu_seconds']:.1f} s CPU.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
