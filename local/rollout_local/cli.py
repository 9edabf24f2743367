"""The `rollout` command: simulate locally, and operate rollouts of a deployed stack.

Exit codes: 0 done; 1 the command failed (invalid policy, AWS error, unexpected outcome); 2 usage error;
3 nothing to show (no running rollout, no record).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rollout.errors import RolloutError

OK, FAILED, USAGE, NOTHING = 0, 1, 2, 3


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if getattr(args, "json", False) else text)


def _simulate(args: argparse.Namespace) -> int:
    from rollout_local.scenario import ScenarioError, load_scenario
    from rollout_local.simulator import Simulation

    try:
        scenario = load_scenario(Path(args.scenario))
    except ScenarioError as exc:  # names the file and the entry itself, on one line
        print(f"rollout simulate: invalid scenario {exc}", file=sys.stderr)
        return USAGE
    except (OSError, ValueError, ValidationError) as exc:
        print(f"rollout simulate: cannot read scenario {args.scenario}: {exc}", file=sys.stderr)
        return USAGE
    with Simulation(scenario, verbose=args.verbose) as simulation:
        report = simulation.run()
        if args.plot:
            from rollout_local.plot import plot

            plot(simulation, report, Path(args.plot))
    print(report.to_json() if args.json else report.to_text())
    if args.expect and report.outcome != args.expect:
        print(f"rollout simulate: expected outcome {args.expect}, got {report.outcome}", file=sys.stderr)
        return FAILED
    if not args.expect and scenario.expect is not None:
        from rollout_local.expect import unmet

        problems = unmet(scenario.expect, report)
        if problems:
            print(f"rollout simulate: not as the scenario expects: {'; '.join(problems)}", file=sys.stderr)
            return FAILED
    return OK


def _policy_validate(args: argparse.Namespace) -> int:
    from rollout_local.operate import validate_policy_file

    try:
        resolved, steps = validate_policy_file(Path(args.file))
    except OSError as exc:
        print(f"rollout policy validate: {exc}", file=sys.stderr)
        return USAGE
    except RolloutError as exc:
        _out(args, {"valid": False, "error": type(exc).__name__, "message": str(exc)}, f"invalid: {exc}")
        return FAILED
    policy = resolved.policy.model_dump(mode="json")
    _out(
        args,
        {"valid": True, "policy": policy, "plan": steps},
        f"valid {resolved.policy.strategy.type} policy for {resolved.policy.endpoint_name}; plan: {' -> '.join(steps)}",
    )
    return OK


def _session(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.Session(region_name=args.region) if args.region else boto3.Session()


def _with_stack(command: Any) -> Any:
    """Run an AWS-facing command with the stack's names; AWS and credential errors exit 1 with the message."""

    def run(args: argparse.Namespace) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        from rollout_local.operate import stack_info

        session = _session(args)
        try:
            return int(command(args, session, stack_info(session, args.stack)))
        except (ClientError, BotoCoreError, RolloutError) as exc:
            print(f"rollout {args.command}: {exc}", file=sys.stderr)
            return FAILED

    return run


def _policy_show(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import policy_layers_summary, show_policy

    resolved = show_policy(session, stack, args.group, args.package)
    rows = policy_layers_summary(resolved)
    text = "\n".join(f"{field:<36} {value:<28} {source}" for field, value, source in rows)
    _out(args, {"policy": resolved.policy.model_dump(mode="json"), "sources": resolved.sources}, text)
    return OK


def _start(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import start

    policy = json.loads(Path(args.policy).read_text()) if args.policy else None
    arn = start(session, stack, args.package, args.endpoint, policy)
    _out(args, {"execution_arn": arn}, arn)
    return OK


def _status(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import status

    while True:
        rollouts = status(session, stack, args.endpoint)
        if args.watch and not args.json:
            print("\033[2J\033[H", end="")
        _out(
            args,
            [r.as_dict() for r in rollouts],
            "\n\n".join(_status_text(r) for r in rollouts) or "no rollout running",
        )
        if not args.watch or not rollouts:
            return OK if rollouts else NOTHING
        time.sleep(args.interval)


def _status_text(r: Any) -> str:
    done = r.step - (0 if r.phase in ("promoting", "deployed") else 1)
    bar = "#" * int(20 * done / r.steps) if r.steps else ""
    weights = ", ".join(f"{v}={w:g}" for v, w in r.weights.items())
    lines = [
        f"{r.endpoint}: {r.package} ({r.strategy}), {r.phase}",
        f"  step {r.step}/{r.steps} [{bar:<20}] {r.weight_percent or 0:g}% on the new model; live weights {weights}",
        f"  latest verdict: {r.last_verdict or '-'}; {r.message}",
    ]
    if r.seconds_to_next_check is not None:
        lines.append(f"  bake ends in {r.seconds_to_next_check} s")
    return "\n".join(lines)


def _history(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import history

    records = history(session, stack, args.endpoint, args.limit)
    text = "\n".join(
        f"{r.get('started_at', '?')[:19]}  {r.get('outcome', '?'):<12} {r.get('package_arn', '?')}  "
        f"{r.get('reason', '')}"
        for r in records
    )
    _out(args, records, text or f"no rollout recorded for {args.endpoint}")
    return OK if records else NOTHING


def _steered(args: argparse.Namespace, result: Any) -> int:
    """200: done; 409: nothing to act on (exit 3); anything else - refused by AWS (403), a bad request - exit 1."""
    if result.status not in (200, 409):
        print(f"rollout {args.command}: {result.message} (HTTP {result.status})", file=sys.stderr)
        return FAILED
    _out(args, result.as_dict(), result.message)
    return OK if result.done else NOTHING


def _approve(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import approve

    return _steered(args, approve(session, stack, args.endpoint, args.by, args.reason, args.reject))


def _abort(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import abort

    return _steered(args, abort(session, stack, args.endpoint, args.by, args.reason))


def _promote(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_local.operate import promote

    return _steered(args, promote(session, stack, args.endpoint, args.by))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rollout", description="Safe rollouts of SageMaker models to endpoints.")
    commands = parser.add_subparsers(dest="command", required=True)

    def aws(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--stack",
            default=os.environ.get("ROLLOUT_STACK", "sagemaker-rollout"),
            help="the deployed stack (default: $ROLLOUT_STACK or sagemaker-rollout)",
        )
        sub.add_argument("--region", default=None)
        sub.add_argument("--json", action="store_true", help="print JSON for scripts")

    simulate = commands.add_parser("simulate", help="run a scenario through the real state machine, locally")
    simulate.add_argument("scenario", help="scenario file (YAML)")
    simulate.add_argument("--json", action="store_true", help="print only the JSON report")
    simulate.add_argument("--verbose", action="store_true", help="let the handlers log (to stdout)")
    simulate.add_argument(
        "--expect",
        metavar="OUTCOME",
        help="exit 1 unless the outcome is OUTCOME (default: the scenario's own expect:, if any)",
    )
    simulate.add_argument("--plot", metavar="FILE.png", help="draw weights, error rate and latency over time")
    simulate.set_defaults(run=_simulate)

    policy = commands.add_parser("policy", help="check and explain rollout policies")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    validate = policy_commands.add_parser("validate", help="validate a policy document (no AWS needed)")
    validate.add_argument("file")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(run=_policy_validate)
    show = policy_commands.add_parser("show", help="the policy a group's rollouts get, and where each field comes from")
    show.add_argument("group", help="model package group")
    show.add_argument("--package", help="also apply this package's rollout: metadata")
    aws(show)
    show.set_defaults(run=_with_stack(_policy_show))

    start = commands.add_parser("start", help="start a rollout by hand (the documented manual input)")
    start.add_argument("--package", required=True, help="model package ARN")
    start.add_argument("--endpoint", help="endpoint (default: the policy's)")
    start.add_argument("--policy", help="JSON file with policy fields (judged by the group's operator policy)")
    aws(start)
    start.set_defaults(run=_with_stack(_start))

    status = commands.add_parser("status", help="running rollouts: step, weights, latest verdict")
    status.add_argument("endpoint", nargs="?")
    status.add_argument("--watch", action="store_true", help="redraw until no rollout runs")
    status.add_argument("--interval", type=float, default=5.0)
    aws(status)
    status.set_defaults(run=_with_stack(_status))

    approve = commands.add_parser("approve", help="approve (or --reject) the gate a rollout waits at")
    approve.add_argument("endpoint")
    approve.add_argument("--reject", action="store_true", help="reject the gate: the rollout rolls back")
    approve.add_argument("--reason", default="")
    approve.add_argument("--by", default="", help="a comment: your name (AWS records the principal that signed)")
    aws(approve)
    approve.set_defaults(run=_with_stack(_approve))

    abort = commands.add_parser("abort", help="abort a running rollout: it rolls back like a failed check")
    abort.add_argument("endpoint")
    abort.add_argument("--reason", required=True)
    abort.add_argument("--by", default="", help="a comment: your name (AWS records the principal that signed)")
    aws(abort)
    abort.set_defaults(run=_with_stack(_abort))

    promote = commands.add_parser("promote", help="skip the remaining steps once the current one passes")
    promote.add_argument("endpoint")
    promote.add_argument("--by", default="", help="a comment: your name (AWS records the principal that signed)")
    aws(promote)
    promote.set_defaults(run=_with_stack(_promote))

    history = commands.add_parser("history", help="an endpoint's rollout records, newest first")
    history.add_argument("endpoint")
    history.add_argument("--limit", type=int, default=20)
    aws(history)
    history.set_defaults(run=_with_stack(_history))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
