"""Pure planning, one room per idea (read a module's docstring for why it is one):

- ``configs``: the EndpointConfig and UpdateEndpointWeightsAndCapacities requests a rollout makes - the new config,
  the side-by-side and shadow configs, the promotion, the weights of a step and of a rollback, autoscaling;
- ``steps``: the traffic steps a strategy walks and how a person reads them;
- ``guardrails``: the DeploymentConfig of SageMaker's own blue/green and rolling updates;
- ``refusals``: why a strategy cannot run on an endpoint, checked before anything is created.

No facade: a file imports each function from the room that holds its idea.
"""
