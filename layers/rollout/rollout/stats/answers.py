"""What two models answered to the same requests, and how far apart the answers are.

Parsing (``parse_answers``) turns one response body into records - each a label, scores, or both - for the
content types SageMaker's built-in algorithms answer with (Developer Guide, "Common data formats for inference"
and each algorithm's "response formats"):

- ``text/csv``: one record per line (XGBoost answers one score per line, or one line of class probabilities per
  record; older containers put a batch on one line, which then reads as one record of several scores - the score
  comparison is the same, only the record count differs). Fields that are numbers are scores; one field that is
  not is the record's label (quoted fields are unquoted).
- ``application/json``: ``{"predictions": [...]}`` (linear learner, factorization machines, k-NN, XGBoost, TF
  Serving), ``{"scores": [...]}``, ``{"probabilities": [...]}``, ``{"outputs": [...]}``, a bare list (image
  classification, BlazingText), or a single record. A record is a number (a score), a string (a label), a list
  of numbers (scores, e.g. class probabilities), or an object with a label in ``predicted_label`` or ``label``
  and scores in the first of ``score``, ``scores``, ``predicted_score``, ``probabilities``, ``probability``,
  ``prob``, ``mean``. XGBoost's ``labels`` (the list of every class) is deliberately not read as a label.
- ``application/jsonlines``: one JSON record (or list of records) per line.

Anything else - another content type, text that is not UTF-8, malformed JSON, a record with neither a label nor
scores, a number that is not finite - raises ``AnswerParseError`` with one line that says where and what.

Comparison (``compare_answers``) pairs the records of the two models in order (a replay sends both the same
requests) and reports the agreement rate of the labels with its Wilson interval, and for the scores the mean and
largest absolute difference of the paired scores, the Kolmogorov-Smirnov distance with its p-value and the
Wasserstein-1 distance of their distributions, plus a few example disagreements for the record.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from typing import Any

from rollout.frozen import frozen
from rollout.stats.core import StatsInputError, check_level
from rollout.stats.distance import ks_2samp, wasserstein_distance, wilson_interval

CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines")
_COLLECTIONS = ("predictions", "scores", "probabilities", "outputs")
_LABEL_KEYS = ("predicted_label", "label")
_SCORE_KEYS = ("score", "scores", "predicted_score", "probabilities", "probability", "prob", "mean")


class AnswerParseError(StatsInputError):
    """A response body that cannot be read as answers; the message says where and why."""


@frozen
class Answer:
    """One record of a model's answer: a label, scores, or both."""

    label: str | None = None
    scores: tuple[float, ...] = ()

    def shown(self) -> str:
        scores = ",".join(f"{s:.4g}" for s in self.scores)
        if self.label is not None and scores:
            return f"{self.label} ({scores})"
        return self.label if self.label is not None else f"[{scores}]"


def _label_text(value: object) -> str:
    """A label as text; numbers that are whole (k-NN answers ``2.0``) read the same as their integer."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _score(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerParseError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise AnswerParseError(f"{where}: {value!r} is not a finite score")
    return float(value)


def _scores(value: object, where: str) -> tuple[float, ...]:
    if isinstance(value, list):
        return tuple(_score(v, f"{where}[{i}]") for i, v in enumerate(value))
    return (_score(value, where),)


def _json_record(item: object, where: str, numbers_as_labels: bool) -> Answer:
    if isinstance(item, bool | str):
        return Answer(label=_label_text(item))
    if isinstance(item, int | float):
        score = _score(item, where)
        return Answer(label=_label_text(score)) if numbers_as_labels else Answer(scores=(score,))
    if isinstance(item, list):
        if item and all(isinstance(v, str) for v in item):
            return Answer(label=item[0])  # a ranked list of labels (BlazingText's top-k): the first is the answer
        if any(isinstance(v, list | dict) for v in item):
            raise AnswerParseError(f"{where}: a nested list is not a record this comparison can read")
        return Answer(scores=_scores(item, where))
    if isinstance(item, dict):
        label_key = next((k for k in _LABEL_KEYS if k in item), None)
        score_key = next((k for k in _SCORE_KEYS if k in item), None)
        if label_key is None and score_key is None:
            found = ", ".join(sorted(item)) or "no fields"
            known = ", ".join(_LABEL_KEYS + _SCORE_KEYS)
            raise AnswerParseError(f"{where}: none of the known fields ({known}); it has {found}")
        label = None
        if label_key is not None:
            raw = item[label_key]
            if isinstance(raw, list):
                if not raw:
                    raise AnswerParseError(f"{where}.{label_key}: an empty list of labels")
                raw = raw[0]
            if isinstance(raw, dict | list) or raw is None:
                raise AnswerParseError(f"{where}.{label_key}: expected a label, got {raw!r}")
            label = _label_text(raw)
        scores = _scores(item[score_key], f"{where}.{score_key}") if score_key is not None else ()
        return Answer(label=label, scores=scores)
    raise AnswerParseError(f"{where}: expected a number, text, list or object, got {item!r}")


def _json_records(document: object, where: str, numbers_as_labels: bool) -> list[Answer]:
    items: object = document
    if isinstance(document, dict):
        key = next((k for k in _COLLECTIONS if k in document), None)
        if key is None:
            return [_json_record(document, where, numbers_as_labels)]
        items, where = document[key], f"{where}.{key}"
    if isinstance(items, list):
        return [_json_record(item, f"{where}[{i}]", numbers_as_labels) for i, item in enumerate(items)]
    return [_json_record(items, where, numbers_as_labels)]


def _no_constants(name: str) -> Any:
    raise AnswerParseError(f"{name} is not a finite score")


def _load_json(text: str, where: str) -> object:
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise AnswerParseError(
            f"{where}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None


def _csv_records(text: str, numbers_as_labels: bool) -> list[Answer]:
    records: list[Answer] = []
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as error:
        raise AnswerParseError(f"not valid CSV: {error}") from None
    for line, row in enumerate(rows, start=1):
        fields = [field.strip() for field in row]
        if not any(fields):
            continue
        labels: list[str] = []
        scores: list[float] = []
        for field in fields:
            try:
                number = float(field)
            except ValueError:
                labels.append(field)
                continue
            if not math.isfinite(number):
                raise AnswerParseError(f"line {line}: {field!r} is not a finite score")
            scores.append(number)
        if len(labels) > 1:
            raise AnswerParseError(f"line {line}: {len(labels)} text fields ({', '.join(labels)}); one label at most")
        if labels:
            records.append(Answer(label=labels[0], scores=tuple(scores)))
        elif numbers_as_labels and len(scores) == 1:
            records.append(Answer(label=_label_text(scores[0])))
        else:
            records.append(Answer(scores=tuple(scores)))
    return records


def parse_answers(body: bytes | str, content_type: str, numbers_as_labels: bool = False) -> list[Answer]:
    """The records of one response body of ``content_type`` (parameters such as ``; charset=utf-8`` ignored).

    ``numbers_as_labels``: a record that is a single number is a class label (XGBoost ``multi:softmax``, k-NN
    classifiers answer the class as a number) rather than a score.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise AnswerParseError(
            f"content type {content_type!r} cannot be compared; supported: {', '.join(CONTENT_TYPES)}"
        )
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise AnswerParseError(f"the body is not UTF-8 text (byte {error.start})") from None
    else:
        text = body
    if kind == "text/csv":
        return _csv_records(text, numbers_as_labels)
    if kind == "application/json":
        return _json_records(_load_json(text, "the body"), "the body", numbers_as_labels)
    records: list[Answer] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            where = f"line {number}"
            records.extend(_json_records(_load_json(line, where), where, numbers_as_labels))
    return records


@frozen
class LabelAgreement:
    """How often the two models gave the same label, with a Wilson interval at the comparison's confidence."""

    agree: int
    total: int
    rate: float
    low: float
    high: float


@frozen
class ScoreDifference:
    """How far apart the paired scores are."""

    pairs: int
    mean_abs_difference: float
    max_abs_difference: float
    ks_statistic: float  # the largest gap between the two score distributions (0 = identical, 1 = disjoint)
    ks_p_value: float
    ks_method: str
    wasserstein: float  # in the units of the score


@frozen
class Disagreement:
    """One record where the answers differ, for the record and the report."""

    index: int
    baseline: Answer
    new: Answer
    why: str


@frozen
class AnswerComparison:
    records: int
    labels: LabelAgreement | None  # None when neither model answered with labels
    scores: ScoreDifference | None  # None when no record has scores of the same shape from both
    shape_mismatches: int  # records where one model gave a label or scores the other did not, or another count
    examples: tuple[Disagreement, ...]


def compare_answers(
    baseline: Sequence[Answer], new: Sequence[Answer], confidence: float = 0.95, examples: int = 5
) -> AnswerComparison:
    """Compare two models' answers to the same requests, record by record (see the module docstring).

    A record where one side has a label and the other not, or the two score lists differ in length, is a shape
    mismatch: it counts as a label disagreement when either side has a label, and its scores are left out.
    ``examples`` disagreements are kept: label disagreements and mismatches first, then the largest score gaps.
    """
    confidence = check_level("confidence", confidence, low=0.0)
    if len(baseline) != len(new):
        raise StatsInputError(
            f"the baseline gave {len(baseline)} records and the new model {len(new)}: answers cannot be paired"
        )
    if not baseline:
        raise StatsInputError("no answers to compare")
    agree = labelled = mismatches = 0
    firsts: list[float] = []
    seconds: list[float] = []
    gaps: list[float] = []
    differing: list[Disagreement] = []
    score_gaps: list[tuple[float, int]] = []
    for index, (old, fresh) in enumerate(zip(baseline, new, strict=True)):
        same_shape = len(old.scores) == len(fresh.scores) and (old.label is None) == (fresh.label is None)
        mismatches += not same_shape
        if old.label is not None or fresh.label is not None:
            labelled += 1
            if old.label == fresh.label:
                agree += 1
            else:
                both = old.label is not None and fresh.label is not None
                differing.append(Disagreement(index, old, fresh, "labels differ" if both else "only one has a label"))
        if len(old.scores) != len(fresh.scores):
            if old.label is None and fresh.label is None:
                differing.append(Disagreement(index, old, fresh, "different numbers of scores"))
            continue
        record_gap = 0.0
        for a, b in zip(old.scores, fresh.scores, strict=True):
            firsts.append(a)
            seconds.append(b)
            gaps.append(abs(b - a))
            record_gap = max(record_gap, abs(b - a))
        if record_gap > 0:
            score_gaps.append((record_gap, index))
    labels = None
    if labelled:
        low, high = wilson_interval(agree, labelled, confidence)
        labels = LabelAgreement(agree, labelled, agree / labelled, low, high)
    scores = None
    if gaps:
        d, p, method = ks_2samp(seconds, firsts)
        scores = ScoreDifference(
            pairs=len(gaps),
            mean_abs_difference=math.fsum(gaps) / len(gaps),
            max_abs_difference=max(gaps),
            ks_statistic=d,
            ks_p_value=p,
            ks_method=method,
            wasserstein=wasserstein_distance(seconds, firsts),
        )
    kept = differing[:examples]
    for gap, index in sorted(score_gaps, key=lambda item: (-item[0], item[1])):
        if len(kept) >= examples:
            break
        if all(d.index != index for d in kept):
            kept.append(Disagreement(index, baseline[index], new[index], f"scores differ by up to {gap:.4g}"))
    return AnswerComparison(len(baseline), labels, scores, mismatches, tuple(kept))
