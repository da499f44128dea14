"""Scenario files: every error located (file, line, YAML path) and said at once; the CLI
exits 2 and writes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cutover.cli import main
from cutover.rehearsal.scenario import ScenarioInvalid, load_scenario, parse_scenario

from .conftest import ROOT, SCENARIOS

BAD = """\
name: Bad Name
traffic:
  requests_per_minut: 3
ramp:
  hold_minutes: 0
latency:
  database: {median_ms: 20, p95_ms: 10}
faults:
  - kind: candidate_errors
    when: {step: 5}
    rate: 2
  - kind: meteor
  - kind: latency
    when: {step: 1, minute: 3}
expect:
  outcome: held
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario(text, "bad.yaml")
    return caught.value.report().splitlines()[1:]


def test_every_error_is_located_and_reported_at_once():
    lines = errors_of(BAD)
    assert lines == [
        "  bad.yaml:1: name: 'Bad Name': string should match pattern '^[a-z0-9][a-z0-9-]*$'",
        ("  bad.yaml:3: traffic.requests_per_minut: unknown field 'requests_per_minut'; allowed here: "
        "diurnal_amplitude, key_skew, max_requests, night, path_shares, requests_per_minute, users"),
        "  bad.yaml:5: ramp.hold_minutes: 0: input should be greater than or equal to 1",
        "  bad.yaml:7: latency.database.p95_ms: 10 must be at least median_ms (20)",
        "  bad.yaml:11: faults[0].rate: 2: input should be less than or equal to 1",
        ("  bad.yaml:12: faults[1]: kind must be one of: candidate_errors, latency, divergence, "
        "flags_unavailable, database_outage, router_deployment, candidate_timeout, control_errors, "
        "agent_outage, lost_notification"),
        "  bad.yaml:14: faults[2].when.step: set either step (with after_minutes) or minute",
        "  bad.yaml:15: expect.step: held needs the step (percent) where it happens",
    ]


@pytest.mark.parametrize("text, expected", [
    ("", "bad.yaml:1: (document): the file is empty"),
    ("name: [unclosed", "bad.yaml:1: (document): not valid YAML"),
    ("name: x\nname: y\nexpect: {outcome: promoted}\n", "bad.yaml:2: name: duplicate key 'name' (first at line 1)"),
    ("name: x\n", "bad.yaml:1: expect: is required"),
])
def test_yaml_level_errors(text, expected):
    assert any(line.strip().startswith(expected) for line in errors_of(text)), errors_of(text)


def test_shipped_scenarios_are_valid():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_scenario(path)
        assert scenario.name == path.stem, f"{path}: name must match the file name"
        assert scenario.description, f"{path}: say what it injects and expects"


def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    out = tmp_path / "out"
    code = main(["--root", str(ROOT), "rehearse", "--scenario", str(bad), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: traffic.requests_per_minut: unknown field" in err
    assert not out.exists()


def test_cli_unknown_scenario_names_the_shipped_ones(tmp_path, capsys):
    code = main(["--root", str(ROOT), "rehearse", "--scenario", "nope", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no scenario" in err and "healthy" in err
    assert not (tmp_path / "o").exists()


def test_cli_unknown_environment(tmp_path, capsys):
    assert main(["--root", str(ROOT), "rehearse", "--env", "nowhere"]) == 2
    assert "no spec for environment 'nowhere'" in capsys.readouterr().err


def test_cli_without_packages_says_make_build(tmp_path, capsys):
    root = tmp_path / "project"
    (root / "config" / "scenarios").mkdir(parents=True)
    for name in ("production.release.yaml",):
        (root / "config" / name).write_text((ROOT / "config" / name).read_text())
    (root / "config" / "scenarios" / "healthy.yaml").write_text((SCENARIOS / "healthy.yaml").read_text())
    assert main(["--root", str(root), "rehearse", "--quiet"]) == 2
    assert "run `make build` first" in capsys.readouterr().err
    assert not (root / "reports").exists()


def test_unreadable_file(tmp_path: Path):
    with pytest.raises(ScenarioInvalid, match="cannot read the scenario"):
        load_scenario(tmp_path / "missing.yaml")


def test_cli_unreachable_database_exits_2(tmp_path, capsys):
    from .test_cli import SMALL

    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("{outcome}", "held").replace("{step}", "0"))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["--root", str(ROOT), "rehearse", "--scenario", str(scenario), "--quiet",
                 "--out", str(tmp_path / "out"), "--database-url", f"postgresql://nobody@127.0.0.1:{port}/x"])
    assert code == 2
    assert "cannot connect to PostgreSQL (--database-url" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_what_a_scenario_names_of_the_spec_is_checked_at_its_line(tmp_path, production_spec):
    from cutover.rehearsal.scenario import check_against_spec

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ntraffic:\n  path_shares: {nope: 1}\nramp:\n  start_step: 7\n"
                    "faults:\n  - kind: candidate_errors\n    when: {step: 3}\n    rate: 0.1\n"
                    "expect:\n  outcome: promoted\n")
    with pytest.raises(ScenarioInvalid) as caught:
        check_against_spec(path, load_scenario(path), production_spec)
    assert caught.value.report().splitlines()[1:] == [
        f"  {path}:3: traffic.path_shares.nope: no read path 'nope' in the spec (user-read)",
        f"  {path}:5: ramp.start_step: 7 is not a step of the spec (1, 5, 25, 50, 100)",
        f"  {path}:8: faults[0].when.step: 3 is not a step of the spec (1, 5, 25, 50, 100)",
    ]


@pytest.mark.parametrize("fault, message", [
    ("{kind: candidate_timeout, when: {minute: 1}, share: 0}", "faults[0].share: 0: input should be greater than 0"),
    ("{kind: control_errors, when: {minute: 1}, rate: 1.5}", "faults[0].rate: 1.5: input should be less than or equal to 1"),
    ("{kind: agent_outage, when: {minute: 1}, status: 200}", "faults[0].status: 200: input should be greater than or equal to 400"),
    ("{kind: lost_notification, when: {minute: 1}, what: email}", "faults[0].what: 'email': input should be 'all', 'eventbridge' or 'sns'"),
])
def test_new_fault_kinds_are_checked(fault, message):
    lines = errors_of(f"name: x\nfaults:\n  - {fault}\nexpect:\n  outcome: promoted\n")
    assert lines == [f"  bad.yaml:3: {message}"]
