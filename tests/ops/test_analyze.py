"""`cutover analyze --since` (the CloudWatch side): GetMetricData against moto for the
raw per-period Sums, the Stubber for the window's p95 (moto answers percentiles with a
500), AppConfig's shared fake (cutover.rehearsal.fakes) over loopback for the flags
(analyze only reads them); the document it builds is the analysis input, cutover.metrics/1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cutover.ops import metrics
from cutover.ops.context import Context
from cutover.ops.names import load
from tests.ops.conftest import deployment, expect_latency

NOW = datetime.now(UTC)


def _ctx(project, em) -> Context:
    names, spec, plan = load(project, "production")
    return Context(project, names, spec, em.clients(), plan)


def _counts(em, names, at: datetime, **values) -> None:
    dims = [{"Name": "Release", "Value": names.release}, {"Name": "Path", "Value": "user-read"}]
    em.client("cloudwatch").put_metric_data(Namespace=names.metrics_namespace, MetricData=[
        {"MetricName": k, "Dimensions": dims, "Timestamp": at, "Value": v, "Unit": "Count"} for k, v in values.items()])


def _rollout(fake, state="COMPLETE", completed: datetime | None = None) -> None:
    fake.history(deployment(3, state, 7), served=1 if state == "COMPLETE" else 0,
                 described={3: "cutover huntaze-prisma-migration (production)"}, ended=completed)


def test_window_is_aligned_to_whole_periods():
    start, end = metrics.window(3600, 60, datetime(2026, 11, 29, 9, 30, 42, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 11, 29, 8, 30, tzinfo=UTC), datetime(2026, 11, 29, 9, 30, tzinfo=UTC))
    start, end = metrics.window(90, 60, datetime(2026, 11, 29, 9, 30, 42, tzinfo=UTC))
    assert end - start == timedelta(minutes=2)  # rounded up to whole periods


def test_collect_keeps_raw_sums_per_period_and_the_window_p95(project, emulated, names, fake_appconfig):
    ten_min = NOW.replace(second=0, microsecond=0) - timedelta(minutes=10)
    _counts(emulated, names, ten_min, Requests=300, Errors=1, CanaryRequests=3, CanaryErrors=1, CanaryReads=3)
    _counts(emulated, names, ten_min, Requests=200, CanaryRequests=2, CanaryReads=2)  # same minute: summed
    _counts(emulated, names, ten_min + timedelta(minutes=1), Requests=100, ShadowComparisons=10, ShadowMismatches=1)
    completed = NOW - timedelta(hours=2)
    _rollout(fake_appconfig, completed=completed)
    expect_latency(emulated.percentiles(), 0, {"control": 41.5, "canary": 55.0}, {"control": 600, "canary": 5})
    document = metrics.collect(_ctx(project, emulated), 3600)
    [path] = document["paths"]
    assert document["format"] == "cutover.metrics/1" and document["environment"] == "production"
    assert path["step_percent"] == 1 and path["shadow_enabled"] is True
    assert path["window"]["period_seconds"] == 60 and len(path["series"]) == 60
    by_start = {p["start"]: p for p in path["series"]}
    first = by_start[ten_min.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert (first["Requests"], first["Errors"], first["CanaryRequests"], first["CanaryErrors"]) == (500, 1, 5, 1)
    second = by_start[(ten_min + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert (second["Requests"], second["ShadowComparisons"], second["ShadowMismatches"]) == (100, 10, 1)
    assert sum(p["Requests"] for p in path["series"]) == 600  # nothing invented, nothing lost
    assert path["latency"] == {"control": {"p95_ms": 41.5, "samples": 600}, "canary": {"p95_ms": 55.0, "samples": 5}}
    assert path["rollout"] == {"deployed_at": completed.strftime("%Y-%m-%dT%H:%M:%SZ"), "poll_interval_seconds": 45}


def test_a_flag_deployment_in_flight_has_no_deployed_at(project, emulated, names, fake_appconfig):
    _rollout(fake_appconfig, state="BAKING")
    expect_latency(emulated.percentiles(), 0, {}, {})
    document = metrics.collect(_ctx(project, emulated), 600)
    [path] = document["paths"]
    assert path["rollout"]["deployed_at"] is None
    assert path["latency"]["canary"] == {"p95_ms": None, "samples": 0}
    assert all(p["Requests"] == 0 for p in path["series"])


def test_a_complete_release_has_nothing_to_analyze(project, emulated):
    spec = project / "config" / "production.release.yaml"
    spec.write_text(spec.read_text().replace("phase: canary", "phase: complete").replace("    enabled: true\n    schedule:", "    enabled: false\n    schedule:").replace("percent: 1\n", "percent: 100\n"))
    from cutover.ops.aws import OpsError

    with pytest.raises(OpsError, match="no canary left to analyze"):
        metrics.collect(_ctx(project, emulated), 600)


def test_after_an_appconfig_rollback_the_served_step_is_judged_not_held(project, emulated, names, fake_appconfig):
    # GIVEN the 0 -> 1% deployment (4) was stopped with revert: version 7 (0%) is served again
    rolled_back = NOW.replace(microsecond=0) - timedelta(minutes=30)
    fake_appconfig.history(deployment(4, "ROLLED_BACK", 8), deployment(3, "COMPLETE", 7), served=0,
                           described={4: "cutover huntaze-prisma-migration (production)"}, ended=rolled_back)
    expect_latency(emulated.percentiles(), 0, {}, {})
    # WHEN the step's metrics are read
    document = metrics.collect(_ctx(project, emulated), 3600)
    [path] = document["paths"]
    # THEN the rollout settled when the rollback completed (not "in flight"), the step judged
    # is what is served (0%, not the spec's 1%), and the source says what happened
    assert path["rollout"]["deployed_at"] == rolled_back.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert path["step_percent"] == 0
    assert "flags: flag deployment 4 (version 8) was ROLLED_BACK; served: version 7 (deployment 3)" in document["source"]


def test_after_the_guard_the_served_zero_is_judged(project, emulated, names, fake_appconfig):
    done = NOW.replace(microsecond=0) - timedelta(minutes=20)
    fake_appconfig.history(deployment(5, "COMPLETE", 9), deployment(4, "COMPLETE", 8), served=0,
                           described={5: "cutover guard: canary off while the rollback alarm is in ALARM"}, ended=done)
    expect_latency(emulated.percentiles(), 0, {}, {})
    document = metrics.collect(_ctx(project, emulated), 3600)
    [path] = document["paths"]
    assert path["rollout"]["deployed_at"] == done.strftime("%Y-%m-%dT%H:%M:%SZ") and path["step_percent"] == 0
    assert "flags: the guard turned the canary off (deployment 5)" in document["source"]


def test_after_a_controller_step_the_source_says_the_controller_moved_the_canary(project, emulated, names,
                                                                             fake_appconfig):
    done = NOW.replace(microsecond=0) - timedelta(minutes=20)
    fake_appconfig.history(deployment(5, "COMPLETE", 9), deployment(4, "COMPLETE", 8), served=5,
                           described={5: "cutover controller 20261205T010000-ana: user-read 1% -> 5%"}, ended=done)
    expect_latency(emulated.percentiles(), 0, {}, {})
    document = metrics.collect(_ctx(project, emulated), 3600)
    [path] = document["paths"]
    assert path["rollout"]["deployed_at"] == done.strftime("%Y-%m-%dT%H:%M:%SZ") and path["step_percent"] == 5
    assert ("flags: the controller moved the canary (deployment 5); served: version 9 (deployment 5), "
            "canary user-read 5%") in document["source"]


# --- the command: CloudWatch in, the analysis' verdict out, replayable -------------------


def _healthy_hour(em, names) -> None:
    """Two hours at 120 requests/min, 1% canary, no error: the analysis can promote."""
    start = NOW.replace(second=0, microsecond=0) - timedelta(minutes=120)
    dims = [{"Name": "Release", "Value": names.release}, {"Name": "Path", "Value": "user-read"}]
    per_minute = {"Requests": 120, "CanaryRequests": 1.2, "CanaryReads": 1.2, "ShadowDispatched": 12,
                  "ShadowComparisons": 12}
    data = []
    for m in range(120):
        at = start + timedelta(minutes=m)
        for name, value in per_minute.items():
            # 1.2 canary requests a minute: 1 or 2, summing to 144 over the two hours
            v = (2 if m % 5 == 0 else 1) if name in ("CanaryRequests", "CanaryReads") else value
            data.append({"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": v, "Unit": "Count"})
    cw = em.client("cloudwatch")
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace=names.metrics_namespace, MetricData=data[i:i + 500])


def test_analyze_gate_promotes_a_healthy_step_and_saves_a_replayable_file(project, emulated, names, capsys, tmp_path,
                                                                          fake_appconfig):
    import json

    from cutover.cli import main

    _healthy_hour(emulated, names)
    _rollout(fake_appconfig, completed=NOW - timedelta(hours=3))
    expect_latency(emulated.percentiles(), 0, {"control": 38.0, "canary": 41.0}, {"control": 14256, "canary": 144})
    saved = tmp_path / "step.json"
    code = main(["--root", str(project), "analyze", "--env", "production", "--since", "2h", "--gate", "--json",
                 "--save", str(saved)], clients=emulated.clients())
    out = json.loads(capsys.readouterr().out)
    assert out["analysis"]["verdict"] == "PROMOTE", out["analysis"]["reason"]
    assert code == 0
    replay = main(["--root", str(project), "analyze", "--env", "production", "--metrics", str(saved), "--gate", "--json"])
    assert replay == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "PROMOTE"


def test_analyze_gate_holds_on_too_few_samples(project, emulated, names, capsys, fake_appconfig):
    from cutover.cli import main

    _rollout(fake_appconfig, completed=NOW - timedelta(hours=3))
    expect_latency(emulated.percentiles(), 0, {}, {})
    code = main(["--root", str(project), "analyze", "--env", "production", "--gate"], clients=emulated.clients())
    assert code == 3
    assert "HOLD" in capsys.readouterr().out


def test_analyze_after_an_appconfig_rollback_does_not_wait_for_a_rollout(project, emulated, names, capsys,
                                                                         fake_appconfig):
    import json

    from cutover.cli import main

    _healthy_hour(emulated, names)
    fake_appconfig.history(deployment(4, "REVERTED", 8), deployment(3, "COMPLETE", 7), served=1,
                           ended=NOW - timedelta(hours=3))
    expect_latency(emulated.percentiles(), 0, {"control": 38.0, "canary": 41.0}, {"control": 14256, "canary": 144})
    code = main(["--root", str(project), "analyze", "--env", "production", "--since", "2h", "--gate", "--json"],
                clients=emulated.clients())
    out = json.loads(capsys.readouterr().out)
    share = next(c for c in out["analysis"]["checks"] if c["name"] == "canary-share")
    assert share["verdict"] == "PROMOTE" and "in flight" not in share["reason"], share
    assert out["analysis"]["verdict"] == "PROMOTE", out["analysis"]["reason"]
    assert code == 0
    assert "was REVERTED; served: version 7 (deployment 3), canary user-read 1%" in out["metrics"]["source"]
