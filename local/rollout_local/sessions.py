"""The simulator's own boto3 session: one client per service for the whole simulation.

Local mode's setup and its world (deploying the stack, creating endpoints and buckets, putting policies and
metrics, reading the record for the report) asked boto3 for a new client at each of these steps; a client costs a
copy of the session's event handlers and an endpoint resolver, about as much as a call. boto3's clients are
thread-safe, so the simulator's threads share one per service. The service's own code keeps its clients
(``rollout.aws.clients``), made as it makes them on AWS.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3


class SharedSession:
    """A boto3 session that makes each plain client (a service name and nothing else) once; anything else is the
    session's own."""

    def __init__(self, **kwargs: Any) -> None:
        self.session = boto3.Session(**kwargs)
        self._shared: dict[str, Any] = {}
        self._making = threading.Lock()

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # another region, endpoint or config: a client of its own, as boto3 makes it
            return self.session.client(service_name, *args, **kwargs)
        with self._making:
            if service_name not in self._shared:
                self._shared[service_name] = self.session.client(service_name)
            return self._shared[service_name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)
