"""Traffic and latency, drawn from seeded random streams so a run is reproducible.

Requests arrive as a Poisson process whose rate follows ``requests_per_minute`` and an
optional diurnal shape (a sine over 24 simulated hours, lowest at 04:00) or a night
schedule (``traffic.night``: a lower rate between two hours of every simulated day). Users are
``user-000001`` ... ``user-<users>``, picked with Zipf weights (``key_skew``: 0 uniform,
1 the classic long tail). Latencies are lognormal, given by their median and p95.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random

from .scenario import Latency, Traffic

Z95 = 1.6448536269514722


def user_id(index: int) -> str:
    return f"user-{index + 1:06d}"


class Population:
    def __init__(self, traffic: Traffic, seed: int) -> None:
        self.traffic = traffic
        self.rng = random.Random(f"traffic:{seed}")
        weights = [1.0 / (rank + 1) ** traffic.key_skew for rank in range(traffic.users)]
        self.cumulative = list(itertools.accumulate(weights))
        # Popularity is not the id order: shuffle which user holds which rank.
        self.rank_to_user = list(range(traffic.users))
        random.Random(f"ranks:{seed}").shuffle(self.rank_to_user)

    def rate(self, minute: int) -> float:
        night = self.traffic.night
        if night is not None and night.covers(minute):
            return night.requests_per_minute
        amplitude = self.traffic.diurnal_amplitude
        if not amplitude:
            return self.traffic.requests_per_minute
        phase = 2 * math.pi * ((minute % 1440) - 600) / 1440  # peak at 16:00, low at 04:00
        return self.traffic.requests_per_minute * (1 + amplitude * math.sin(phase))

    def arrivals(self, minute: int) -> list[tuple[float, int]]:
        """(second of the run, user index) of the requests arriving in this minute."""
        count = _poisson(self.rng, self.rate(minute))
        start = minute * 60.0
        times = sorted(start + self.rng.random() * 60.0 for _ in range(count))
        total = self.cumulative[-1]
        out = []
        for t in times:
            rank = bisect.bisect_left(self.cumulative, self.rng.random() * total)
            out.append((t, self.rank_to_user[min(rank, len(self.rank_to_user) - 1)]))
        return out


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # normal approximation: exact enough, O(1)
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class LatencyModel:
    """Lognormal draws in seconds; ``factor`` and ``add_ms`` come from latency faults."""

    def __init__(self, latency: Latency, rng: random.Random) -> None:
        self.mu = math.log(latency.median_ms)
        self.sigma = math.log(latency.p95_ms / latency.median_ms) / Z95
        self.rng = rng
        self.factor = 1.0
        self.add_ms = 0.0

    def draw(self) -> float:
        ms = math.exp(self.mu + self.sigma * self.rng.gauss(0.0, 1.0))
        return (ms * self.factor + self.add_ms) / 1000.0
