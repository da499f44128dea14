"""What the sandbox's HTTP services and its simulated release share, under one lock.

Time. The sandbox runs on a ``SandboxClock``: seconds of simulated time since the sandbox
started (the rehearsal's ``VirtualClock`` interface, so the rehearsal's stand-ins and the
handlers' patched time sources read it), advanced only by the simulation loop, to
``speed`` times the wall time elapsed. Nothing else moves it, so a test drives it by hand.

What callers see. Operators' commands compute their windows from their own wall clock
("the last 15 minutes"), so every timestamp that crosses the API is *shifted* (never
scaled) by ``offset = sim_epoch_now - wall_now``: a request's times go through ``to_sim``,
an answer's through ``to_wall``. The last 15 minutes by the operator's clock are then the
last 15 simulated minutes, and a deployment's 10-minute bake at ``--speed 60`` takes ten
wall seconds yet shows as ten minutes in its EventLog.

Units. ``metrics`` (the rehearsal's ``MetricStore``, which its alarm ``Evaluator`` reads)
is keyed by sandbox *seconds since start* (``clock.now``), as in the rehearsal; ``logs``
and ``traces`` by sandbox *epoch* seconds (``clock.time()``), as the APIs show them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cutover.rehearsal.cloudwatch import MetricStore


class SandboxClock:
    """The rehearsal's clock interface (``now``, ``time()``, ``monotonic()``...), on the
    sandbox's timeline: ``now`` seconds since start, ``time()`` = start epoch + now."""

    __slots__ = ("_wall0", "_wall_time", "now", "speed", "start_epoch")

    def __init__(self, speed: float = 1.0, *, start_epoch: float | None = None,
                 wall_time: Any = time.time) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._wall_time = wall_time
        self.now = 0.0
        self.speed = speed
        self.start_epoch = wall_time() if start_epoch is None else start_epoch
        self._wall0 = self.start_epoch

    # the rehearsal's VirtualClock interface
    def set(self, seconds: float) -> None:
        self.now = seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def perf_counter(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.start_epoch + self.now

    def minute(self) -> int:
        return int(self.now // 60)

    # the wall clock's side
    def due(self) -> float:
        """Where the simulation should be by now: ``speed`` x the wall seconds since start."""
        return (self._wall_time() - self._wall0) * self.speed

    def offset(self) -> float:
        return self.time() - self._wall_time()

    def to_sim(self, wall_epoch: float) -> float:
        """A caller's epoch timestamp on the sandbox's timeline (epoch seconds)."""
        return wall_epoch + self.offset()

    def to_wall(self, sim_epoch: float) -> float:
        """A sandbox epoch timestamp as the caller's clock shows it."""
        return sim_epoch - self.offset()


@dataclass(frozen=True)
class LogEvent:
    group: str
    stream: str
    timestamp: float  # sandbox epoch seconds
    message: str


@dataclass(frozen=True)
class TraceSummary:
    """One request's trace as X-Ray's GetTraceSummaries gives it (the fields cutover reads)."""

    trace_id: str
    start: float  # sandbox epoch seconds
    duration_s: float
    has_error: bool
    has_fault: bool
    annotations: dict[str, str | float | bool]
    service: str  # the function's name


class LogStore:
    """Log events per group, oldest first, bounded (the sandbox runs for hours)."""

    def __init__(self, keep_per_group: int = 50_000) -> None:
        self._groups: dict[str, deque[LogEvent]] = {}
        self._keep = keep_per_group

    def append(self, event: LogEvent) -> None:
        self._groups.setdefault(event.group, deque(maxlen=self._keep)).append(event)

    def events(self, group: str, start: float, end: float) -> list[LogEvent]:
        return [e for e in self._groups.get(group, ()) if start <= e.timestamp < end]

    def groups(self) -> list[str]:
        return sorted(self._groups)


class TraceStore:
    def __init__(self, keep: int = 100_000) -> None:
        self._traces: deque[TraceSummary] = deque(maxlen=keep)

    def append(self, trace: TraceSummary) -> None:
        self._traces.append(trace)

    def between(self, start: float, end: float) -> list[TraceSummary]:
        return [t for t in self._traces if start <= t.start < end]


@dataclass
class SandboxState:
    """Shared by the front door's threads and the simulation: take ``lock`` to read or
    change anything here. ``services`` holds the stand-ins by signing name (the front door
    mounts them); the stand-ins keep their own resources (AppConfig applications, alarms)."""

    env: str
    region: str
    account_id: str
    clock: SandboxClock
    metrics: MetricStore = field(default_factory=MetricStore)
    logs: LogStore = field(default_factory=LogStore)
    traces: TraceStore = field(default_factory=TraceStore)
    lock: threading.RLock = field(default_factory=threading.RLock)
    services: dict[str, Any] = field(default_factory=dict)
