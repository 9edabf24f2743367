"""Local mode: the real state machine and handlers on an emulated AWS, in virtual time, plus the `rollout` CLI."""
