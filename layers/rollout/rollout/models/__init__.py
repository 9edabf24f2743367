"""The domain's types, one room per idea (read a module's docstring for why it is one):

- ``base``: the frozen model every input and record derives from, and the SageMaker name pattern all share;
- ``policy``: what an operator writes - strategies, capacities, gates, analysis, verification (the policy schema);
- ``request``: what asks for a rollout - the model package and who or what started it;
- ``endpoint``: what SageMaker has - a described endpoint, its variants and autoscaling, what the rollout expects;
- ``progress``: where a rollout is - phases, lock, target, verdicts, bake and gate state, results, ``RolloutState``.

Spec and status stay apart, as in Argo Rollouts: the policy and the request are the immutable input, the progress
is what every step of the state machine receives and returns whole. There is no facade here: a file imports each
type from the room that holds its idea, so its imports say which ideas it uses.
"""
