"""What the service tells the world, in one room: ``kinds`` (the events and their detail), ``messages`` (the human
SNS text, fitted to SNS's limits) and ``announcing`` (sending both, best effort, with retries of what failed). The
boto3 calls live in the adapter ``rollout.aws.notify``, since only adapters import boto3."""
