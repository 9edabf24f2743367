"""One module per workflow step: each takes the RolloutState, does its work through the adapters, returns it.

Steps are re-entrant: run twice on the same state, they find their own earlier work and do not repeat it.
"""
