"""The live progress view renders what a person watches: step, simulated time, requests,
alarm states, verdicts, events."""

from __future__ import annotations

from rich.console import Console

from cutover.rehearsal.progress import Progress, ProgressView, sim_time
from cutover.rehearsal.record import Decision, Verdict


def test_sim_time():
    assert sim_time(0) == "day 1 00:00"
    assert sim_time(1440 + 61) == "day 2 01:01"


def test_render_shows_the_run():
    console = Console(record=True, width=160)
    progress = Progress(console)
    progress.event(30, "brake", "the rollback alarm fired after the bake")
    view = ProgressView("demo", 5, 1234, 0, (("rel-rollback", "rollback", "ALARM"),
                                              ("rel-canary-error-rate", "member", "OK")),
                        (Decision(25, 1, Verdict.PROMOTE, "promote to 5%", ()),))
    console.print(progress.render(view, 90))
    text = console.export_text()
    for expected in ("demo", "day 1 01:30", "step 5%", "requests 1,234", "ALARM", "rel-rollback",
                     "member", "PROMOTE", "promote to 5%", "brake"):
        assert expected in text, expected
