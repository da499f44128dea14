"""Open a report in Debian's headless chromium through Playwright, as a person would.

Never downloads a browser: Playwright drives the system's chromium (found as
`cutover doctor` finds it: CUTOVER_CHROMIUM, else `chromium` on the PATH) with a fresh,
empty profile and no network features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cutover.generator.terraform.toolchain import find_chromium

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Visit:
    console: list[str] = field(default_factory=list)  # console messages of type error/warning
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    dialogs: list[str] = field(default_factory=list)
    scroll_width: int = 0
    viewport_width: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # CSS selector -> elements
    title: str = ""


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if find_chromium() is None:
        return ("no chromium: install Debian's chromium (apt-get install -y chromium; "
                ".ci/run does it) or set CUTOVER_CHROMIUM to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make setup installs requirements/dev.txt)"
    return None


def visit(html: Path, profile: Path, width: int = 1200, height: int = 900,
          screenshot: Path | None = None, full_page: bool = True,
          clip_height: int | None = None, selectors: tuple[str, ...] = (),
          clip_below: str | None = None) -> Visit:
    """Load `html` from disk, wait for it to settle, record what it did, screenshot it."""
    from playwright.sync_api import sync_playwright

    seen = Visit()
    profile.mkdir(parents=True, exist_ok=False)  # a new, empty --user-data-dir
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(find_chromium()), headless=True, args=FLAGS,
            viewport={"width": width, "height": max(height, clip_height or 0)},
            device_scale_factor=1,
            offline=True, java_script_enabled=True)
        try:
            page = context.new_page()
            page.on("console", lambda m: seen.console.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
            page.on("request", lambda r: seen.requests.append(r.url))
            page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            seen.title = page.title()
            seen.scroll_width = page.evaluate("document.documentElement.scrollWidth")
            seen.viewport_width = page.evaluate("window.innerWidth")
            seen.counts = {s: page.locator(s).count() for s in selectors}
            if clip_below:  # down to the bottom of that element
                box = page.locator(clip_below).first.bounding_box()
                clip_height = int(box["y"] + box["height"] + 16)
                page.set_viewport_size({"width": width, "height": clip_height})
            if screenshot is not None:
                clip = {"x": 0, "y": 0, "width": width, "height": clip_height} if clip_height else None
                page.screenshot(path=str(screenshot), full_page=full_page and not clip, clip=clip)
        finally:
            context.close()
    return seen
