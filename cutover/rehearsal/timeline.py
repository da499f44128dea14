"""The run's timed events, in simulated seconds: timers (deliveries, the guard's
schedule, the runbook) and the faults' starts and ends, run in time order with the
requests."""

from __future__ import annotations

import heapq
from collections.abc import Callable

Action = Callable[[float], None]


class Timeline:
    def __init__(self, fault_due: Action) -> None:
        self.fault_due = fault_due  # a fault starts or ends at t
        self.next_fault: float | None = None
        self._timers: list[tuple[float, int, Action]] = []
        self._seq = 0

    def at(self, t: float, action: Action) -> None:
        """Run ``action(t)`` at second ``t`` of the run, in order with the requests."""
        self._seq += 1
        heapq.heappush(self._timers, (t, self._seq, action))

    def until(self, t: float) -> None:
        """Everything due by ``t``: faults that start or end, then timers, in time order."""
        timers = self._timers
        while True:
            fault_at = self.next_fault
            timer_at = timers[0][0] if timers else None
            if (fault_at is None or fault_at > t) and (timer_at is None or timer_at > t):
                return
            if fault_at is not None and (timer_at is None or fault_at <= timer_at):
                self.fault_due(fault_at)
            else:
                due, _, action = heapq.heappop(timers)
                action(due)
