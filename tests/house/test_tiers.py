"""The test tiers stay true: every tier marker is registered and left out by `make
test-fast`, the fixtures that start a tool mark their tests, and the guard recognises the
tools a test starts (tests/tiers.py)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests import tiers

ROOT = Path(__file__).resolve().parents[2]


def test_every_tier_marker_is_registered_and_markers_are_strict():
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    registered = {line.split(":")[0] for line in pytest_ini["markers"]}
    assert set(tiers.MARKERS) <= registered
    assert "--strict-markers" in pytest_ini["addopts"].split()
    for markers in tiers.FIXTURE_MARKERS.values():
        assert set(markers) <= set(tiers.MARKERS)


def test_make_test_fast_leaves_out_every_tier_and_make_test_runs_on_every_core():
    makefile = (ROOT / "Makefile").read_text()
    (tier_markers,) = re.findall(r"^TIER_MARKERS\s*:=\s*(.+)$", makefile, re.MULTILINE)
    assert tier_markers.split(" or ") == list(tiers.MARKERS)
    fast = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not ($(TIER_MARKERS))"' in fast
    test = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(XDIST)" in test and re.search(r"^XDIST\s*\?=\s*-n ", makefile, re.MULTILINE)


class _Mark:
    def __init__(self, name):
        self.name = name


class _Item:
    """What mark_by_fixtures and the guard read of a pytest item."""

    def __init__(self, fixturenames, marks=()):
        self.fixturenames = fixturenames
        self.marks = [_Mark(m) for m in marks]

    def get_closest_marker(self, name):
        return next((m for m in self.marks if m.name == name), None)

    def add_marker(self, mark):
        self.marks.append(_Mark(getattr(mark, "name", mark)))


def test_a_test_is_marked_by_the_fixtures_it_uses_even_through_another_fixture():
    # `emulated` requests moto_server: pytest lists the whole closure in fixturenames
    via_emulated = _Item(["emulated", "moto_server", "aws_env", "tmp_path"])
    both = _Item(["applied_release"], marks=["terraform"])
    plain = _Item(["tmp_path", "project"])
    tiers.mark_by_fixtures([via_emulated, both, plain])
    assert [m.name for m in via_emulated.marks] == ["moto"]
    assert sorted(m.name for m in both.marks) == ["moto", "terraform", "xdist_group"]  # no duplicate
    assert plain.marks == []


@pytest.mark.parametrize("args,tool", [
    (["/usr/local/bin/terraform", "plan"], "terraform"),
    (["/opt/pg/bin/pg_ctl", "-D", "/x", "start"], "postgres"),
    (["initdb", "-D", "/x"], "postgres"),
    ([".venv-checkov/bin/checkov", "-d", "."], "checkov"),
    ([sys.executable, "-c", "from moto.server import ThreadedMotoServer"], "moto"),
    (["/venv/lib/python3.11/site-packages/playwright/driver/node", "run-driver"], "browser"),
    (["/repo/tools/node_modules/.bin/asl-validator", "--json-path", "x.json"], "node"),
    ([sys.executable, "-m", "cutover", "render"], None),
    ("git status", None),
])
def test_the_guard_knows_the_tools_by_their_command_line(args, tool):
    assert tiers.tool_of(args) == tool


def test_a_stand_in_named_terraform_is_not_the_tool(tmp_path):
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\nexit 0\n")
    assert tiers.tool_of([str(fake), "plan"]) is None


def test_the_guard_names_the_markers_a_test_lacks():
    guard = tiers.LaunchGuard()
    guard.started = {"terraform", "moto"}
    assert guard.missing(_Item([], marks=["terraform"])) == ["moto"]
    assert guard.missing(_Item([], marks=["terraform", "moto"])) == []


def test_no_hypothesis_example_has_a_wall_clock_deadline():
    from hypothesis import HealthCheck, settings

    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check


def test_under_xdist_the_long_tests_start_first_in_collection_order():
    items = [_Item([], marks=m) for m in ([], ["slow"], [], ["postgres", "moto"], ["moto"])]
    order = {id(item): i for i, item in enumerate(items)}
    tiers.long_first(items)
    assert [order[id(i)] for i in items] == [1, 3, 0, 2, 4]


def test_the_controller_groups_the_files_that_use_a_grouped_fixture():
    root = Path(__file__).resolve().parents[2]
    assert tiers.group_of("tests/terraform/test_iam_lint.py::test_every_generated_policy_passes_parliament",
                          root) == "applied_release"
    assert tiers.group_of("tests/terraform/test_safety.py::test_functions_publish_versions", root) is None
