"""`cutover ramp`: the spec edit keeps every byte outside the changed line(s); ramping
refuses while a flag deployment or its bake runs; the gate decides ramps up. ramp only
reads AppConfig: it runs against AppConfig's shared fake (cutover.rehearsal.fakes) over
loopback, not Stubbers."""

from __future__ import annotations

import json

import pytest

from cutover.cli import main
from cutover.ops import spec_edit
from cutover.ops.aws import OpsError
from tests.conftest import ROOT
from tests.ops.conftest import deployment
from tests.ops.controller_helpers import disable

SPEC = ROOT / "config" / "production.release.yaml"

COMMENTED = """\
# yaml-language-server: $schema=release.schema.json
release:   # odd spacing is kept
  name: huntaze-prisma-migration
phase: canary    # the phase follows the percent
read_paths:
  - name: user-read
    canary: {flag_key: prisma-adapter, percent: 1, steps: [1, 5, 25, 50, 100]}   # flow style
  - name: other-read
    canary:
      # the current step
      percent: 5    # ramped on Tuesday
      steps: [1, 5, 25, 50, 100]
      salt: 'quoted: value'
guardrails:
  shadow_diff: {go_pct: 0.5, no_go_pct: 1}
description: >-
  folded text
  over two lines
"""


@pytest.fixture
def project(project):
    """The spec without the controller: with it, a ramp by hand is refused (the controller
    walks the steps; tests/ops/test_controller_sync.py)."""
    disable(project)
    return project


def _changed(old: str, new: str) -> list[int]:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(a) == len(b)
    return [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


@pytest.mark.parametrize("target", [0, 1, 5, 25, 50, 100])
def test_each_step_changes_only_its_line_of_the_real_spec(target):
    old = SPEC.read_text()
    new, changes = spec_edit.set_canary_percent(old, "production", 0, target)
    percent_line = next(i for i, line in enumerate(old.splitlines(), 1) if line.strip().startswith("percent:"))
    phase_line = next(i for i, line in enumerate(old.splitlines(), 1) if line.startswith("phase:"))
    expected = {1: [], 0: [phase_line, percent_line]}.get(target, [percent_line])
    assert _changed(old, new) == expected
    assert {c.line for c in changes} == set(expected)


def test_comments_flow_maps_quotes_and_folded_text_are_kept_byte_for_byte():
    new, _ = spec_edit.set_canary_percent(COMMENTED, "x", 1, 25)
    assert _changed(COMMENTED, new) == [11]
    assert new.splitlines()[10] == "      percent: 25    # ramped on Tuesday"
    new, _ = spec_edit.set_canary_percent(COMMENTED, "x", 0, 5)
    assert _changed(COMMENTED, new) == [7]
    assert new.splitlines()[6].startswith("    canary: {flag_key: prisma-adapter, percent: 5, steps:")
    assert new.splitlines()[6].endswith("]}   # flow style")


def test_crlf_files_keep_their_line_endings():
    crlf = COMMENTED.replace("\n", "\r\n")
    new, _ = spec_edit.set_canary_percent(crlf, "x", 1, 50)
    assert new == crlf.replace("percent: 5    #", "percent: 50    #")


def test_a_missing_percent_is_inserted_at_the_siblings_indent():
    text = COMMENTED.replace("      # the current step\n      percent: 5    # ramped on Tuesday\n", "")
    new, changes = spec_edit.set_canary_percent(text, "x", 1, 1)
    assert "    canary:\n      percent: 1\n      steps:" in new
    assert new.replace("      percent: 1\n", "", 1) == text
    assert changes[0].old == "(unset)"


def test_the_last_path_at_zero_sends_the_release_back_to_shadow():
    text = COMMENTED.replace("percent: 5 ", "percent: 0 ")
    new, changes = spec_edit.set_canary_percent(text, "x", 0, 0)
    assert "phase: shadow    # the phase follows the percent" in new
    assert [c.yaml_path for c in changes] == ["phase", "read_paths[0].canary.percent"]


def test_not_yaml_is_a_clear_error():
    with pytest.raises(OpsError, match="not valid YAML"):
        spec_edit.set_canary_percent("a: [unclosed\n", "bad.yaml", 0, 5)


# --- the command --------------------------------------------------------------------


def _ramp(project, em, capsys, *argv) -> tuple[int, dict]:
    code = main(["--root", str(project), "ramp", "--env", "production", "--json", *argv], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def test_refuses_while_a_flag_deployment_bakes(project, emulated, names, capsys, fake_appconfig):
    fake_appconfig.history(deployment(4, "BAKING", 8))
    before = (project / names.spec_file).read_bytes()
    code, out = _ramp(project, emulated, capsys, "--to", "0")
    assert code == 3
    assert "flag deployment 4 is BAKING" in out["refused"]
    assert (project / names.spec_file).read_bytes() == before


def test_ramping_down_needs_no_gate_and_shows_the_diff(project, emulated, names, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    code, out = _ramp(project, emulated, capsys, "--to", "0")
    assert code == 0
    assert out["changed"] is True and "analysis" not in out
    assert "-      percent: 1\n+      percent: 0\n" in out["diff"]
    assert "-phase: canary\n+phase: shadow\n" in out["diff"]
    text = (project / names.spec_file).read_text()
    assert "percent: 0" in text and "phase: shadow" in text


def test_a_step_that_is_not_planned_is_refused(project, emulated, capsys):
    code = main(["--root", str(project), "ramp", "--env", "production", "--to", "7"], clients=emulated.clients())
    assert code == 2
    assert "--to 7 is not a step of user-read; allowed: 0, 1, 5, 25, 50, 100" in capsys.readouterr().err


def test_already_there_is_nothing_to_do(project, emulated, capsys):
    code, out = _ramp(project, emulated, capsys, "--to", "1")
    assert code == 0 and out["changed"] is False


def test_apply_builds_plans_and_applies_after_the_edit(project, emulated, names, capsys, monkeypatch,
                                                     fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    seen = []
    monkeypatch.setattr("cutover.ops.ramp.plan_and_apply", lambda ctx: seen.append(ctx.spec_path.read_text()) or 0)
    code, out = _ramp(project, emulated, capsys, "--to", "0", "--apply")
    assert code == 0 and out["applyExitCode"] == 0
    assert "percent: 0" in seen[0]  # the plan saw the edited spec


def _applied_by(monkeypatch, tmp_path, failure: Exception | None) -> list[str]:
    """plan_and_apply with the build, plan and apply replaced: what it called, in order."""
    import subprocess
    from types import SimpleNamespace

    from cutover.generator import workspace

    calls: list[str] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append("build") or SimpleNamespace(returncode=0))
    monkeypatch.setattr(workspace, "plan_env", lambda layout, env, **k: calls.append(f"plan {env}"))

    def apply(layout, env, **k):
        calls.append(f"apply {env}")
        if failure is not None:
            raise failure

    monkeypatch.setattr(workspace, "apply_env", apply)
    return calls


@pytest.mark.parametrize("failure,code", [
    (None, 0),
    ("flag deployment", 3),  # hold: apply again once the flag deployment is done
    ("refused", 2),
    ("terraform", 1),
])
def test_ramp_apply_plans_then_applies_and_maps_each_failure_to_its_exit_code(monkeypatch, tmp_path, capsys,
                                                                             failure, code):
    from types import SimpleNamespace

    from cutover.generator.terraform.run import ApplyRefused, FlagDeploymentInProgress
    from cutover.generator.terraform.wrapper import TerraformError

    from cutover.ops import ramp

    raised = {None: None, "flag deployment": FlagDeploymentInProgress("a flag deployment bakes"),
              "refused": ApplyRefused("planned against the emulator"),
              "terraform": TerraformError(["terraform", "apply"], 1, "Error: apply failed")}[failure]
    calls = _applied_by(monkeypatch, tmp_path, raised)
    assert ramp.plan_and_apply(SimpleNamespace(root=tmp_path, env="staging")) == code
    assert calls == ["build", "plan staging", "apply staging"]
    if raised is not None:
        assert str(raised) in capsys.readouterr().err


# --- the gate (cutover/analysis/ decides; the replayable example files of docs/analysis.md) ----

EXAMPLES = ROOT / "docs" / "examples" / "metrics"


def _gate_with(monkeypatch, example: str) -> None:
    document = json.loads((EXAMPLES / example).read_text())
    monkeypatch.setattr("cutover.ops.metrics.collect", lambda ctx, since, now=None: document)


# --- after the guard, a rollback or a revert: what is served is not the spec's step ------


def test_ramping_up_after_an_appconfig_rollback_says_what_happened(project, emulated, names, capsys,
                                                                 fake_appconfig):
    # GIVEN the 0 -> 1% deployment was stopped with revert: 0% is served, the spec says 1%
    fake_appconfig.history(deployment(4, "ROLLED_BACK", 8), deployment(3, "COMPLETE", 7), served=0,
                           described={3: "cutover huntaze-prisma-migration (production)"})
    before = (project / names.spec_file).read_bytes()
    # WHEN the scheduled ramp runs
    code, out = _ramp(project, emulated, capsys)
    # THEN it neither holds (as if a rollout were in flight) nor ramps: it fails with what
    # happened and the edit that makes the spec say what is served
    assert code == 1 and out["changed"] is False
    assert out["refused"].startswith("flag deployment 4 (version 8) was ROLLED_BACK; served: version 7")
    assert "`cutover ramp --env production --path user-read --to 0`, no gate" in out["refused"]
    assert (project / names.spec_file).read_bytes() == before


def test_after_the_guard_ramping_to_zero_reconciles_the_spec(project, emulated, names, capsys, fake_appconfig):
    fake_appconfig.history(deployment(5, "COMPLETE", 9), deployment(4, "COMPLETE", 8), served=0,
                           described={5: "cutover guard: canary off while the rollback alarm is in ALARM"})
    code, out = _ramp(project, emulated, capsys, "--to", "0")
    assert code == 0 and out["changed"] is True and "analysis" not in out
    assert out["happened"].startswith("the guard turned the canary off (deployment 5)")
    assert "percent: 0" in (project / names.spec_file).read_text()


def _idle(fake) -> None:
    fake.history(deployment(3, "COMPLETE", 7), served=1)


def test_promote_edits_the_spec_to_the_next_step(project, emulated, names, capsys, monkeypatch, fake_appconfig):
    _idle(fake_appconfig)
    _gate_with(monkeypatch, "healthy-1pct.json")
    code, out = _ramp(project, emulated, capsys)
    assert out["analysis"]["verdict"] == "PROMOTE"
    assert code == 0 and (out["from"], out["to"]) == (1, 5)
    assert "-      percent: 1\n+      percent: 5\n" in out["diff"]
    assert "percent: 5" in (project / names.spec_file).read_text()


@pytest.mark.parametrize(("example", "verdict", "code"), [
    ("ramp-in-flight-5pct.json", "HOLD", 3),
    ("incident-canary-errors-5pct.json", "ROLLBACK", 4),
])
def test_hold_and_rollback_leave_the_spec_alone(project, emulated, names, capsys, monkeypatch, example, verdict, code,
                                               fake_appconfig):
    _idle(fake_appconfig)
    _gate_with(monkeypatch, example)
    before = (project / names.spec_file).read_bytes()
    got, out = _ramp(project, emulated, capsys)
    assert (got, out["analysis"]["verdict"], out["changed"]) == (code, verdict, False)
    assert (project / names.spec_file).read_bytes() == before


def test_the_reconciling_line_sets_every_path_and_the_phase_once(tmp_path):
    # GIVEN two paths on the canary (1% and 5%), both turned off by a rollback
    spec = tmp_path / "x.yaml"
    spec.write_text(COMMENTED)
    # WHEN the spec line for both is described
    line = spec_edit.percent_lines(spec, "x.yaml", {0: 0, 1: 0})
    # THEN both percents go to 0 and the phase follows once, to shadow; the file is untouched
    assert line == ("x.yaml:11: read_paths[1].canary.percent: 5 -> 0; x.yaml:7: read_paths[0].canary.percent: 1 -> 0; "
                    "x.yaml:4: phase: canary -> shadow")
    assert spec.read_text() == COMMENTED


# --- what a new operator runs into (docs/operations.md, Ramping the canary) ------------


def _spec_at(project, names, percent: int) -> None:
    spec = project / names.spec_file
    spec.write_text(spec.read_text().replace("      percent: 1\n", f"      percent: {percent}\n", 1))


def _applies(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr("cutover.ops.ramp.plan_and_apply", lambda ctx: seen.append(ctx.spec_path.read_text()) or 0)
    return seen


def test_an_already_edited_step_is_applied_after_the_gate(project, emulated, names, capsys, monkeypatch,
                                                         fake_appconfig):
    # GIVEN the reviewed edit to 5% is merged while 1% is still served
    _idle(fake_appconfig)
    _spec_at(project, names, 5)
    _gate_with(monkeypatch, "healthy-1pct.json")
    seen = _applies(monkeypatch)
    # WHEN the step is applied
    code, out = _ramp(project, emulated, capsys, "--to", "5", "--apply")
    # THEN the edit is a no-op, the apply is not (and the gate judged the served 1%)
    assert code == 0 and out["changed"] is False and out["applyExitCode"] == 0
    assert out["analysis"]["verdict"] == "PROMOTE"
    assert len(seen) == 1 and "percent: 5" in seen[0]


def test_an_already_edited_step_is_not_applied_on_a_hold(project, emulated, names, capsys, monkeypatch,
                                                        fake_appconfig):
    _idle(fake_appconfig)
    _spec_at(project, names, 5)
    _gate_with(monkeypatch, "ramp-in-flight-5pct.json")
    seen = _applies(monkeypatch)
    code, out = _ramp(project, emulated, capsys, "--to", "5", "--apply")
    assert code == 3 and seen == [] and out["analysis"]["verdict"] == "HOLD"


def test_an_already_edited_step_after_the_guard_is_refused(project, emulated, names, capsys, monkeypatch,
                                                          fake_appconfig):
    # GIVEN the spec says 5% and the guard turned the canary off: applying would turn it back on
    fake_appconfig.history(deployment(5, "COMPLETE", 9), deployment(4, "COMPLETE", 8), served=0,
                           described={5: "cutover guard: canary off while the rollback alarm is in ALARM"})
    _spec_at(project, names, 5)
    seen = _applies(monkeypatch)
    code, out = _ramp(project, emulated, capsys, "--to", "5", "--apply")
    assert code == 1 and seen == []
    assert "--to 0`, no gate" in out["refused"]


def test_the_promote_hint_applies_the_step_just_written(project, emulated, names, capsys, monkeypatch,
                                                       fake_appconfig):
    _idle(fake_appconfig)
    _gate_with(monkeypatch, "healthy-1pct.json")
    code = main(["--root", str(project), "ramp", "--env", "production"], clients=emulated.clients())
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0
    assert "`cutover ramp --env production --path user-read --to 5 --apply`" in out


def test_at_the_last_step_there_is_nothing_to_ramp_and_that_is_not_a_failure(project, emulated, names, capsys):
    _spec_at(project, names, 100)
    code, out = _ramp(project, emulated, capsys)
    assert code == 0 and out["changed"] is False
    assert "at 100%, the last step: nothing to ramp" in out["note"]


def test_hold_prints_every_reason(project, emulated, names, capsys, monkeypatch, fake_appconfig):
    _idle(fake_appconfig)
    _gate_with(monkeypatch, "ramp-in-flight-5pct.json")
    code = main(["--root", str(project), "ramp", "--env", "production"], clients=emulated.clients())
    out = capsys.readouterr().out
    assert code == 3
    assert "go/no-go" in out and "more)" not in out
    assert all(name in out for name in ("canary-share", "canary-error-rate", "p95-ceiling"))


def _no_data(doc: dict) -> dict:
    for p in doc["paths"]:
        p["series"] = [{k: (0 if k != "start" else v) for k, v in period.items()} for period in p["series"]]
        p["latency"] = {r: {"p95_ms": None, "samples": 0} for r in p["latency"]}
    return doc


def test_the_verdict_tells_no_data_at_all_from_too_few_samples():
    from cutover.analysis import analyze, load_metrics

    healthy = json.loads((EXAMPLES / "healthy-1pct.json").read_text())
    none = analyze(load_metrics(_no_data(json.loads(json.dumps(healthy)))))
    assert none.verdict.value == "HOLD"
    assert none.reason.startswith("no data at all for user-read: not one metric") and "(+" not in none.reason
    few = json.loads(json.dumps(healthy))
    for period in few["paths"][0]["series"]:
        period.update({k: v // 100 for k, v in period.items() if k != "start"})
    few["paths"][0]["latency"]["canary"]["samples"] = 3
    thin = analyze(load_metrics(few))
    assert thin.verdict.value == "HOLD" and "no data" not in thin.reason
    assert "too few samples" in thin.reason
