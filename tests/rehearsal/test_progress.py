"""The live progress view renders what a person watches: step, simulated time, requests,
alarm states, verdicts, events."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from cutover.rehearsal.progress import Progress, sim_time


class Alarms:
    def __init__(self) -> None:
        self.alarms = {"a": SimpleNamespace(name="rel-canary-error-rate", role="rollback")}
        self.composite_name = "rel-rollback"

    def state(self, name: str) -> str:
        return "ALARM" if name == "rel-rollback" else "OK"


def test_sim_time():
    assert sim_time(0) == "day 1 00:00"
    assert sim_time(1440 + 61) == "day 2 01:01"


def test_render_shows_the_run():
    console = Console(record=True, width=160)
    progress = Progress(console)
    progress.event(30, "brake", "the rollback alarm fired after the bake")
    rehearsal = SimpleNamespace(
        scenario=SimpleNamespace(name="demo"), steps=[SimpleNamespace(percent=5)], requests=1234,
        user_errors=0, alarms=Alarms(),
        decisions=[{"minute": 25, "step": 1, "verdict": "PROMOTE", "action": "promote to 5%"}])
    console.print(progress.render(rehearsal, 90))
    text = console.export_text()
    for expected in ("demo", "day 1 01:30", "step 5%", "requests 1,234", "ALARM", "rel-rollback",
                     "member", "PROMOTE", "promote to 5%", "brake"):
        assert expected in text, expected
