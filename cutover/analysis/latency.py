"""p95 from raw latency values, for producers that hold them (the rehearsal, tests).

CloudWatch computes a window's p95 from the raw values it received (GetMetricData with
Period equal to the window); a producer that has the values itself computes the same
figure here. Percentiles of periods cannot be combined into the window's percentile,
which is why the format carries the window-level figure (docs/analysis.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def p95(values: Iterable[float]) -> float | None:
    """Nearest-rank 95th percentile: the smallest value with at least 95% of the values at
    or below it (None for no values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def route_latency(values: Iterable[float]) -> dict[str, float | int | None]:
    """A `latency.<route>` object of the metrics format from raw values (ms)."""
    ordered = sorted(values)
    return {"p95_ms": p95(ordered), "samples": len(ordered)}
