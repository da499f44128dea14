"""Live progress in the terminal (rich): step, simulated time, requests, alarm states,
verdicts and the latest events. Redrawn at most a few times a second of wall time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .record import Decision

STATE_STYLE = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


@dataclass(frozen=True)
class ProgressView:
    """What the live view shows of a run at one moment."""

    scenario: str
    step: float | None  # the current step's percent
    requests: int
    user_errors: int
    alarms: tuple[tuple[str, str, str], ...]  # (name, role, state), the rollback alarm first
    decisions: tuple[Decision, ...]


def sim_time(minute: int) -> str:
    return f"day {minute // 1440 + 1} {minute % 1440 // 60:02d}:{minute % 60:02d}"


class Progress:
    def __init__(self, console: Console | None = None, refresh_s: float = 0.25) -> None:
        self.console = console or Console(stderr=True)
        self.refresh_s = refresh_s
        self.events: deque[tuple[int, str, str]] = deque(maxlen=8)
        self._last = 0.0
        self._live: Live | None = None
        self._started = time.perf_counter()

    def __enter__(self) -> Self:
        self._live = Live(Text("starting PostgreSQL and the functions..."), console=self.console,
                          auto_refresh=False, redirect_stdout=False, redirect_stderr=False,
                          transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def event(self, minute: int, kind: str, detail: str) -> None:
        self.events.append((minute, kind, detail))

    def update(self, view: Callable[[], ProgressView], minute: int, force: bool = False) -> None:
        """Redraw (at most every ``refresh_s``) with ``view()``, made only when drawn."""
        now = time.perf_counter()
        if self._live is None or (not force and now - self._last < self.refresh_s):
            return
        self._last = now
        self._live.update(self.render(view(), minute), refresh=True)

    def render(self, v: ProgressView, minute: int) -> Group:
        head = Table.grid(padding=(0, 2))
        head.add_row(Text(v.scenario, style="bold"), f"simulated {sim_time(minute)}",
                     f"step {v.step:g}%" if v.step is not None else "", f"requests {v.requests:,}",
                     f"user-visible errors {v.user_errors}",
                     f"wall {time.perf_counter() - self._started:.0f} s")
        alarms = Table(title="alarms", show_header=False, box=None, padding=(0, 1))
        for name, role, state in v.alarms:
            alarms.add_row(Text(state, style=STATE_STYLE.get(state, "")), role, name)
        decisions = Table(title="decisions", show_header=False, box=None, padding=(0, 1))
        for d in v.decisions[-4:]:
            decisions.add_row(sim_time(d.minute), f"step {d.step:g}%", d.verdict.value, d.action)
        events = Table(title="events", show_header=False, box=None, padding=(0, 1))
        for m, kind, detail in self.events:
            events.add_row(sim_time(m), kind, detail[:90])
        return Group(head, alarms, decisions, events)
