"""The alarms that ship, evaluated as CloudWatch would on synthetic traffic over simulated time.

The alarm definitions are the rendered terraform/envs/production/alarms.json (the file
the alarms module creates its alarms from), or, for another step, what the generator
renders for that spec. Traffic: 100 requests a minute, seeded, with a 0.1% baseline
error rate in the control and in a healthy canary (tests/signals/traffic.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cutover.generator.plan import alarms as alarm_plan
from cutover.generator.spec.loader import load_spec
from traffic import Behaviour, FlagRollout, Traffic

from cutover.rehearsal.cloudwatch import ALARM, Evaluator, MetricStore

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "config" / "production.release.yaml"
RENDERED = ROOT / "terraform" / "envs" / "production" / "alarms.json"
HOUR = 3600
ROLLBACK = "huntaze-prisma-migration-production-rollback"


def _document_at(percent: float, tmp_path: Path) -> dict:
    """What the generator renders for the production spec held at `percent`."""
    if percent == 1:
        return json.loads(RENDERED.read_text())
    spec = tmp_path / "production.release.yaml"
    spec.write_text(SPEC.read_text().replace("      percent: 1\n", f"      percent: {percent:g}\n"))
    return alarm_plan.build(load_spec(spec)).document()


def _setup(document: dict, percent: float, **kw) -> tuple[Evaluator, Traffic]:
    store = MetricStore()
    evaluator = Evaluator.from_document(document, store)
    traffic = Traffic(store, FlagRollout(before=percent, after=percent, start_s=0), **kw)
    return evaluator, traffic


def _window(document: dict, kind: str) -> int:
    a = document["alarms"][f"user-read/{kind}"]
    return a["period"] * a["evaluation_periods"]


def _names_in_alarm(evaluator: Evaluator, state: str) -> set[str]:
    return {t.name for t in evaluator.history if t.new == state}


def test_the_rendered_file_is_what_the_generator_builds():
    assert json.loads(RENDERED.read_text()) == {
        "//": json.loads(RENDERED.read_text())["//"],
        **alarm_plan.build(load_spec(SPEC)).document(),
    }


def test_a_ramp_from_0_to_1_percent_with_a_gradual_flag_rollout_does_not_roll_back():
    # GIVEN the alarms of the 1% step, and a flag change 0 -> 1% that AppConfig moves
    # through 8 execution environments over 10 minutes, each agent polling every 45 s
    document = json.loads(RENDERED.read_text())
    store = MetricStore()
    evaluator = Evaluator.from_document(document, store)
    traffic = Traffic(store, FlagRollout(before=0, after=1, start_s=HOUR), seed=11)
    # WHEN an hour at 0% is followed by the rollout and two hours at 1%
    traffic.run(0, 3 * HOUR, evaluator)
    # THEN nothing rolls back (the canary's share wanders, but share is not an alarm)
    assert evaluator.first(ROLLBACK, ALARM) is None, evaluator.history
    assert _names_in_alarm(evaluator, ALARM) == set()


def test_ten_percent_canary_errors_hours_into_the_step_roll_back_within_45_minutes():
    # GIVEN the 1% step at 100 requests a minute: about one canary request a minute
    document = json.loads(RENDERED.read_text())
    evaluator, traffic = _setup(document, 1, every_nth_canary_fails=10, fail_from_s=3 * HOUR, seed=3)
    # WHEN, three hours into the step (long after any bake), every 10th canary request fails
    traffic.run(0, 3 * HOUR + 45 * 60, evaluator)
    # THEN the composite rollback alarm fires within 45 minutes
    fired = evaluator.first(ROLLBACK, ALARM)
    assert fired is not None, evaluator.history
    assert 3 * HOUR < fired <= 3 * HOUR + 45 * 60


def test_random_ten_percent_canary_errors_also_roll_back():
    # Random failures at one canary request a minute: the third error (the least the rule
    # takes) comes after 45 minutes in about 1 run of 6 (P[Poisson(4.5) <= 2] = 0.17);
    # this seed is one of them (58 min). tests/signals/test_detection.py has the medians.
    document = json.loads(RENDERED.read_text())
    start = 2 * HOUR
    evaluator, traffic = _setup(
        document, 1, seed=5,
        behaviour=Behaviour(canary_error=lambda t: 0.10 if t >= start else 0.001),
    )
    traffic.run(0, start + 90 * 60, evaluator)
    fired = evaluator.first(ROLLBACK, ALARM)
    assert fired is not None and start < fired <= start + 90 * 60, evaluator.history
    assert "huntaze-prisma-migration-production-user-read-canary-error-rate" in _names_in_alarm(evaluator, ALARM)


def test_after_a_ramp_resized_the_windows_a_lower_step_is_still_seen(tmp_path):
    # GIVEN the alarms of the 5% step (the ramp's apply resized them), while what is
    # served is the 1% step (a flag deployment to 5% rolled back, or not out yet)
    document = _document_at(5, tmp_path)
    evaluator, traffic = _setup(document, 1, canary_fail_fraction=0.1, fail_from_s=2 * HOUR, seed=4)
    # WHEN the candidate fails 10% of its canary requests at 1%
    traffic.run(0, 2 * HOUR + 45 * 60, evaluator)
    # THEN the slow windows, sized for the first step, roll back within 45 minutes
    fired = evaluator.first(ROLLBACK, ALARM)
    assert fired is not None and fired <= 2 * HOUR + 45 * 60, evaluator.history
    assert "huntaze-prisma-migration-production-user-read-canary-error-rate-slow" in _names_in_alarm(evaluator, ALARM)
    # and without them (the 5% step's windows only, as before) it is never seen
    fast_only = {**document, "alarms": {k: a for k, a in document["alarms"].items() if not k.endswith("-slow")},
                 "rollback": {**document["rollback"],
                              "members": [k for k in document["rollback"]["members"] if not k.endswith("-slow")]}}
    evaluator, traffic = _setup(fast_only, 1, canary_fail_fraction=0.1, fail_from_s=2 * HOUR, seed=4)
    traffic.run(0, 5 * HOUR, evaluator)
    assert evaluator.first(ROLLBACK, ALARM) is None


def test_a_latency_gap_between_mock_and_candidate_does_not_roll_back():
    document = json.loads(RENDERED.read_text())
    evaluator, traffic = _setup(
        document, 1, seed=9, behaviour=Behaviour(control_latency_ms=2, canary_latency_ms=400)
    )
    traffic.run(0, 2 * HOUR, evaluator)
    assert evaluator.first(ROLLBACK, ALARM) is None, evaluator.history
    read = {m["metric_name"] for a in document["alarms"].values() for m in a["metrics"]}
    assert not read & {"Latency", "Duration", "ShadowMismatches"}, "latency or diffs feed an alarm"


@pytest.mark.parametrize("percent", [1, 5])
@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_healthy_canary_held_two_hours_never_rolls_back(percent, seed, tmp_path):
    document = _document_at(percent, tmp_path)
    evaluator, traffic = _setup(document, percent, seed=seed)
    traffic.run(0, 2 * HOUR, evaluator)
    assert evaluator.first(ROLLBACK, ALARM) is None, evaluator.history
    assert _names_in_alarm(evaluator, ALARM) == set()


def test_errors_only_on_shadow_traffic_notify_but_do_not_roll_back():
    document = json.loads(RENDERED.read_text())
    evaluator, traffic = _setup(
        document, 1, seed=13,
        behaviour=Behaviour(shadow_error=lambda t: 0.5, dispatch_failure=lambda t: 0.2),
    )
    traffic.run(0, 2 * HOUR, evaluator)
    notified = _names_in_alarm(evaluator, ALARM)
    assert notified == {
        "huntaze-prisma-migration-production-user-read-shadow-error-rate",
        "huntaze-prisma-migration-production-user-read-shadow-dispatch-failure-rate",
    }
    assert all(document["alarms"][k]["role"] == "notify" for k in document["alarms"] if "shadow" in k)
    assert evaluator.first(ROLLBACK, ALARM) is None


def test_a_crashing_router_rolls_back():
    document = json.loads(RENDERED.read_text())
    start = HOUR
    evaluator, traffic = _setup(
        document, 1, seed=17, behaviour=Behaviour(router_crash=lambda t: 0.2 if t >= start else 0.0)
    )
    traffic.run(0, start + 10 * 60, evaluator)
    fired = evaluator.first(ROLLBACK, ALARM)
    assert fired is not None and fired <= start + _window(document, "router-error-rate"), evaluator.history
    assert "huntaze-prisma-migration-production-user-read-router-error-rate" in _names_in_alarm(evaluator, ALARM)


def test_served_errors_when_the_canary_does_not_fall_back_roll_back_through_the_canary_route(tmp_path):
    document = _document_at(5, tmp_path)
    start = HOUR
    evaluator, traffic = _setup(
        document, 5, seed=19,
        behaviour=Behaviour(canary_error=lambda t: 0.6 if t >= start else 0.0, canary_fallback=False),
    )
    traffic.run(0, start + 20 * 60, evaluator)
    assert evaluator.first(ROLLBACK, ALARM) is not None, evaluator.history
    assert "huntaze-prisma-migration-production-user-read-canary-error-rate" in _names_in_alarm(evaluator, ALARM)


@pytest.mark.parametrize("percent", [1, 5])
@pytest.mark.parametrize("seed", [31, 32, 33])
@pytest.mark.parametrize("control_error", [0.015, 0.05])
def test_the_controls_own_errors_never_roll_the_canary_back(control_error, percent, seed, tmp_path):
    # GIVEN the control failing 1.5% or 5% of its requests, the
    # candidate healthy (0.1%)
    document = _document_at(percent, tmp_path)
    evaluator, traffic = _setup(
        document, percent, seed=seed,
        behaviour=Behaviour(control_error=lambda t: control_error, canary_error=lambda t: 0.001),
    )
    # WHEN four hours of the step go by
    traffic.run(0, 4 * HOUR, evaluator)
    # THEN nothing rolls back; at 5% the served error rate notifies (it judges the control)
    assert evaluator.first(ROLLBACK, ALARM) is None, evaluator.history
    served = "huntaze-prisma-migration-production-user-read-served-error-rate"
    assert _names_in_alarm(evaluator, ALARM) == ({served} if control_error == 0.05 else set())
    assert (document["alarms"]["user-read/served-error-rate"]["role"],
            document["alarms"]["user-read/served-error-rate"]["judges"]) == ("notify", "control")


def test_one_error_among_a_few_canary_requests_is_not_a_rollback():
    document = json.loads(RENDERED.read_text())
    evaluator, traffic = _setup(document, 1, every_nth_canary_fails=40, seed=29)
    traffic.run(0, 2 * HOUR, evaluator)  # 2.5% of canary requests fail: one in 40 minutes
    assert evaluator.first(ROLLBACK, ALARM) is None, evaluator.history
