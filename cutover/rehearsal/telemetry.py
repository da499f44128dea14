"""What the functions print, turned into CloudWatch datapoints and the report's series.

EMF documents (contracts.md §5) become datapoints in the metric store (every metric of
every directive, for each dimension set, timestamped by their ``_aws.Timestamp``; only
the metrics some alarm reads are stored, the others would never be looked at); log
lines (§6) are counted by event (an EMF document that carries a log line's members,
as the router's ``REQUEST`` does, counts as that line too), and ``SHADOW-DIFF`` lines give the paths that diverged
(never values). Per simulated minute the sink also keeps the counts and a latency
histogram per route, from which the timeline, the analysis input and the report come.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from typing import Any

from cutover.runtime import metrics as emf

from .clock import EPOCH

_loads = json.loads
LATENCY, ROUTE, CONTROL_ROUTE = emf.LATENCY, emf.ROUTE, emf.CONTROL_ROUTE
BUCKETS_PER_DOUBLING = 32  # latency histogram resolution: about 2%


def bucket(ms: float) -> int:
    return -10_000 if ms <= 0 else math.floor(math.log2(ms) * BUCKETS_PER_DOUBLING)


def bucket_value(index: int) -> float:
    return 0.0 if index == -10_000 else 2 ** ((index + 0.5) / BUCKETS_PER_DOUBLING)


def percentile(histogram: Counter, q: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(q / 100.0 * total)
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(bucket_value(index), 3)
    return None


class Telemetry:
    def __init__(self, publish: Any, stored: set[tuple[str, str]]) -> None:
        self.publish = publish  # publish(namespace, name, dims, t_seconds, value)
        self.stored = stored  # (namespace, metric) an alarm reads: the only ones kept
        self.minutes: dict[int, Counter] = defaultdict(Counter)
        self.latency: dict[str, dict[int, Counter]] = {"control": defaultdict(Counter),
                                                       "canary": defaultdict(Counter)}
        self.events: Counter = Counter()
        self.divergent_fields: Counter = Counter()
        self.last_counts: dict[str, float] = {}
        # Per read path too, when something reads a path's own figures (--controller: the
        # controller function's GetMetricData): path -> minute -> counts, (path, route) -> minute -> histogram.
        self.by_path: dict[str, dict[int, Counter]] | None = None
        self.path_latency: dict[tuple[str, str], dict[int, Counter]] = {}

    def keep_paths(self) -> None:
        self.by_path = defaultdict(lambda: defaultdict(Counter))

    def ingest(self, role: str, kind: str, parts: list[str]) -> None:
        counts: dict[str, float] = {}
        # every write of the functions is one whole line (telemetry.py writes line by line)
        lines = parts if all(p.endswith("\n") and p.count("\n") == 1 for p in parts) \
            else "".join(parts).splitlines()
        for text in lines:
            if text.startswith('{"_aws"'):
                doc = _loads(text)
                self._emf(doc, counts)
                if "event" in doc:  # the router's REQUEST line rides in its EMF document
                    self.events[doc["event"]] += 1
            elif text.startswith('{"event":"'):
                event = text[10:text.find('"', 10)]  # every log line starts with its event
                self.events[event] += 1
                if event == "SHADOW-DIFF":
                    for diff in _loads(text).get("diffs") or ():
                        self.divergent_fields[str(diff.get("path", "?"))] += 1
        if role == "router":
            self.last_counts = counts

    def _emf(self, doc: dict[str, Any], counts: dict[str, float]) -> None:
        meta = doc["_aws"]
        t = meta["Timestamp"] / 1000.0 - EPOCH
        index = int(t // 60)
        minute = self.minutes[index]
        stored, publish = self.stored, self.publish
        path = None if self.by_path is None else str(doc.get(emf.PATH, ""))
        for directive in meta["CloudWatchMetrics"]:
            namespace = directive["Namespace"]
            dim_sets = None  # the directive's dimension sets, once it has a stored metric
            for metric in directive["Metrics"]:
                name = metric["Name"]
                value = doc.get(name)
                values = value if isinstance(value, list) else (value,)
                if (namespace, name) in stored:
                    if dim_sets is None:
                        dim_sets = [tuple(sorted((d, str(doc.get(d, ""))) for d in dim_names))
                                    for dim_names in directive["Dimensions"]]
                    for dims in dim_sets:
                        for v in values:
                            publish(namespace, name, dims, t, float(v))
                if name == LATENCY:
                    route = str(doc.get(ROUTE, CONTROL_ROUTE))
                    histogram = self.latency.setdefault(route, defaultdict(Counter))[index]
                    for v in values:
                        histogram[bucket(float(v))] += 1
                    if path is not None:
                        self.path_latency.setdefault((path, route), defaultdict(Counter))[index].update(
                            bucket(float(v)) for v in values)
                else:
                    total = sum(float(v) for v in values) if len(values) != 1 else float(values[0])
                    minute[name] += total
                    counts[name] = counts.get(name, 0.0) + total
                    if path is not None:
                        self.by_path[path][index][name] += total

    def p95(self, route: str, first: int, last: int, path: str | None = None) -> tuple[float | None, int]:
        """p95 and sample count of a route over minutes [first, last) (of one read path when
        given and kept, ``keep_paths``)."""
        merged: Counter = Counter()
        minutes = self.latency.get(route, {}) if path is None else self.path_latency.get((path, route), {})
        for m in range(first, last):
            merged.update(minutes.get(m, {}))
        return percentile(merged, 95), sum(merged.values())
