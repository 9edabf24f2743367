"""Pure judging of a pre-traffic verification: the same requests answered by the baseline and the new variant.

No AWS, no clock: ``steps.verify`` replays the requests and hands over each pair of answers (``Replayed``); this
module compares errors, latency and the answers themselves (``stats.answers``) with the policy's thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rollout.frozen import frozen
from rollout.models.policy import Verification
from rollout.models.progress import ReplayExample, VerificationResult
from rollout.stats.answers import Answer, AnswerParseError, compare_answers, parse_answers
from rollout.stats.core import StatsInputError

SHOWN_CHARS = 200  # an example's request and answers are cut to this many characters in the record


@frozen
class Reply:
    """One variant's reply to one request: its body and content type, or the error it gave."""

    body: bytes
    content_type: str
    latency_ms: float
    error: str | None = None


@frozen
class Replayed:
    """One request and both variants' replies."""

    request: bytes
    baseline: Reply
    new: Reply


def _median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _parsed(reply: Reply) -> list[Answer] | None:
    try:
        return parse_answers(reply.body, reply.content_type)
    except AnswerParseError:
        return None


def judge_replay(
    policy: Verification, replayed: Sequence[Replayed], source: str, baseline_variant: str
) -> VerificationResult:
    """The verdict on the replay: every threshold the policy sets must hold (see ``Verification``)."""
    count = len(replayed)
    base_errors = sum(1 for r in replayed if r.baseline.error is not None)
    new_errors = sum(1 for r in replayed if r.new.error is not None)
    base_latency = _median([r.baseline.latency_ms for r in replayed if r.baseline.error is None])
    new_latency = _median([r.new.latency_ms for r in replayed if r.new.error is None])
    failures: list[str] = []
    shown: list[str] = [f"{count} requests from {source}"]
    examples: list[ReplayExample] = []
    if count < policy.min_requests:
        failures.append(f"only {count} requests could be replayed, fewer than min_requests={policy.min_requests}")
    if count:
        increase = (new_errors - base_errors) / count
        shown.append(f"errors new {new_errors} vs baseline {base_errors}")
        if increase > policy.max_error_rate_increase:
            failures.append(
                f"the new variant failed {new_errors} of {count} requests, the baseline {base_errors} "
                f"(+{increase:.1%} > max_error_rate_increase {policy.max_error_rate_increase:.1%})"
            )
            first = next(r for r in replayed if r.new.error is not None and r.baseline.error is None)
            examples.append(
                ReplayExample(
                    request=_cut(first.request.decode("utf-8", "replace")),
                    baseline=_cut(first.baseline.body.decode("utf-8", "replace")),
                    new=_cut(first.new.error or ""),
                    why="the new variant failed",
                )
            )
    if base_latency and new_latency is not None:
        ratio = new_latency / base_latency
        shown.append(f"median latency {new_latency:.1f} vs {base_latency:.1f} ms")
        if policy.max_latency_ratio is not None and ratio > policy.max_latency_ratio:
            failures.append(
                f"median latency {new_latency:.1f} ms is {ratio:.2f}x the baseline's {base_latency:.1f} ms "
                f"> max_latency_ratio {policy.max_latency_ratio:g}"
            )
    agreement = difference = ks = None
    answered = [
        (r, _parsed(r.baseline), _parsed(r.new)) for r in replayed if r.baseline.error is None and r.new.error is None
    ]
    pairs = [(r, b, n) for r, b, n in answered if b is not None and n is not None and len(b) == len(n)]
    unreadable = len(answered) - len(pairs)
    if unreadable:
        failures.append(f"{unreadable} answers could not be read or paired (content types: JSON or CSV)")
    if pairs:
        baseline_answers = [a for _, b, _ in pairs for a in b]
        new_answers = [a for _, _, n in pairs for a in n]
        requests_of = [r for r, b, _ in pairs for _ in b]
        try:
            compared = compare_answers(baseline_answers, new_answers, examples=policy.examples)
        except StatsInputError as exc:
            failures.append(f"answers not compared: {exc}")
        else:
            if compared.labels is not None:
                agreement = compared.labels.rate
                shown.append(f"label agreement {agreement:.1%}")
                if policy.min_label_agreement is not None and agreement < policy.min_label_agreement:
                    failures.append(
                        f"the labels agree on {agreement:.1%} of requests < min_label_agreement "
                        f"{policy.min_label_agreement:.1%}"
                    )
            if compared.scores is not None:
                difference, ks = compared.scores.mean_abs_difference, compared.scores.ks_statistic
                shown.append(f"mean score difference {difference:.4g}")
                if policy.max_score_difference is not None and difference > policy.max_score_difference:
                    failures.append(
                        f"the scores differ by {difference:.4g} on average > max_score_difference "
                        f"{policy.max_score_difference:g}"
                    )
            for example in compared.examples[: max(0, policy.examples - len(examples))]:
                examples.append(
                    ReplayExample(
                        request=_cut(requests_of[example.index].request.decode("utf-8", "replace")),
                        baseline=_cut(example.baseline.shown()),
                        new=_cut(example.new.shown()),
                        why=example.why,
                    )
                )
    passed = not failures
    reason = ("verification passed: " if passed else "verification failed: ") + "; ".join(failures or shown)
    if not passed:
        reason += f" ({', '.join(shown)})"
    return VerificationResult(
        passed=passed,
        requests=count,
        sample_source=source,
        baseline_variant=baseline_variant,
        baseline_errors=base_errors,
        new_errors=new_errors,
        baseline_latency_ms=base_latency,
        new_latency_ms=new_latency,
        label_agreement=agreement,
        score_mean_abs_difference=difference,
        score_ks=ks,
        examples=tuple(examples[: policy.examples]),
        reason=reason,
    )


def judged_from(start: datetime, verification: VerificationResult | None) -> datetime:
    """Where a check's metric window may begin: at ``start`` (the bake's), but never in a minute that holds the
    pre-traffic replay. CloudWatch counts every InvokeEndpoint, TargetVariant or not, in the variant's per-minute
    metrics, and windows are read in whole minutes: a bake that began in the replay's last minute would judge the
    replayed requests as live traffic (more invocations than callers sent, and the replay's errors)."""
    last = verification.replayed_until if verification is not None else None
    if last is None:
        return start
    quiet = last.replace(second=0, microsecond=0) + timedelta(minutes=1)  # the first minute without the replay
    return max(start, quiet)
