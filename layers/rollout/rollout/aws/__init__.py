"""Adapters, one module per AWS service: the only place that imports boto3. ClientError becomes errors.*."""
