"""`cutover analyze`: exit codes, the --json shape, located errors, the shipped examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cutover.generator.plan.analysis_guardrails import analysis_guardrails
from cutover.generator.spec.loader import load_spec
from cutover.generator.spec.model import Guardrails as SpecGuardrails

from cutover.analysis import Guardrails, analyze, load_metrics
from cutover.cli import main
from tests.analysis.builders import Scenario, document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "metrics"
REPLAYS = [
    ("healthy-1pct.json", "PROMOTE", 0, ["go"]),
    ("incident-canary-errors-5pct.json", "ROLLBACK", 4, ["rollback auto"]),
    ("ramp-in-flight-5pct.json", "HOLD", 3, ["wait"]),
]


def analyze_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(ROOT), "analyze", "--env", "production", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, doc: dict) -> str:
    f = tmp_path / "metrics.json"
    f.write_text(json.dumps(doc))
    return str(f)


@pytest.mark.parametrize("name,verdict,code,actions", REPLAYS)
def test_the_shipped_examples_replay_to_their_verdicts(capsys, name, verdict, code, actions):
    got, out, err = analyze_cli(capsys, "--metrics", str(EXAMPLES / name), "--json", "--gate")
    assert (got, err) == (code, "")
    result = json.loads(out)
    assert (result["verdict"], result["exit_code"], result["seed_actions"]) == (verdict, code, actions)


@pytest.mark.parametrize("scenario,code", [
    (Scenario(), 0),
    (Scenario(p95_canary=56), 3),
    (Scenario(step=5, canary_error_pct=5), 4),
])  # fmt: skip
def test_gate_exit_codes(capsys, tmp_path, scenario, code):
    metrics = write(tmp_path, document(scenario))
    assert analyze_cli(capsys, "--metrics", metrics, "--gate")[0] == code
    assert analyze_cli(capsys, "--metrics", metrics)[0] == 0  # without --gate: the analysis ran


def test_json_shape(capsys, tmp_path):
    code, out, _ = analyze_cli(capsys, "--metrics", write(tmp_path, document(Scenario(p95_canary=48))), "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"format", "release", "environment", "verdict", "exit_code", "seed_actions", "reason",
                           "guardrails", "paths", "checks"}
    assert result["format"] == "cutover.analysis/1"
    assert result["paths"] == [{"path": "user-read", "step_percent": 1, "verdict": "HOLD"}]
    p95 = next(c for c in result["checks"] if c["name"] == "p95-regression")
    assert p95 == {
        "path": "user-read", "name": "p95-regression", "verdict": "HOLD", "seed_action": "wait",
        "figure": 20, "unit": "% vs control", "threshold": "go <= +15%, no-go > +30% vs control",
        "samples": 120, "evidence": {},
        "reason": "canary p95 48 ms vs control 40 ms: +20% vs control is between go (15%) and no-go (30%)",
    }  # fmt: skip
    assert [c["name"] for c in result["checks"]] == [
        "canary-error-rate", "candidate-error-rate", "served-error-rate", "p95-regression", "p95-ceiling",
        "shadow-diff-rate", "shadow-error-rate", "shadow-dispatch-failure-rate", "canary-share",
    ]


def test_the_human_view_is_a_table_with_the_verdict(capsys):
    code, out, _ = analyze_cli(capsys, "--metrics", str(EXAMPLES / "incident-canary-errors-5pct.json"))
    assert code == 0
    assert "canary-error-rate" in out and "rollback auto" in out
    assert "verdict: ROLLBACK  (seed action: rollback auto)" in out


def test_bad_metrics_exit_2_with_located_errors(capsys, tmp_path):
    doc = document(Scenario(minutes=2))
    doc["paths"][0]["series"][1]["Errors"] = "many"
    code, out, err = analyze_cli(capsys, "--metrics", write(tmp_path, doc), "--gate")
    assert (code, out) == (2, "")
    assert f'{tmp_path / "metrics.json"}: $.paths[0].series[1].Errors: "many": expected a whole count from 0 to 9007199254740992 (2^53)' in err


def test_metrics_of_another_environment_are_refused(capsys, tmp_path):
    code, _, err = analyze_cli(capsys, "--metrics", write(tmp_path, document(Scenario(), environment="staging")))
    assert code == 2
    assert "$.environment: 'staging' does not match --env production" in err


def test_unknown_environment(capsys, tmp_path):
    code = main(["--root", str(ROOT), "analyze", "--env", "qa", "--metrics", write(tmp_path, document())])
    assert code == 2
    assert "no spec for environment 'qa'" in capsys.readouterr().err


def test_the_real_command_never_prints_a_traceback(tmp_path):
    """The installed entry point, in a fresh process, on a file that is not JSON at all."""
    bad = tmp_path / "m.json"
    bad.write_text("not json")
    run = subprocess.run([sys.executable, "-m", "cutover", "--root", str(ROOT), "analyze", "--env",
                          "production", "--metrics", str(bad), "--gate"], check=False, capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"{bad}:1:1: not valid JSON: Expecting value" in run.stderr


def test_a_hundred_thousand_nested_brackets_exit_2_located_without_a_traceback(tmp_path):
    """This used to exit 1 with a RecursionError traceback (a fresh process: the
    recursion limit is the interpreter's own, not pytest's)."""
    bad = tmp_path / "deep.json"
    bad.write_text('{"format": "cutover.metrics/1", "paths":\n  ' + "[" * 100_000)
    run = subprocess.run([sys.executable, "-m", "cutover", "--root", str(ROOT), "analyze", "--env",
                          "production", "--metrics", str(bad), "--gate"], check=False, capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (2, "")
    assert "Traceback" not in run.stderr
    assert f"{bad}:2:66: nested deeper than 64 levels; a cutover.metrics/1 document nests at most 6" in run.stderr


def _with(tmp_path: Path, text: str) -> str:
    f = tmp_path / "metrics.json"
    f.write_text(text)
    return str(f)


@pytest.mark.parametrize("edit,expected", [
    # a NaN literal: line and column of the literal itself
    (lambda text: text.replace('"Requests": 100', '"Requests": NaN', 1),
     ("{f}:{line}:{col}: NaN is not a JSON number; counts are whole numbers >= 0 and p95_ms a number of "
     "milliseconds or null")),
    (lambda text: text.replace('"Requests": 100', '"Requests": -Infinity', 1),
     ("{f}:{line}:{col}: -Infinity is not a JSON number; counts are whole numbers >= 0 and p95_ms a number of "
     "milliseconds or null")),
    # counts beyond what a CloudWatch sum holds exactly
    (lambda text: text.replace('"Requests": 100', '"Requests": 1e300', 1),
     "{f}: $.paths[0].series[0].Requests: 1e+300: expected a whole count from 0 to 9007199254740992 (2^53)"),
    (lambda text: text.replace('"Requests": 100', '"Requests": ' + "9" * 5000, 1),
     "{f}: $.paths[0].series[0].Requests: Infinity: expected a whole count from 0 to 9007199254740992 (2^53)"),
])  # fmt: skip
def test_malformed_files_exit_2_with_a_located_error(capsys, tmp_path, edit, expected):
    text = json.dumps(document(Scenario(minutes=2)), indent=1)
    changed = edit(text)
    offset = next(i for i, (a, b) in enumerate(zip(text, changed)) if a != b)  # where the literal starts
    line = changed.count("\n", 0, offset) + 1
    col = offset - changed.rfind("\n", 0, offset)
    f = _with(tmp_path, changed)
    code, out, err = analyze_cli(capsys, "--metrics", f, "--gate")
    assert (code, out) == (2, "")
    assert expected.format(f=f, line=line, col=col) in err
    assert "Traceback" not in err


def test_the_spec_guardrails_reach_the_analysis():
    spec = load_spec(ROOT / "config" / "production.release.yaml")
    g = analysis_guardrails(spec.guardrails)
    assert (g.error_rate_pct, g.p95_go_pct, g.p95_no_go_pct) == (2, 15, 30)
    assert (g.p95_ceiling_ms, g.confidence, g.min_samples) == (500, 0.95, 50)


def test_analysis_defaults_are_the_spec_defaults():
    # expected_requests_per_minute has no default (it sizes the alarms); the rest do
    assert analysis_guardrails(SpecGuardrails(expected_requests_per_minute=100)) == Guardrails()


def test_a_staging_spec_with_fewer_samples_promotes_sooner(tmp_path):
    """staging.release.yaml sets min_samples: 20: 30 canary requests are enough there."""
    staging = analysis_guardrails(load_spec(ROOT / "config" / "staging.release.yaml").guardrails)
    metrics = load_metrics(document(Scenario(step=5, minutes=30, rpm=20), environment="staging"))
    assert analyze(metrics, staging).verdict.value == "PROMOTE"
    assert analyze(metrics, Guardrails()).verdict.value == "HOLD"
