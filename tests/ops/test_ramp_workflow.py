"""The GitHub workflow example that runs `cutover ramp` on a schedule: it parses, runs
the command that exists, treats each exit code as documented, and opens a pull request
with the spec file only when the spec was edited."""

from __future__ import annotations

import re

import yaml

from cutover.cli import main
from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "examples" / "github" / "ramp.yml"


def _steps() -> dict[str, dict]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    return {s.get("id") or s.get("name") or s.get("uses"): s for s in doc["jobs"]["ramp"]["steps"]}


def test_the_workflow_runs_cutover_ramp_and_opens_a_pull_request_on_promote():
    steps = _steps()
    script = steps["ramp"]["run"]
    assert ".venv/bin/cutover ramp --env production --json" in script
    assert re.search(r"0\|3\) exit 0", script)  # promote / hold: the job passes
    assert '*) exit "$code"' in script  # rollback (4) and missing access (2) fail it
    pr = steps["Open the pull request"]
    assert pr["uses"].startswith("peter-evans/create-pull-request@")
    assert pr["if"] == "steps.ramp.outputs.code == '0' && steps.ramp.outputs.changed == 'true'"
    assert pr["with"]["add-paths"] == "config/production.release.yaml"


def test_the_options_it_uses_exist(capsys):
    try:
        main(["ramp", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    usage = capsys.readouterr().out
    for option in ("--env", "--json", "--to", "--apply"):
        assert option in usage
