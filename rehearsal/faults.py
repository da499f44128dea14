"""When each fault of a scenario is active, in simulated minutes.

A fault given by ``step`` starts ``after_minutes`` after that step (canary percent; 0 is
the shadow phase) starts, and is unknown until then; one given by ``minute`` starts
there. Either lasts ``for_minutes`` or until the end.
"""

from __future__ import annotations

from typing import Any


class FaultBoard:
    def __init__(self, faults: list[Any]) -> None:
        self.faults = list(faults)
        self.start: dict[int, float] = {}
        self.active: set[int] = set()
        self.done: set[int] = set()
        self.database_down = False
        for i, fault in enumerate(self.faults):
            if fault.when.minute is not None:
                self.start[i] = fault.when.minute

    def step_started(self, percent: float, minute: int) -> None:
        for i, fault in enumerate(self.faults):
            if fault.when.step == percent and i not in self.start:
                self.start[i] = minute + fault.when.after_minutes

    def end(self, i: int) -> float | None:
        duration = self.faults[i].when.for_minutes
        return None if duration is None or i not in self.start else self.start[i] + duration

    def transitions(self, minute: int) -> tuple[list[int], list[int]]:
        """Faults that start and end at this minute (checked once a minute, in order)."""
        started, ended = [], []
        for i in range(len(self.faults)):
            if i in self.active:
                end = self.end(i)
                if end is not None and minute >= end:
                    self.active.discard(i)
                    self.done.add(i)
                    ended.append(i)
            elif i not in self.done and i in self.start and minute >= self.start[i]:
                self.active.add(i)
                started.append(i)
        return started, ended

    def first_start(self) -> float | None:
        return min(self.start.values()) if self.start else None

    def first_started(self) -> float | None:
        seen = [self.start[i] for i in self.active | self.done]
        return min(seen) if seen else None

    def candidate_error_rate(self, kind: str) -> float:
        rate = 0.0
        for i in self.active:
            fault = self.faults[i]
            if fault.kind == "candidate_errors" and fault.traffic in ("all", kind):
                rate = max(rate, fault.rate)
        return rate

    def flags_unavailable_seconds(self, _now: float) -> float:
        return max((self.faults[i].cold_start_seconds for i in self.active
                    if self.faults[i].kind == "flags_unavailable"), default=0.0)
