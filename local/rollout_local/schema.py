"""The policy's JSON Schema, generated from the pydantic model: `python -m rollout_local.schema [--check] FILE`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rollout.models.policy import Policy


def policy_schema() -> str:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SageMaker rollout policy"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if FILE is not up to date")
    args = parser.parse_args(argv)
    current = policy_schema()
    if args.check:
        if not args.file.exists() or args.file.read_text() != current:
            print(f"{args.file} is out of date: run `python -m rollout_local.schema {args.file}`", file=sys.stderr)
            return 1
        return 0
    args.file.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
