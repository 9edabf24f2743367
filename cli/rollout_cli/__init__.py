"""The operator's `rollout` command: it needs only boto3 and pydantic (and the ``rollout`` layer package for the
policy model and the AWS adapters); `rollout simulate` needs the simulator extra (``rollout_local``)."""
