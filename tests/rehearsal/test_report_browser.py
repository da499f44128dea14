"""The report in a real headless browser (Debian's chromium): it renders with no console
error, asks for nothing but itself, runs nothing hostile, and fits a phone's width."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cutover.rehearsal.report import render_html
from tests.rehearsal import browser
from tests.rehearsal.report_fixtures import build, hostile

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    why = browser.missing()
    if why is None:
        return
    if os.environ.get("CUTOVER_REQUIRE_ALL") == "1":
        pytest.fail(f"CUTOVER_REQUIRE_ALL=1 and the browser test cannot run: {why}")
    pytest.skip(why)


def _open(report: dict, tmp_path: Path, width: int, name: str) -> tuple[Path, browser.Visit]:
    page = render_html(report, tmp_path / name)
    shot = tmp_path / f"{name}-{width}.png"
    seen = browser.visit(page, tmp_path / f"profile-{name}-{width}", width=width,
                         screenshot=shot,
                         selectors=("figure.chart svg[role=img]", "img", "script", "iframe",
                                    "article.decision", "text.end-label"))
    return shot, seen


@pytest.mark.parametrize("scenario", ["healthy", "rollback", "latency"])
def test_the_report_renders_in_chromium_with_no_console_error(scenario, tmp_path):
    report = build(scenario)
    shot, seen = _open(report, tmp_path, 1200, scenario)
    assert seen.console == [] and seen.page_errors == []
    assert seen.requests == [(tmp_path / scenario / "report.html").as_uri()]
    assert seen.title.startswith("Rehearsal of huntaze-prisma-migration (production)")
    assert seen.counts["figure.chart svg[role=img]"] == 6
    assert seen.counts["article.decision"] == len(report["decisions"])
    assert seen.counts["text.end-label"] >= 9  # every line labelled at its end
    assert seen.scroll_width <= seen.viewport_width
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 50_000


def test_hostile_strings_run_nothing_in_the_browser(tmp_path):
    shot, seen = _open(hostile(), tmp_path, 1200, "hostile")
    assert seen.dialogs == [] and seen.page_errors == [] and seen.console == []
    assert seen.counts["img"] == 0 and seen.counts["script"] == 0 and seen.counts["iframe"] == 0
    assert len(seen.requests) == 1  # no stylesheet, frame or image was fetched
    assert shot.read_bytes().startswith(PNG)


def test_at_a_phones_width_the_page_does_not_overflow(tmp_path):
    shot, seen = _open(build("rollback"), tmp_path, 375, "narrow")
    assert seen.console == [] and seen.page_errors == []
    assert seen.viewport_width == 375
    assert seen.scroll_width <= seen.viewport_width  # charts and tables scroll in their box
    assert shot.read_bytes().startswith(PNG)
