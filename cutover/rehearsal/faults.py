"""When each fault of a scenario is active, in simulated seconds.

A fault given by ``step`` starts ``after_minutes`` after that step (canary percent; 0 is
the shadow phase) starts, and is unknown until then; one given by ``minute`` starts
there. Either lasts ``for_minutes`` or until the end. Times keep their fractions:
``for_minutes: 0.5`` is a 30-second fault, started and ended at the second.
"""

from __future__ import annotations

from collections.abc import Iterable

from .scenario import Fault


class FaultBoard:
    def __init__(self, faults: Iterable[Fault]) -> None:
        self.faults = list(faults)
        self.start: dict[int, float] = {}
        self.active: set[int] = set()
        self.done: set[int] = set()
        self.database_down = False
        for i, fault in enumerate(self.faults):
            if fault.when.minute is not None:
                self.start[i] = fault.when.minute * 60.0

    def step_started(self, percent: float, t: float) -> None:
        for i, fault in enumerate(self.faults):
            if fault.when.step == percent and i not in self.start:
                self.start[i] = t + fault.when.after_minutes * 60.0

    def end(self, i: int) -> float | None:
        duration = self.faults[i].when.for_minutes
        return None if duration is None or i not in self.start else self.start[i] + duration * 60.0

    def next_change(self) -> float | None:
        """The next time a fault starts or ends (None: nothing scheduled)."""
        times = [self.start[i] for i in self.start if i not in self.active and i not in self.done]
        times += [e for i in self.active if (e := self.end(i)) is not None]
        return min(times) if times else None

    def transitions(self, t: float) -> tuple[list[int], list[int]]:
        """Faults that start and end by ``t`` (seconds), in order."""
        started, ended = [], []
        for i in range(len(self.faults)):
            if i in self.active:
                end = self.end(i)
                if end is not None and t >= end:
                    self.active.discard(i)
                    self.done.add(i)
                    ended.append(i)
            elif i not in self.done and i in self.start and t >= self.start[i]:
                self.active.add(i)
                started.append(i)
                end = self.end(i)
                if end is not None and t >= end:  # shorter than the gap between two checks
                    self.active.discard(i)
                    self.done.add(i)
                    ended.append(i)
        return started, ended

    def first_start(self) -> float | None:
        return min(self.start.values()) if self.start else None

    def first_started(self) -> float | None:
        """Seconds: the start of the first fault that has begun (None: none has)."""
        seen = [self.start[i] for i in self.active | self.done]
        return min(seen) if seen else None

    def _active(self, kind: str) -> list[Fault]:
        return [self.faults[i] for i in sorted(self.active) if self.faults[i].kind == kind]

    def candidate_error_rate(self, kind: str) -> float:
        return max((f.rate for f in self._active("candidate_errors") if f.traffic in ("all", kind)), default=0.0)

    def candidate_timeout_share(self) -> float:
        return max((f.share for f in self._active("candidate_timeout")), default=0.0)

    def control_error_rate(self) -> float:
        return max((f.rate for f in self._active("control_errors")), default=0.0)

    def agent_status(self) -> int | None:
        """The status every agent answers with during an agent outage, else None."""
        outages = self._active("agent_outage")
        return outages[0].status if outages else None

    def recycle_seconds(self) -> float | None:
        churn = [f.recycle_minutes for f in self._active("agent_outage") if f.recycle_minutes]
        return min(churn) * 60.0 if churn else None

    def lost(self, channel: str) -> bool:
        """Is a delivery on ``channel`` (eventbridge | sns) lost now?"""
        return any(f.what in ("all", channel) for f in self._active("lost_notification"))

    def flags_unavailable_seconds(self, _now: float) -> float:
        return max((self.faults[i].cold_start_seconds for i in self.active
                    if self.faults[i].kind == "flags_unavailable"), default=0.0)
