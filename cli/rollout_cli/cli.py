"""The `rollout` command: operate rollouts of a deployed stack, and simulate them locally.

The operating commands need boto3 and pydantic only; `simulate` needs the simulator extra
(``pip install 'sagemaker-rollout[simulator]'``: moto, matplotlib, ...), imported only when it runs.

Exit codes: 0 done; 1 the command failed (invalid policy, AWS error, unexpected outcome, the simulator not
installed); 2 usage error; 3 nothing to show (no running rollout, no record); 4 `status --exit-status`: the rollout
still runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rollout.errors import RolloutError

OK, FAILED, USAGE, NOTHING, STILL_RUNNING = 0, 1, 2, 3, 4


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if getattr(args, "json", False) else text)


SIMULATOR_EXTRA = "pip install 'sagemaker-rollout[simulator]'"
# What the simulator imports beyond the command's own dependencies (the `simulator` extra of pyproject.toml).
SIMULATOR_MODULES = ("moto", "yaml", "regex", "matplotlib", "samtranslator", "rollout_local")


def missing_simulator_modules() -> list[str]:
    """The simulator's modules this environment cannot import (none when the extra is installed)."""
    missing = []
    for name in SIMULATOR_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a finder that refuses the name, a half-installed package
            found = False
        if not found:
            missing.append(name)
    return missing


def _simulate(args: argparse.Namespace) -> int:
    missing = missing_simulator_modules()
    if missing:
        _error(args, f"needs the simulator, which is not installed (no {', '.join(missing)}): {SIMULATOR_EXTRA}")
        return FAILED
    from rollout_local.home import HomeNotFoundError, find_scenario, project_home

    try:
        home = project_home()
    except HomeNotFoundError as exc:
        _error(args, str(exc))
        return FAILED
    from rollout_local.scenario import ScenarioError, load_scenario
    from rollout_local.simulator import Simulation

    try:
        scenario = load_scenario(find_scenario(args.scenario, home))
        if scenario.approval is not None and scenario.approval.event is not None:
            scenario.load_event(home)  # a missing or broken event file is the user's mistake: say so before running
    except ScenarioError as exc:  # names the file and the entry itself, on one line
        return _usage(args, f"invalid scenario {exc}")
    except (OSError, ValueError, ValidationError) as exc:
        return _usage(args, f"cannot read scenario {args.scenario}: {_one_line(exc)}")
    plot_path = Path(args.plot) if args.plot else None
    if plot_path is not None and (problem := _unwritable(plot_path)):
        return _usage(args, f"cannot write --plot {plot_path}: {problem}")  # before the run, not after it
    with Simulation(scenario, verbose=args.verbose) as simulation:
        report = simulation.run()
        plot_error = None
        if plot_path is not None:
            from rollout_local.plot import plot

            try:
                plot(simulation, report, plot_path)
            except (OSError, ValueError) as exc:  # the report is still worth printing
                plot_error = f"cannot write --plot {plot_path}: {_one_line(exc)}"
    print(report.to_json() if args.json else report.to_text())
    if plot_error:
        print(f"rollout simulate: {plot_error}", file=sys.stderr)
        return FAILED
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


PICTURE_FORMATS = (".png", ".svg", ".pdf")


def _unwritable(path: Path) -> str | None:
    """Why a picture cannot be written at ``path`` (None: it can), checked without creating anything."""
    if path.suffix.lower() not in PICTURE_FORMATS:
        return f"the file must end in {', '.join(PICTURE_FORMATS)}"
    if path.is_dir():
        return "it is a directory"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"no directory {parent}"
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "permission denied"
    return None


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (an OSError without its errno prefix)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    return " ".join(text.split())


def _usage(args: argparse.Namespace, message: str) -> int:
    """A user's mistake: one line (a JSON object under --json) and exit 2."""
    _error(args, message)
    return USAGE


def _error(args: argparse.Namespace, message: str) -> None:
    """An error: one line on stderr, or under --json a JSON object on stdout, where the script reads."""
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "command": args.command}))
    else:
        print(f"rollout {args.command}: {message}", file=sys.stderr)


def _policy_validate(args: argparse.Namespace) -> int:
    from rollout_cli.operate import validate_policy_file

    try:
        resolved, steps = validate_policy_file(Path(args.file))
    except OSError as exc:
        return _usage(args, _one_line(exc))
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

        from rollout_cli.operate import stack_info

        try:
            args.stack, config_region = stack_of(args)
        except (OSError, ValueError) as exc:
            return _usage(args, _one_line(exc))
        args.region = args.region or config_region
        session = _session(args)
        try:
            return int(command(args, session, stack_info(session, args.stack)))
        except (ClientError, BotoCoreError, RolloutError) as exc:
            _error(args, _one_line(exc))
            return FAILED

    return run


DEFAULT_STACK = "sagemaker-rollout-dev"  # samconfig.toml's default environment's stack


def stack_of(args: argparse.Namespace) -> tuple[str, str | None]:
    """The stack a command is about, and the region samconfig.toml gives it: ``--stack``, else ``--env`` (a
    samconfig.toml environment's ``stack_name``), else ``$ROLLOUT_STACK``, else samconfig.toml's ``default``
    environment when the file is there, else ``sagemaker-rollout-dev`` (that environment's stack)."""
    import tomllib

    env = args.env or os.environ.get("ROLLOUT_ENV")
    if args.stack and not env:
        return args.stack, None
    path = Path(args.config_file)
    if env is None and (os.environ.get("ROLLOUT_STACK") or not path.exists()):
        return os.environ.get("ROLLOUT_STACK") or DEFAULT_STACK, None
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    name = env or "default"
    section = config.get(name)
    if not isinstance(section, dict):
        known = ", ".join(k for k, v in config.items() if isinstance(v, dict)) or "none"
        raise ValueError(f"no environment '{name}' in {path} (environments: {known})")
    found: dict[str, Any] = {}
    for command in ("global", "deploy"):  # what `sam deploy --config-env` itself reads
        found.update(section.get(command, {}).get("parameters", {}))
    if not found.get("stack_name"):
        raise ValueError(f"environment '{name}' of {path} names no stack_name")
    return args.stack or str(found["stack_name"]), found.get("region")


def _env_vars(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.operate import env_vars

    print(json.dumps(env_vars(session, args.stack), indent=2))
    return OK


def _policy_put(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.operate import put_policy

    try:
        name, resolved = put_policy(session, stack, args.group, Path(args.file))
    except OSError as exc:
        return _usage(args, _one_line(exc))
    except RolloutError as exc:  # nothing was written
        _out(args, {"written": False, "error": type(exc).__name__, "message": str(exc)}, f"invalid, not written: {exc}")
        return FAILED
    policy = resolved.policy
    _out(
        args,
        {"written": True, "parameter": name, "policy": policy.model_dump(mode="json")},
        f"wrote {name}: {policy.strategy.type} policy for {policy.endpoint_name}",
    )
    return OK


def _policy_show(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.operate import policy_layers_summary, show_policy

    resolved = show_policy(session, stack, args.group, args.package)
    rows = policy_layers_summary(resolved)
    text = "\n".join(f"{field:<36} {value:<28} {source}" for field, value, source in rows)
    _out(args, {"policy": resolved.policy.model_dump(mode="json"), "sources": resolved.sources}, text)
    return OK


def _start(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.operate import start

    policy = json.loads(Path(args.policy).read_text()) if args.policy else None
    arn = start(session, stack, args.package, args.endpoint, policy)
    _out(args, {"execution_arn": arn}, arn)
    return OK


def _status(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.status import Watcher, render

    watcher = Watcher(session, stack.state_machine_arn, args.endpoint)
    redraw = args.watch and not args.json and sys.stdout.isatty()
    while True:
        shown = watcher.poll()
        if not args.watch or not shown or watcher.done:
            break
        _status_frame(args, shown, redraw)
        time.sleep(args.interval)
    if not shown:
        return _nothing_running(args, session, stack)
    if args.watch and not redraw and not args.json:
        _status_frame(args, shown, redraw=False)  # the log's last line: the outcome
    if redraw:
        print("\033[2J\033[H", end="")
    _out(args, [r.as_dict() for r in shown], "\n\n".join(render(r) for r in shown))
    if args.exit_status:
        if not watcher.done:
            return STILL_RUNNING
        return OK if watcher.all_succeeded else FAILED
    return OK


def _status_frame(args: argparse.Namespace, shown: list[Any], redraw: bool) -> None:
    """One look while watching: the whole screen on a terminal, one line per rollout in a log, JSON lines."""
    from rollout_cli.status import progress_line, render

    if args.json:
        print(json.dumps([r.as_dict() for r in shown], default=str), flush=True)
    elif redraw:
        print("\033[2J\033[H" + "\n\n".join(render(r) for r in shown), flush=True)
    else:
        print("\n".join(progress_line(r) for r in shown), flush=True)


def _nothing_running(args: argparse.Namespace, session: Any, stack: Any) -> int:
    """No rollout runs: say so, with the endpoint's latest record when one is named (--exit-status: its outcome)."""
    from rollout_cli.operate import history

    latest = history(session, stack, args.endpoint, 1) if args.endpoint else []
    if not latest:
        _out(args, [], "no rollout running")
        return NOTHING
    record = latest[0]
    _out(
        args,
        [{"running": False, "latest": record}],
        f"no rollout of {args.endpoint} running; the latest ended {record.get('outcome', '?')} "
        f"({str(record.get('finished_at') or '?')[:19]}): {record.get('reason', '')}",
    )
    if args.exit_status:
        return OK if record.get("outcome") == "succeeded" else FAILED
    return NOTHING


def judge_figures_text(figures: dict[str, Any]) -> str:
    """The statistical judge's figures on one line: both sides' counts, the evidence, what would decide it."""
    parts = [
        f"judge: new {figures['new_errors']}/{figures['new_invocations']} errors, "
        f"baseline {figures['baseline_errors']}/{figures['baseline_invocations']}"
    ]
    if figures.get("p_worse") is not None:
        parts.append(f"p(worse)={figures['p_worse']:.3g}, p(within)={figures['p_within']:.3g}")
    if figures.get("new_latency_ms") is not None:
        parts.append(
            f"latency median {figures['new_latency_ms']:.1f} vs {figures['baseline_latency_ms']:.1f} ms, "
            f"p(slower)={figures['p_slower']:.3g}"
        )
    if figures.get("sequential_p") is not None:
        parts.append(f"sequential p={figures['sequential_p']:.3g}")
    if figures.get("more_invocations"):
        parts.append(f"needs about {figures['more_invocations']} more invocations of the new variant")
    if figures.get("more_minutes"):
        parts.append(f"about {figures['more_minutes']} more minutes for latency")
    return "; ".join(parts)


def _history(args: argparse.Namespace, session: Any, stack: Any) -> int:
    from rollout_cli.operate import history

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
        _error(args, f"{result.message} (HTTP {result.status})")
        return FAILED
    _out(args, result.as_dict(), result.message)
    return OK if result.done else NOTHING


def _steer(args: argparse.Namespace, session: Any, stack: Any) -> int:
    """Every steering command: one signed request to the stack's steering API (``approve --reject`` is reject)."""
    from rollout_cli.operate import steer

    action = "reject" if getattr(args, "reject", False) else args.command
    return _steered(args, steer(session, stack, args.endpoint, action, getattr(args, "reason", ""), args.by))


# The steering commands (issue 15), in --help's order: (command, what it does, its endpoint argument, what --reason
# says - None: no --reason - and whether --reason is required).
STEERING_COMMANDS: tuple[tuple[str, str, str, str | None, bool], ...] = (
    (
        "approve",
        "approve (or --reject) the gate a rollout waits at",
        "the endpoint whose rollout waits",
        "a comment stored with the answer",
        False,
    ),
    (
        "abort",
        "abort a running rollout: it rolls back like a failed check",
        "the endpoint whose rollout to abort",
        "why (stored in the record)",
        True,
    ),
    (
        "promote",
        "skip the remaining steps once the current one passes",
        "the endpoint whose rollout to promote",
        None,
        False,
    ),
    (
        "release",
        "a person's go-ahead for an endpoint a rollout left for a person (needs_attention)",
        "the endpoint a needs_attention rollout left held",
        "what you checked or did (kept on the held rollout's record)",
        True,
    ),
    (
        "pause",
        "hold the running rollout at its current weight (checks go on)",
        "the endpoint whose rollout to pause",
        "why (stored with the request)",
        False,
    ),
    (
        "resume",
        "resume a paused rollout: the rest of its bake, then the next step",
        "the endpoint whose rollout to resume",
        "why (stored with the request)",
        False,
    ),
    (
        "retry",
        "roll out again the package whose rollout rolled back or failed",
        "the endpoint whose latest rollout to retry",
        None,
        False,
    ),
    (
        "undo",
        "roll out the model of the endpoint's previous successful rollout",
        "the endpoint to take back to its previous good model",
        "why (stored with the request)",
        False,
    ),
)


def _add_steering_commands(commands: Any, aws: Any) -> None:
    for name, help_text, endpoint_help, reason_help, reason_required in STEERING_COMMANDS:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("endpoint", help=endpoint_help)
        if name == "approve":
            command.add_argument("--reject", action="store_true", help="reject the gate: the rollout rolls back")
        if reason_help is not None:
            command.add_argument("--reason", required=reason_required, default="", help=reason_help)
        command.add_argument("--by", default="", help="a comment: your name (AWS records the principal that signed)")
        aws(command)
        command.set_defaults(run=_with_stack(_steer))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollout",
        description="Safe rollouts of SageMaker models to endpoints.",
        epilog=f"`simulate` needs the simulator ({SIMULATOR_EXTRA}); every other command needs only this package.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def aws(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--stack",
            default=None,
            help="the deployed stack (default: --env's, else $ROLLOUT_STACK, else samconfig.toml's default "
            "environment's, else sagemaker-rollout-dev)",
        )
        sub.add_argument(
            "--env",
            default=None,
            help="a samconfig.toml environment (as `sam deploy --config-env`): its stack_name and region "
            "(default: $ROLLOUT_ENV)",
        )
        sub.add_argument(
            "--config-file", default="samconfig.toml", help="the SAM config file --env reads (samconfig.toml)"
        )
        sub.add_argument("--region", default=None, help="AWS region of the stack (default: your AWS configuration's)")
        sub.add_argument("--json", action="store_true", help="print JSON for scripts (errors too)")

    simulate = commands.add_parser(
        "simulate",
        help="run a scenario through the real state machine, locally (needs the simulator extra)",
        description=f"Run a scenario through the real state machine, locally. Needs the simulator: {SIMULATOR_EXTRA}.",
    )
    simulate.add_argument("scenario", help="scenario file (YAML), or the name of a shipped one (canary-happy-path)")
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
    validate.add_argument("file", help="policy document (JSON or YAML)")
    validate.add_argument("--json", action="store_true", help="print JSON for scripts (errors too)")
    validate.set_defaults(run=_policy_validate)
    put = policy_commands.add_parser(
        "put", help="validate a group's policy and write it to the SSM parameter the stack reads"
    )
    put.add_argument("group", help="model package group")
    put.add_argument("file", help="policy document (JSON)")
    aws(put)
    put.set_defaults(run=_with_stack(_policy_put))
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

    status = commands.add_parser(
        "status", help="running rollouts: step, progress, live traffic shares, latest verdict, time left"
    )
    status.add_argument("endpoint", nargs="?", help="only this endpoint's rollout (default: every running one)")
    status.add_argument(
        "--watch", action="store_true", help="look again every --interval until every rollout seen has ended"
    )
    status.add_argument("--interval", type=float, default=5.0, help="seconds between looks with --watch (5)")
    status.add_argument(
        "--exit-status",
        action="store_true",
        help="a CI gate: exit 0 if the rollout succeeded, 1 if it ended otherwise, 4 if it still runs "
        "(with --watch: wait for the end)",
    )
    aws(status)
    status.set_defaults(run=_with_stack(_status))

    _add_steering_commands(commands, aws)
    env_file = commands.add_parser(
        "env-vars", help="print the `sam local invoke --env-vars` file for a deployed stack (its names, as JSON)"
    )
    aws(env_file)
    env_file.set_defaults(run=_with_stack(_env_vars))

    history = commands.add_parser("history", help="an endpoint's rollout records, newest first")
    history.add_argument("endpoint", help="the endpoint")
    history.add_argument("--limit", type=int, default=20, help="at most this many records (20)")
    aws(history)
    history.set_defaults(run=_with_stack(_history))
    return parser


def version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("sagemaker-rollout")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code. A reader that stops early (``| head``) ends it quietly."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away: say nothing more (Python's documented recipe: point stdout at devnull so the
        # interpreter's final flush does not fail again)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
