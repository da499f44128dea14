"""Scales, ticks and polylines: the arithmetic behind the inline SVG charts.

Everything here is plain numbers in, plain numbers or strings out, rounded to one decimal
so that the same report always draws the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Value = float | int | None

WIDTH = 960
LEFT, RIGHT, TOP, BOTTOM = 64, 124, 64, 30
CHAR_WIDTH = 7.2  # generous average advance of the 12px sans-serif used in the charts
MAX_POINTS = 1200  # longer series are drawn as per-bucket maxima
TIME_STEPS = (5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880, 4320, 10080)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


def r1(value: float) -> float:
    """Round a coordinate to one decimal, the resolution every chart is drawn at."""
    return round(value + 0.0, 1)


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


class TimeScale:
    """Simulated minutes → x, shared by every chart so that they line up."""

    def __init__(self, first: float, last: float, box: Box) -> None:
        self.first = first
        self.last = max(last, first + 1)
        self.box = box

    def x(self, minute: float) -> float:
        minute = min(max(minute, self.first), self.last)
        share = (minute - self.first) / (self.last - self.first)
        return r1(self.box.left + share * self.box.width)

    def ticks(self, max_ticks: int = 9) -> list[Tick]:
        span = self.last - self.first
        step = next((s for s in TIME_STEPS if span / s <= max_ticks), TIME_STEPS[-1])
        start = math.ceil(self.first / step) * step
        return [Tick(self.x(m), clock(m)) for m in range(int(start), int(self.last) + 1, step)]


class ValueScale:
    """Values → y, from 0 to a round top that holds every value and threshold."""

    def __init__(self, highest: float, box: Box) -> None:
        self.top = nice_ceiling(highest)
        self.box = box

    def y(self, value: float) -> float:
        share = min(max(value, 0.0), self.top) / self.top
        return r1(self.box.bottom - share * self.box.height)

    def ticks(self, unit: str) -> list[Tick]:
        step = self.top / 4
        return [Tick(self.y(i * step), number(i * step) + unit) for i in range(5)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 4, 5 or 10 times a power of ten that is >= value."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 4, 5, 10):
        if factor * power >= value * (1 - 1e-9):
            return factor * power
    return 10 * power


def number(value: float) -> str:
    """A figure for a person: no trailing zeros, at most three significant decimals."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def clock(minute: float) -> str:
    """Simulated time since the start, as a person reads it: 0:00, 5:30, 1d 04:00."""
    minute = round(minute)
    days, rest = divmod(minute, 1440)
    hours, mins = divmod(rest, 60)
    return f"{days}d {hours:02d}:{mins:02d}" if days else f"{hours}:{mins:02d}"


def duration(minutes: float | None) -> str:
    """A length of simulated time: 45 min, 4 h 10 min, 1 d 6 h."""
    if minutes is None:
        return "–"
    minutes = round(minutes)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins or not parts else []
    return " ".join(parts[:2])


def buckets(minutes: Sequence[int], values: Sequence[Value]) -> list[tuple[int, Value]]:
    """Per-minute points, or per-bucket maxima when there are more than MAX_POINTS."""
    size = max(1, math.ceil(len(minutes) / MAX_POINTS))
    points: list[tuple[int, Value]] = []
    for start in range(0, len(minutes), size):
        present = [v for v in values[start:start + size] if v is not None]
        points.append((minutes[start], max(present) if present else None))
    return points


def polylines(points: list[tuple[float, float | None]], step: bool = False) -> list[str]:
    """SVG `points` attributes, one per run of values without a gap (None breaks a line).

    With `step`, a value holds until the next point (the canary percent in force).
    Points in the middle of a flat stretch are dropped: they draw nothing.
    """
    runs: list[list[tuple[float, float]]] = [[]]
    for i, (x, y) in enumerate(points):
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
        if step and i + 1 < len(points):
            runs[-1].append((points[i + 1][0], y))
    return [" ".join(f"{x:g},{y:g}" for x, y in _without_flat_middles(run))
            for run in runs if run]


def _without_flat_middles(run: list[tuple[float, float]]) -> list[tuple[float, float]]:
    kept = run[:1]
    for i in range(1, len(run) - 1):
        if not (run[i - 1][1] == run[i][1] == run[i + 1][1]) and run[i] != kept[-1]:
            kept.append(run[i])
    if len(run) > 1 and run[-1] != kept[-1]:
        kept.append(run[-1])
    return kept


def spread(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """Move label positions apart by at least `gap`, keeping them between low and high."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    previous = low - gap
    for i in order:
        placed[i] = max(wanted[i], previous + gap)
        previous = placed[i]
    overflow = previous - high
    if overflow > 0:
        for i in order:
            placed[i] = max(low, placed[i] - overflow)
    return [r1(p) for p in placed]


def lanes(items: list[tuple[float, str]], rows: int, offset: float = 7) -> list[int | None]:
    """Row of each label (x, text), drawn from x + offset, for items sorted by x.

    Labels that would touch form a cluster; a cluster is laid as a staircase going down,
    its first label in the highest row, so that no marker's line (drawn from its label
    down to the plot) crosses another label. Past `rows` labels a cluster's markers keep
    their symbol only (None).
    """
    clusters: list[list[int]] = []
    reach = -math.inf
    for i, (x, text) in enumerate(items):
        if clusters and x < reach + 6:
            clusters[-1].append(i)
        else:
            clusters.append([i])
        reach = max(reach, x + offset + text_width(text))
    placed: list[int | None] = []
    for cluster in clusters:
        height = min(len(cluster), rows)
        placed += [height - 1 - k if k < height else None for k in range(len(cluster))]
    return placed
