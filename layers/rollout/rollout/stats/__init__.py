"""The statistics of the judge: pure Python, no numpy or scipy (the Lambda layer stays small and quick to import).

- ``proportions``: are the error rates different? Fisher's exact test or the pooled two-proportion z test.
- ``rates``: tests of the error rates with a tolerance (absolute or relative), Poisson model, exact for small counts.
- ``noninferiority``: is the new error rate worse than the baseline's beyond the tolerance? Three-valued, with the
  invocations that would decide an inconclusive verdict.
- ``ranks``: is the new variant slower than ``ratio`` x the baseline? Mann-Whitney U on per-minute figures.
- ``sequential``: A/B tests that may stop early - mixture sequential tests, valid at every look.
- ``answers`` / ``distance``: what two models answered to the same requests (SageMaker's CSV and JSON response
  formats), agreement of labels, distances between scores.
- ``distributions``: the normal and the discrete laws the tests need, in log space.

Every function is checked against scipy / statsmodels (test-only dependencies) in ``tests/unit/test_stats_*.py``.
Import from the submodules: this package imports nothing, so a handler pays only for the tests it uses
(the whole package takes a few milliseconds to import from compiled bytecode).
"""
