"""The analysis input, format `cutover.metrics/1` (docs/analysis.md): metric series per
read path, loaded from a JSON file or a dict, or every error at once with its JSON path.

Counts are kept raw, per period, so that every rate is a ratio of sums over the window
(never an average of per-period ratios). Latency comes as the window's p95 and its
sample count per route, because percentiles of periods cannot be combined.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT = "cutover.metrics/1"
MAX_BYTES = 50_000_000
# CloudWatch returns sums as doubles, whole numbers exactly only up to 2^53; 1e300
# requests is not a measurement.
MAX_COUNT = 2**53
COUNT_RULE = f"a whole count from 0 to {MAX_COUNT} (2^53)"
# A cutover.metrics/1 document nests 6 deep ($.paths[].latency.canary.periods[]).
MAX_DEPTH = 64

# docs/contracts.md §5: router (Requests .. CanaryFallbacks, ShadowDispatched/-Failures)
# and candidate (CanaryReads/-Errors, Shadow*) EMF counts, namespace Cutover, per Path.
COUNTS = (
    "Requests", "Errors", "CanaryRequests", "CanaryErrors", "CanaryFallbacks",
    "CanaryReads", "CanaryReadErrors",
    "ShadowComparisons", "ShadowMismatches", "ShadowErrors", "ShadowTimeouts",
    "ShadowDispatched", "ShadowDispatchFailures",
)  # fmt: skip
# (part, whole): emitted in the same EMF document, so part <= whole holds in every period.
PART_OF = (
    ("Errors", "Requests"),
    ("CanaryRequests", "Requests"),
    ("CanaryErrors", "CanaryRequests"),
    ("CanaryFallbacks", "CanaryErrors"),
    ("CanaryReadErrors", "CanaryReads"),
    ("ShadowMismatches", "ShadowComparisons"),
)
ROUTES = ("control", "canary")
ALLOWED_PERIODS = "10, 20, 30 or a multiple of 60"

Counts = Mapping[str, int]


@dataclass(frozen=True)
class Period:
    """One period's counts; a name missing from the file is 0 (no datapoint = nothing counted)."""

    start: datetime
    counts: Counts


@dataclass(frozen=True)
class LatencyPoint:
    start: datetime
    p95_ms: float
    samples: int


@dataclass(frozen=True)
class RouteLatency:
    """p95 over the whole window (not a combination of per-period p95s) and its samples."""

    p95_ms: float | None
    samples: int
    periods: tuple[LatencyPoint, ...] = ()


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    period_seconds: int


@dataclass(frozen=True)
class Rollout:
    """The flag rollout behind the step: when its last deployment finished (None: still
    in flight) and how often the AppConfig agent polls, which bounds when every
    execution environment has seen it."""

    deployed_at: datetime | None
    poll_interval_seconds: int

    @property
    def settled_at(self) -> datetime | None:
        if self.deployed_at is None:
            return None
        return self.deployed_at + timedelta(seconds=self.poll_interval_seconds)


@dataclass(frozen=True)
class PathMetrics:
    path: str
    step_percent: float
    shadow_enabled: bool
    window: Window
    rollout: Rollout
    series: tuple[Period, ...]
    latency: Mapping[str, RouteLatency]

    def totals(self, since: datetime | None = None) -> dict[str, int]:
        """Sums over the window, or over the periods that start at or after `since`."""
        sums = dict.fromkeys(COUNTS, 0)
        for period in self.series:
            if since is None or period.start >= since:
                for name in COUNTS:
                    sums[name] += period.counts[name]
        return sums


@dataclass(frozen=True)
class MetricsInput:
    release: str
    environment: str
    paths: tuple[PathMetrics, ...]
    source: str | None = None


class MetricsInvalid(Exception):
    """Every problem of one metrics input, each with its JSON path (exit code 2)."""

    def __init__(self, origin: str, errors: list[tuple[str, str]]):
        self.origin = origin
        self.errors = errors
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.errors)
        head = f"{self.origin}: {n} error{'s' if n != 1 else ''} in the metrics ({FORMAT}, see docs/analysis.md)"
        lines = [f"  {self.origin}:{where}: {what}" if _LINE_COLUMN.match(where) else f"  {self.origin}: {where}: {what}"
                 for where, what in self.errors]
        return "\n".join([head, *(line.replace("\n", "\\n") for line in lines)])


_LINE_COLUMN = re.compile(r"^\d+:\d+$")


def line_column(text: str, offset: int) -> str:
    """`line:column` (both from 1) of a character offset, as editors and compilers say it."""
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - text.rfind(chr(10), 0, offset)}"


# --- reading with locations ------------------------------------------------------------


class _Reader:
    """Walks the decoded JSON, collecting (JSON path, message) problems instead of raising."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, where: str, what: str) -> None:
        self.errors.append((where, what))

    def mapping(self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        if not isinstance(value, dict):
            self.fail(where, f"{_kind(value)}: expected an object with {', '.join(required + optional)}")
            return None
        allowed = required + optional
        for key in value:
            if key not in allowed:
                self.fail(f"{where}.{key}", f"unknown field '{key}'; allowed here: {', '.join(sorted(allowed))}")
        for key in required:
            if key not in value:
                self.fail(f"{where}.{key}", "is required")
        return value

    def text(self, value: Any, where: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.fail(where, f"{_shown(value)}: expected a non-empty string")
        return None

    def number(self, value: Any, where: str, low: float, high: float, what: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(where, f"{_shown(value)}: expected {what}")
            return None
        if not low <= value <= high:
            self.fail(where, f"{_shown(value)}: expected {what}")
            return None
        return float(value)

    def count(self, value: Any, where: str) -> int | None:
        """A whole count >= 0. CloudWatch returns sums as doubles, so 12.0 is accepted."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= MAX_COUNT or value != int(value):
            self.fail(where, f"{_shown(value)}: expected {COUNT_RULE}")
            return None
        return int(value)

    def timestamp(self, value: Any, where: str) -> datetime | None:
        expected = "expected an ISO 8601 time with a zone, such as 2026-11-29T08:00:00Z"
        if not isinstance(value, str):
            self.fail(where, f"{_shown(value)}: {expected}")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(where, f"{_shown(value)}: {expected}")
            return None
        if moment.tzinfo is None:
            self.fail(where, f"{_shown(value)}: has no time zone; {expected}")
            return None
        return moment

    def boolean(self, value: Any, where: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.fail(where, f"{_shown(value)}: expected true or false")
        return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _kind(value)
    shown = json.dumps(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _window(r: _Reader, raw: Any, where: str) -> Window | None:
    data = r.mapping(raw, where, ("start", "end", "period_seconds"))
    if data is None:
        return None
    start = r.timestamp(data.get("start"), f"{where}.start") if "start" in data else None
    end = r.timestamp(data.get("end"), f"{where}.end") if "end" in data else None
    period = r.count(data["period_seconds"], f"{where}.period_seconds") if "period_seconds" in data else None
    if period is not None and (period == 0 or (period not in (10, 20, 30) and period % 60)):
        r.fail(f"{where}.period_seconds", f"{period} is not a CloudWatch period; expected {ALLOWED_PERIODS}")
        period = None
    if start is None or end is None or period is None:
        return None
    length = (end - start).total_seconds()
    if length <= 0:
        r.fail(f"{where}.end", f"{data['end']} must be after start ({data['start']})")
        return None
    if length % period:
        r.fail(f"{where}.end", f"the window ({length:g} s) is not a whole number of {period} s periods")
        return None
    return Window(start, end, period)


def _rollout(r: _Reader, raw: Any, where: str) -> Rollout | None:
    data = r.mapping(raw, where, ("deployed_at", "poll_interval_seconds"))
    if data is None or "deployed_at" not in data or "poll_interval_seconds" not in data:
        return None
    deployed = None if data["deployed_at"] is None else r.timestamp(data["deployed_at"], f"{where}.deployed_at")
    poll = r.number(data["poll_interval_seconds"], f"{where}.poll_interval_seconds", 1, 86400,
                    "a number of seconds from 1 to 86400")
    if poll is None or (data["deployed_at"] is not None and deployed is None):
        return None
    return Rollout(deployed, math.ceil(poll))


def _in_window(r: _Reader, start: datetime, window: Window, where: str, seen: dict[datetime, str]) -> bool:
    offset = (start - window.start).total_seconds()
    if not 0 <= offset < (window.end - window.start).total_seconds():
        r.fail(where, f"{start.isoformat()} is outside the window [{window.start.isoformat()}, {window.end.isoformat()})")
        return False
    if offset % window.period_seconds:
        r.fail(where, f"{start.isoformat()} does not start a {window.period_seconds} s period of the window")
        return False
    if start in seen:
        r.fail(where, f"{start.isoformat()} appears twice (first at {seen[start]})")
        return False
    seen[start] = where
    return True


def _series(r: _Reader, raw: Any, where: str, window: Window | None) -> tuple[Period, ...]:
    if not isinstance(raw, list):
        r.fail(where, f"{_kind(raw)}: expected a list of periods")
        return ()
    periods, seen = [], {}
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        data = r.mapping(item, at, ("start",), COUNTS)
        if data is None:
            continue
        start = r.timestamp(data.get("start"), f"{at}.start") if "start" in data else None
        counts = {name: r.count(data[name], f"{at}.{name}") if name in data else 0 for name in COUNTS}
        if start is None or any(v is None for v in counts.values()):
            continue
        for part, whole in PART_OF:
            if counts[part] > counts[whole]:
                r.fail(f"{at}.{part}", f"{counts[part]} exceeds {whole} ({counts[whole]}) in the same period")
        if window is not None and _in_window(r, start, window, f"{at}.start", seen):
            periods.append(Period(start, counts))
    return tuple(periods)


def _route(r: _Reader, raw: Any, where: str, window: Window | None) -> RouteLatency | None:
    data = r.mapping(raw, where, ("p95_ms", "samples"), ("periods",))
    if data is None or "samples" not in data or "p95_ms" not in data:
        return None
    samples = r.count(data["samples"], f"{where}.samples")
    p95 = data["p95_ms"]
    if p95 is not None:
        p95 = r.number(p95, f"{where}.p95_ms", 0, 3_600_000, "milliseconds from 0 to 3600000, or null")
    if samples and data["p95_ms"] is None:
        r.fail(f"{where}.p95_ms", f"is null but samples is {samples}; a window with samples has a p95")
    points: list[LatencyPoint] = []
    raw_points = data.get("periods", [])
    if not isinstance(raw_points, list):
        r.fail(f"{where}.periods", f"{_kind(raw_points)}: expected a list of {{start, p95_ms, samples}}")
        raw_points = []
    seen: dict[datetime, str] = {}
    for i, item in enumerate(raw_points):
        at = f"{where}.periods[{i}]"
        point = r.mapping(item, at, ("start", "p95_ms", "samples"))
        if point is None or len(point) != 3:
            continue
        start = r.timestamp(point["start"], f"{at}.start")
        value = r.number(point["p95_ms"], f"{at}.p95_ms", 0, 3_600_000, "milliseconds from 0 to 3600000")
        n = r.count(point["samples"], f"{at}.samples")
        if None not in (start, value, n) and window is not None and _in_window(r, start, window, f"{at}.start", seen):
            points.append(LatencyPoint(start, value, n))
    if samples is not None and points and len(points) == len(raw_points) and sum(p.samples for p in points) != samples:
        r.fail(f"{where}.samples", f"{samples} is not the sum of the periods' samples ({sum(p.samples for p in points)})")
    if samples is None or (data["p95_ms"] is not None and p95 is None):
        return None
    return RouteLatency(p95 if samples else None, samples, tuple(points))


PATH_FIELDS = ("path", "step_percent", "shadow_enabled", "window", "rollout", "series", "latency")


def _path(r: _Reader, raw: Any, where: str) -> PathMetrics | None:
    data = r.mapping(raw, where, PATH_FIELDS)
    if data is None or any(key not in data for key in PATH_FIELDS):
        return None
    name = r.text(data["path"], f"{where}.path")
    step = r.number(data["step_percent"], f"{where}.step_percent", 0, 100, "a canary percent from 0 to 100")
    shadow = r.boolean(data["shadow_enabled"], f"{where}.shadow_enabled")
    window = _window(r, data["window"], f"{where}.window")
    rollout = _rollout(r, data["rollout"], f"{where}.rollout")
    series = _series(r, data["series"], f"{where}.series", window)
    routes = r.mapping(data["latency"], f"{where}.latency", (), ROUTES)
    latency = {}
    for route in ROUTES:
        if routes is not None and route in routes:
            latency[route] = _route(r, routes[route], f"{where}.latency.{route}", window)
        else:
            latency[route] = RouteLatency(None, 0)
    if None in (name, step, shadow, window, rollout) or None in latency.values():
        return None
    return PathMetrics(name, step, shadow, window, rollout, series, latency)


def _document(r: _Reader, raw: Any) -> MetricsInput | None:
    data = r.mapping(raw, "$", ("format", "release", "environment", "paths"), ("source",))
    if data is None:
        return None
    if "format" in data and data["format"] != FORMAT:
        r.fail("$.format", f"{_shown(data['format'])} is not supported; expected \"{FORMAT}\"")
        return None
    release = r.text(data.get("release"), "$.release") if "release" in data else None
    environment = r.text(data.get("environment"), "$.environment") if "environment" in data else None
    source = r.text(data["source"], "$.source") if "source" in data else None
    raw_paths = data.get("paths")
    if not isinstance(raw_paths, list) or not raw_paths:
        if "paths" in data:
            r.fail("$.paths", f"{_shown(raw_paths)}: expected a non-empty list of read paths")
        return None
    paths, names = [], {}
    for i, item in enumerate(raw_paths):
        path = _path(r, item, f"$.paths[{i}]")
        if path is None:
            continue
        if path.path in names:
            r.fail(f"$.paths[{i}].path", f"'{path.path}' appears twice (first at {names[path.path]})")
            continue
        names[path.path] = f"$.paths[{i}]"
        paths.append(path)
    if release is None or environment is None:
        return None
    return MetricsInput(release, environment, tuple(paths), source)


def load_metrics(source: str | Path | Mapping[str, Any]) -> MetricsInput:
    """A metrics file (path) or an already decoded document (mapping) -> MetricsInput.

    Raises MetricsInvalid listing every problem with its JSON path.
    """
    if isinstance(source, Mapping):
        origin, raw = "(metrics)", dict(source)
    else:
        origin = str(source)
        raw = _read_json(Path(source))
    reader = _Reader()
    metrics = _document(reader, raw)
    if reader.errors or metrics is None:
        raise MetricsInvalid(origin, reader.errors or [("$", "no metrics could be read")])
    return metrics


def _read_json(path: Path) -> Any:
    """The decoded document, or MetricsInvalid located at `file:line:column` for what
    cannot be JSON at all: bad syntax, NaN/Infinity, nesting deeper than MAX_DEPTH."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MetricsInvalid(str(path), [("$", f"cannot read the file: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise MetricsInvalid(str(path), [("$", f"the file is larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise MetricsInvalid(str(path), [(f"{line}:{column}", (f"not UTF-8 text (byte {exc.start}); "
                                          "expected a JSON document in UTF-8"))]) from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_int)
    except json.JSONDecodeError as exc:
        where, what = f"{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}"
    except _Constant as exc:
        offset = _first(text, constant=True)
        where = line_column(text, offset) if offset is not None else "$"
        what = (f"{exc.name} is not a JSON number; counts are whole numbers >= 0 and p95_ms "
                "a number of milliseconds or null")
    except RecursionError:
        offset = _first(text, constant=False)
        where = line_column(text, offset) if offset is not None else "$"
        what = f"nested deeper than {MAX_DEPTH} levels; a {FORMAT} document nests at most 6"
    except ValueError as exc:  # anything else the decoder refuses
        where, what = "$", f"not valid JSON: {exc}"
    raise MetricsInvalid(str(path), [(where, what)])


class _Constant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def _int(digits: str) -> int | float:
    """A JSON integer; one too long to be a count becomes a float (inf beyond 1e308), which
    the reader then refuses at its JSON path, instead of Python's digit-limit error."""
    return int(digits) if len(digits) <= 20 else float(digits)


# strings (skipped whole, escapes included), brackets and the non-JSON constants
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|-?Infinity|NaN')


def _first(text: str, *, constant: bool) -> int | None:
    """Offset of the first NaN/Infinity outside a string (`constant`), or of the first
    bracket nested deeper than MAX_DEPTH."""
    depth = 0
    for token in _TOKENS.finditer(text):
        first = token.group()[0]
        if first == '"':
            continue
        if first in "[{":
            depth += 1
            if not constant and depth > MAX_DEPTH:
                return token.start()
        elif first in "]}":
            depth -= 1
        elif constant:
            return token.start()
    return None


__all__ = [
    "COUNTS", "FORMAT", "ROUTES", "Counts", "LatencyPoint", "MetricsInput", "MetricsInvalid",
    "PathMetrics", "Period", "Rollout", "RouteLatency", "Window", "load_metrics",
]  # fmt: skip
