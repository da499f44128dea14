"""Every repository path and every `cutover.*` module the docs cite in backticks exists.

A path is a backticked span that starts with a top-level directory of the repository
(`generator/plan/alarms.py`, `terraform/envs/<env>/`), or with a function's package
(`cutover_runtime/live.py`, `guard/handler.py`, relative to `functions/`) or with the
example's package (`user_profile/mock.py`, relative to `example/user-profile/`); `<...>` and
`*` match any name. A dotted name that starts with `cutover.`, `cutover_runtime.` or
`user_profile.` must import (`importlib.util.find_spec`), its last one or two parts possibly attributes of
the module before them (`cutover.runtime.live.canary_off`).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from tests.support.example import EXAMPLE  # also puts the example's user_profile on sys.path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md")),
         EXAMPLE / "README.md"]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
SPAN = re.compile(r"`([^`\n]+)`")
TOP = ("cutover", "generator", "functions", "terraform", "config", "example", "tests", "bench",
       "docs", "requirements", ".ci", ".github")
FUNCTION_PACKAGES = ("cutover_runtime", "router", "candidate", "guard", "cleanup", "deploy_probe")
EXAMPLE_PACKAGES = ("user_profile",)
_STARTS = "|".join(re.escape(t) for t in TOP + FUNCTION_PACKAGES + EXAMPLE_PACKAGES)
PATH = re.compile(rf"^(?:{_STARTS})/[\w./<>*{{}},-]*$")
DOTTED = re.compile(r"^((?:cutover(?:_runtime)?|user_profile)(?:\.\w+)+)(?:\(.*\))?$")


def spans(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return SPAN.findall(text)


def _globs(cited: str) -> list[str]:
    cited = re.sub(r":\d+$", "", cited).rstrip("/")
    cited = re.sub(r"<[^>/]+>", "*", cited)
    brace = re.search(r"\{([^{}]*)\}", cited)
    if brace:
        return [cited[:brace.start()] + part + cited[brace.end():] for part in brace.group(1).split(",")]
    return [cited]


def path_exists(cited: str) -> bool:
    first = cited.split("/", 1)[0]
    base = ROOT / "functions" if first in FUNCTION_PACKAGES else EXAMPLE if first in EXAMPLE_PACKAGES else ROOT
    return all(any(base.glob(pattern)) if "*" in pattern else (base / pattern).exists()
               for pattern in _globs(cited))


def _find_spec(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ModuleNotFoundError, ValueError):
        return None


def name_resolves(dotted: str) -> bool:
    if dotted.startswith("cutover_runtime."):  # the vendored name of cutover.runtime
        dotted = "cutover.runtime." + dotted.removeprefix("cutover_runtime.")
    parts = dotted.split(".")
    for cut in range(len(parts), max(len(parts) - 3, 0), -1):
        module = ".".join(parts[:cut])
        if _find_spec(module) is None:
            continue
        obj = importlib.import_module(module) if cut < len(parts) else None
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def broken_citations(page: Path) -> list[str]:
    broken = []
    for span in spans(page):
        span = span.strip()
        if PATH.match(span) and "..." not in span and not path_exists(span):
            broken.append(f"`{span}`: no such path")
        match = DOTTED.match(span)
        if match and not name_resolves(match.group(1)):
            broken.append(f"`{span}`: does not import")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_cited_paths_and_modules_exist(page):
    broken = broken_citations(page)
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_checker_finds_what_is_gone(tmp_path):
    # GIVEN a page citing real and missing paths and names; WHEN checked; THEN only the missing fail
    page = tmp_path / "page.md"
    page.write_text("`generator/plan/alarms.py` `generator/plan.py` `terraform/envs/<env>/main.tf` "
                    "`cutover_runtime/live.py` `guard/handler.py:12` `cutover.runtime.live` "
                    "`cutover.generator.plan.release.build_plan` `cutover.generator.spec_checks` "
                    "`cutover.runtime.live.no_such_thing` `tests/...` `functions/router/`\n"
                    "`user_profile/mock.py` `user_profile.mock.control_answer` `user_profile.mock.gone`\n"
                    "```\n`bench/gone.py`\n```\n")
    assert broken_citations(page) == ["`generator/plan.py`: no such path",
                                      "`cutover.generator.spec_checks`: does not import",
                                      "`cutover.runtime.live.no_such_thing`: does not import",
                                      "`user_profile.mock.gone`: does not import"]
