"""The `rollout` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError


def _simulate(args: argparse.Namespace) -> int:
    from rollout_local.scenario import load_scenario

    try:
        scenario = load_scenario(Path(args.scenario))
    except (OSError, ValueError, ValidationError) as exc:
        print(f"rollout simulate: cannot read scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2
    from rollout_local.simulator import Simulation

    with Simulation(scenario, verbose=args.verbose) as simulation:
        report = simulation.run()
        if args.plot:
            from rollout_local.plot import plot

            plot(simulation, report, Path(args.plot))
    print(report.to_json() if args.json else report.to_text())
    if args.expect and report.outcome != args.expect:
        print(f"rollout simulate: expected outcome {args.expect}, got {report.outcome}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rollout", description="Safe rollouts of SageMaker models to endpoints.")
    commands = parser.add_subparsers(dest="command", required=True)
    simulate = commands.add_parser(
        "simulate", help="run a scenario through the real state machine on an emulated AWS, in virtual time"
    )
    simulate.add_argument("scenario", help="scenario file (YAML)")
    simulate.add_argument("--json", action="store_true", help="print only the JSON report")
    simulate.add_argument("--verbose", action="store_true", help="let the handlers log (to stdout)")
    simulate.add_argument("--expect", metavar="OUTCOME", help="exit 1 unless the outcome is OUTCOME")
    simulate.add_argument("--plot", metavar="FILE.png", help="draw weights, error rate and latency over time")
    simulate.set_defaults(run=_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
