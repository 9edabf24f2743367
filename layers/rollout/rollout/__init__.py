"""The rollout service's domain: policies, plans, decisions, and the adapters that talk to AWS."""

__version__ = "0.1.0"
