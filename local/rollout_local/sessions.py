"""The simulator's own boto3 sessions: one client per service, made once per process.

Local mode's setup and its world (deploying the stack, creating endpoints and buckets, putting policies and
metrics, reading the record for the report), the tests' look at the account, and the outside world's people and
teams asked boto3 for new clients at every step and every simulation; a client costs a copy of its session's event
handlers and an endpoint resolver (2-4 ms, more than most calls). These clients hold nothing of a simulation:
default (legacy) retries keep no retry quota, the credentials are moto's fixed ones, every request goes through
moto's one entry point into whichever account is open, and local mode registers no handler on a client. So one
set serves every simulation of the process (boto3's clients are thread-safe). The service's own code keeps its
clients (``rollout.aws.clients``), made as it makes them on AWS, anew in every simulation: their standard-mode
retry quota is state.
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


_SESSIONS: dict[tuple[str, str], SharedSession] = {}
_LOCK = threading.Lock()


def shared_session(who: str, region_name: str) -> SharedSession:
    """The process's session for ``who`` (the simulator, or the outside world) in ``region_name``."""
    with _LOCK:
        key = (who, region_name)
        if key not in _SESSIONS:
            _SESSIONS[key] = SharedSession(region_name=region_name)
        return _SESSIONS[key]
