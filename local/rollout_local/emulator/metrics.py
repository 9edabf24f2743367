"""CloudWatch's metric store for the namespaces the simulated world publishes, indexed by series and minute.

moto keeps every datapoint in one list and scans all of them for every query, expanding a ``Values``/``Counts``
datapoint into one entry per count: a query cost grows with the whole history, so a long bake was quadratic.
Here each series (namespace, metric, exact dimensions) keeps its datapoints per period start in time order,
each with the instant it becomes visible (AWS publishes endpoint metrics with a delay), and a query reads only
the buckets of the window it asks for. ``patches.py`` answers ``GetMetricData``, ``GetMetricStatistics`` and
``PutMetricData`` for these namespaces from here (after IAM and the request checks, as every call); the
statistics are moto's (Sum, SampleCount, Average, Minimum, Maximum over every sample, nearest-rank percentiles),
the buckets moto's (``GetMetricData``: periods from ``StartTime``; ``GetMetricStatistics``: from the first
datapoint), so answers are the ones moto gave for the same data.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric name, dimensions


@dataclass
class Datapoint:
    """One PutMetricData member: its samples as (value, count), its unit, and when CloudWatch shows it."""

    timestamp: datetime
    samples: list[tuple[float, float]]
    unit: str | None
    visible_at: datetime


BLOCK = 64  # datapoints per precomputed summary: a window costs its length / BLOCK plus two partial blocks
SPAN = BLOCK * BLOCK  # datapoints per summary of BLOCK summaries: a long window costs its length / SPAN, plus edges


class Samples:
    """Samples as (value, count) pairs, kept as their summary: count, total, extremes and the merged histogram
    (value -> count), with CloudWatch's statistics over them. Summaries merge, so a long window is answered from
    per-block summaries (``_Series``) instead of every datapoint's samples."""

    __slots__ = ("count", "hist", "maximum", "minimum", "pairs", "total")

    def __init__(self, points: Iterable[Datapoint] = ()) -> None:
        self.pairs = 0  # how many (value, count) pairs (a datapoint with no samples adds none)
        self.count = 0.0
        self.total = 0.0
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.hist: dict[float, float] = {}
        for point in points:
            self.add(point.samples)

    def __bool__(self) -> bool:
        return self.pairs > 0

    def add(self, samples: list[tuple[float, float]]) -> None:
        """Add one datapoint's samples."""
        hist = self.hist
        for value, count in samples:
            self.pairs += 1
            self.count += count
            self.total += value * count
            hist[value] = hist.get(value, 0) + count
            if self.minimum is None or value < self.minimum:
                self.minimum = value
            if self.maximum is None or value > self.maximum:
                self.maximum = value

    def merge(self, other: Samples) -> None:
        """Add every sample of ``other``."""
        if not other.pairs:
            return
        self.pairs += other.pairs
        self.count += other.count
        self.total += other.total
        hist = self.hist
        for value, count in other.hist.items():
            hist[value] = hist.get(value, 0) + count
        if other.minimum is not None and (self.minimum is None or other.minimum < self.minimum):
            self.minimum = other.minimum
        if other.maximum is not None and (self.maximum is None or other.maximum > self.maximum):
            self.maximum = other.maximum

    def statistic(self, stat: str) -> float | None:
        """Sum, SampleCount, Average, Minimum, Maximum or pNN (nearest rank, as CloudWatch on raw samples)."""
        if not self.pairs:
            return None
        if stat == "Sum":
            return self.total
        if stat == "SampleCount":
            return self.count
        if stat == "Average":
            return self.total / self.count if self.count else None
        if stat == "Minimum":
            return self.minimum
        if stat == "Maximum":
            return self.maximum
        if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
            return self.percentile(float(stat[1:]))
        return None

    def percentile(self, p: float) -> float:
        ranked = sorted(self.hist.items())
        total = sum(c for _, c in ranked)
        rank = min(max(1, -(-round(p * total) // 100)), total)
        seen = 0.0
        for value, count in ranked:
            seen += count
            if seen >= rank:
                return value
        return ranked[-1][0]


@dataclass
class _Block:
    """The summary of BLOCK consecutive datapoints, and what decides whether it may stand for them in a query."""

    samples: Samples
    last_visible: datetime  # the latest visible_at among them: before that instant some are still unpublished
    units: frozenset[str | None]


def _take(summary: _Block, result: Samples, now: datetime, unit: str | None) -> bool:
    """Whether ``summary`` answers for its datapoints: merged into ``result`` when every one is visible at ``now``
    and of ``unit``, or passed over when none is of ``unit``. False: its datapoints must be looked at."""
    if summary.last_visible <= now and (not unit or summary.units == {unit}):
        result.merge(summary.samples)
        return True
    return bool(unit) and unit not in summary.units


@dataclass
class _Series:
    times: list[datetime] = field(default_factory=list)  # sorted timestamps (datapoints arrive mostly in order)
    points: list[Datapoint] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)  # summaries of points[k*BLOCK:(k+1)*BLOCK], built lazily
    spans: list[_Block] = field(default_factory=list)  # summaries of BLOCK blocks each (SPAN points), built lazily

    def add(self, point: Datapoint) -> None:
        index = bisect.bisect_right(self.times, point.timestamp)
        self.times.insert(index, point.timestamp)
        self.points.insert(index, point)
        del self.blocks[index // BLOCK :]  # a datapoint arriving late: the summaries from its block on are stale
        del self.spans[index // SPAN :]

    def window(self, start: datetime, end: datetime) -> list[Datapoint]:
        """Datapoints with ``start <= timestamp < end``, in time order."""
        return self.points[bisect.bisect_left(self.times, start) : bisect.bisect_left(self.times, end)]

    def span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The indexes [first, last) of the datapoints with ``start <= timestamp < end``."""
        return bisect.bisect_left(self.times, start), bisect.bisect_left(self.times, end)

    def summary(self, first: int, last: int, now: datetime, unit: str | None) -> Samples:
        """The samples of points[first:last] visible at ``now`` (and of ``unit`` if given): whole blocks from
        their summaries, the rest point by point - the same samples a scan of every datapoint would find."""
        result = Samples()
        index = first
        while index < last:
            block_index = index // BLOCK
            covered = False
            for size, summaries in ((SPAN, self._span), (BLOCK, self._block)):  # a month: ~10 spans, not ~700 blocks
                if index % size == 0 and index + size <= last:
                    covered = _take(summaries(index // size), result, now, unit)
                    if covered:
                        index += size
                        break
            if covered:
                continue
            stop = min(last, (block_index + 1) * BLOCK)
            for point in self.points[index:stop]:
                if point.visible_at <= now and (not unit or point.unit == unit):
                    result.add(point.samples)
            index = stop
        return result

    def _span(self, index: int) -> _Block:
        while len(self.spans) <= index:
            first = len(self.spans) * BLOCK
            blocks = [self._block(k) for k in range(first, first + BLOCK)]
            samples = Samples()
            for block in blocks:
                samples.merge(block.samples)
            last_visible = max(b.last_visible for b in blocks)
            self.spans.append(_Block(samples, last_visible, frozenset().union(*(b.units for b in blocks))))
        return self.spans[index]

    def _block(self, index: int) -> _Block:
        while len(self.blocks) <= index:
            points = self.points[len(self.blocks) * BLOCK : (len(self.blocks) + 1) * BLOCK]
            self.blocks.append(
                _Block(Samples(points), max(p.visible_at for p in points), frozenset(p.unit for p in points))
            )
        return self.blocks[index]


class MetricStore:
    """Datapoints of the owned namespaces, indexed; answers queries as of ``now()`` (unpublished ones hidden)."""

    def __init__(self, now: Callable[[], datetime], namespaces: Iterable[str]) -> None:
        self.now = now
        self.namespaces = frozenset(namespaces)
        self._series: dict[SeriesKey, _Series] = {}
        self._lock = threading.Lock()
        self.metrics_requested = 0  # GetMetricData's MetricStat queries answered (what CloudWatch bills)

    def owns(self, namespace: str | None) -> bool:
        return namespace in self.namespaces

    # --- writing -----------------------------------------------------------------------------------------

    def put(
        self,
        namespace: str,
        metric: str,
        dimensions: Iterable[tuple[str, str]],
        timestamp: datetime,
        samples: list[tuple[float, float]],
        unit: str | None = None,
        visible_at: datetime | None = None,
    ) -> None:
        """Store one datapoint; it is visible from ``visible_at`` (default: at once)."""
        key = (namespace, metric, _dimensions(dimensions))
        point = Datapoint(timestamp, samples, unit, visible_at or self.now())
        with self._lock:
            self._series.setdefault(key, _Series()).add(point)

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        """PutMetricData members as moto parses them (Value, Values/Counts or StatisticValues)."""
        for member in metric_data:
            timestamp = _aware(member.get("Timestamp") or self.now())
            dims = [(d["Name"], d["Value"]) for d in member.get("Dimensions") or []]
            if member.get("Values"):
                values = member["Values"]
                counts = member.get("Counts") or [1] * len(values)
                samples = [(float(v), float(int(float(c)))) for v, c in zip(values, counts, strict=False)]
            elif member.get("StatisticValues"):
                stats = member["StatisticValues"]
                count = float(stats["SampleCount"])
                # an aggregate keeps its sum and sample count (min/max are approximated by the mean)
                samples = [(float(stats["Sum"]) / count if count else 0.0, count)]
            else:
                samples = [(float(member.get("Value", 0)), 1.0)]
            self.put(namespace, member["MetricName"], dims, timestamp, samples, member.get("Unit"))

    # --- reading -----------------------------------------------------------------------------------------

    def window(
        self,
        namespace: str,
        metric: str,
        dimensions: Iterable[tuple[str, str]],
        start: datetime,
        end: datetime,
        unit: str | None = None,
    ) -> list[Datapoint]:
        """The visible datapoints of one series in [start, end)."""
        start, end, now = _aware(start), _aware(end), self.now()
        with self._lock:
            series = self._series.get((namespace, metric, _dimensions(dimensions)))
            points = series.window(start, end) if series is not None else []
        return [p for p in points if p.visible_at <= now and (not unit or p.unit == unit)]

    def get_metric_data(
        self, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime, scan_by: str
    ) -> list[dict[str, Any]]:
        """GetMetricData's MetricStat queries (moto's buckets: every ``Period`` from ``StartTime`` through
        ``EndTime``, a value for each bucket with data), then metric math on their results (moto's parser)."""
        from moto.cloudwatch.metric_data_expression_parser import parse_expression

        start_time, end_time = _aware(start_time).replace(microsecond=0), _aware(end_time).replace(microsecond=0)
        start_time = rounded_start(start_time, self.now())
        results: list[dict[str, Any]] = []
        returned: list[dict[str, Any]] = []
        for query in (q for q in queries if "MetricStat" in q):
            self.metrics_requested += 1
            stat_query = query["MetricStat"]
            metric = stat_query["Metric"]
            delta = timedelta(seconds=int(stat_query["Period"]))
            stat = stat_query["Stat"]
            values: list[float | None] = []  # a Period too fine for the StartTime's age: AWS returns no datapoints
            timestamps: list[datetime] = []
            if period_allowed(int(stat_query["Period"]), start_time, self.now()):
                values, timestamps = self._buckets(
                    (metric["Namespace"], metric["MetricName"], _dimensions(metric.get("Dimensions") or [])),
                    start_time,
                    end_time,
                    delta,
                    stat,
                    stat_query.get("Unit"),
                )
            if scan_by == "TimestampDescending":
                values.reverse()
                timestamps.reverse()
            result = {
                "id": query["Id"],
                "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                "values": values,
                "timestamps": timestamps,
                "status_code": "Complete",
            }
            results.append(result)
            if query.get("ReturnData", True):
                returned.append(dict(result))
        for query in (q for q in queries if "Expression" in q):
            computed, at = parse_expression(query["Expression"], results)
            returned.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or query["Id"],
                    "values": computed,
                    "timestamps": at,
                    "status_code": "Complete",
                }
            )
        return returned

    def _buckets(
        self, key: SeriesKey, start: datetime, end: datetime, delta: timedelta, stat: str, unit: str | None
    ) -> tuple[list[float | None], list[datetime]]:
        """GetMetricData's buckets of one series: every ``delta`` from ``start``, a value for each bucket with
        visible data in [start, end). Only buckets holding datapoints are visited, each summed from blocks."""
        now = self.now()
        values: list[float | None] = []
        timestamps: list[datetime] = []
        with self._lock:
            series = self._series.get(key)
            if series is None:
                return values, timestamps
            index, last = series.span(start, end)
            while index < last:
                period_start = start + delta * ((series.times[index] - start) // delta)
                stop = bisect.bisect_left(series.times, period_start + delta, index, last)
                samples = series.summary(index, stop, now, unit)
                if samples:
                    values.append(samples.statistic(stat))
                    timestamps.append(period_start)
                index = stop
        return values, timestamps

    def get_metric_statistics(
        self,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Any]:
        """GetMetricStatistics' datapoints (moto's buckets: every ``period`` from the first datapoint)."""
        start_time, end_time = _aware(start_time).replace(microsecond=0), _aware(end_time).replace(microsecond=0)
        start_time = rounded_start(start_time, self.now())
        if not period_allowed(period, start_time, self.now()):
            return []  # AWS: "no data points in that time range is returned"
        dims = [(d["Name"], d["Value"]) for d in dimensions or []]
        points = self.window(namespace, metric_name, dims, start_time, end_time, unit)
        delta = timedelta(seconds=period)
        buckets: list[Any] = []
        index = 0
        while index < len(points):
            bucket_start = points[0].timestamp + delta * int((points[index].timestamp - points[0].timestamp) / delta)
            first = index
            while index < len(points) and points[index].timestamp < bucket_start + delta:
                index += 1
            buckets.append(_statistics_of(stats, bucket_start, points[first:index]))
        return buckets


# CloudWatch keeps 1-minute datapoints for 15 days, 5-minute ones for 63 days, then hourly ones; a query whose
# StartTime is older than that must ask for a Period of the coarser resolution, "or no data points in that time
# range is returned" (GetMetricData's MetricStat.Period, GetMetricStatistics' Period; AWS CloudWatch API Reference).
RESOLUTIONS = ((timedelta(days=63), 3600), (timedelta(days=15), 300), (timedelta(hours=3), 60))


def period_allowed(period: int, start: datetime, now: datetime) -> bool:
    """Does CloudWatch answer a query of ``period`` seconds starting at ``start`` (as of ``now``)?"""
    for age, multiple in RESOLUTIONS:
        if start < now - age:
            return period % multiple == 0
    return True


def rounded_start(start: datetime, now: datetime) -> datetime:
    """StartTime as CloudWatch reads it: rounded down to the whole minute when less than 15 days old, to the 5-minute
    clock interval up to 63 days, to the hour beyond (GetMetricData and GetMetricStatistics, StartTime; the 5-, 10-,
    20- and 30-second roundings of high-resolution periods are not modelled: no metric here is high-resolution)."""
    age = now - start
    grid = 3600 if age > timedelta(days=63) else 300 if age > timedelta(days=15) else 60
    epoch = int(start.timestamp())
    return datetime.fromtimestamp(epoch - epoch % grid, tz=start.tzinfo)


def _dimensions(dimensions: Iterable[tuple[str, str]] | list[dict[str, str]]) -> frozenset[tuple[str, str]]:
    """A series' dimensions as a set of (name, value), from pairs or from the API's Name/Value members."""
    return frozenset((d["Name"], d["Value"]) if isinstance(d, dict) else d for d in dimensions)


def _aware(at: datetime) -> datetime:
    """moto hands request times over as naive UTC; the virtual clock's are aware."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@functools.cache
def _bucket_class() -> type:
    """moto's ``Statistics`` with its figures taken from our samples (moto's serializer reads the properties)."""
    from moto.cloudwatch.models import Statistics

    class Bucket(Statistics):
        samples: Samples

        def _figure(self, stat: str) -> float | None:
            return self.samples.statistic(stat) if stat in self.stats else None

        sum = property(lambda self: self._figure("Sum"))
        sample_count = property(lambda self: self._figure("SampleCount"))
        average = property(lambda self: self._figure("Average"))
        minimum = property(lambda self: self._figure("Minimum"))
        maximum = property(lambda self: self._figure("Maximum"))

    return Bucket


def _statistics_of(stats: list[str], at: datetime, points: list[Datapoint]) -> Any:
    bucket = _bucket_class()(stats, at, points[-1].unit)
    bucket.samples = Samples(points)
    return bucket
