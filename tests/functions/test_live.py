"""`cutover_runtime.live`: what is served is the latest COMPLETE deployment's version."""

from __future__ import annotations

import json

from cutover_runtime import live

FLAGS = {"profile": "canaryProfile"}


def dep(n: int, state: str, version: int, description: str = "") -> dict:
    return {"DeploymentNumber": n, "State": state, "ConfigurationVersion": str(version),
            "Description": description}


def doc(percent: float, enabled: bool = True) -> dict:
    return {"version": "1", "flags": {"canaryProfile": {"name": "c", "_createdAt": "x"}},
            "values": {"canaryProfile": {"enabled": enabled, "percent": percent, "step": 2,
                                         "_updatedAt": "y"},
                       "shadowProfile": {"enabled": True, "rate": 0.1}}}


def test_a_rolled_back_latest_deployment_is_not_what_is_served():
    deployments = [dep(1, "COMPLETE", 3), dep(2, "COMPLETE", 4), dep(3, "ROLLED_BACK", 5)]
    assert live.live_version(deployments) == 4
    assert live.in_progress(deployments) is None


def test_a_deployment_still_baking_is_in_progress_and_not_yet_live():
    deployments = [dep(1, "COMPLETE", 3), dep(2, "BAKING", 4)]
    assert live.live_version(deployments) == 3
    assert live.in_progress(deployments)["DeploymentNumber"] == 2


def test_nothing_complete_is_nothing_live():
    assert live.live_version([dep(1, "ROLLED_BACK", 2)]) is None
    assert live.live_version([]) is None


def test_who_started_a_deployment_comes_from_its_description():
    assert live.started_by(dep(1, "COMPLETE", 1, "cutover guard: canary off")) == "guard"
    assert live.started_by(dep(1, "COMPLETE", 1, "cutover rollback: by ops")) == "rollback"
    assert live.started_by(dep(1, "COMPLETE", 1, "terraform")) is None


def test_served_percent_is_zero_when_the_flag_is_disabled():
    assert live.canary_percents(doc(5), FLAGS) == {"profile": 5.0}
    assert live.canary_percents(doc(5, enabled=False), FLAGS) == {"profile": 0.0}
    assert live.canary_percents({"values": {}}, FLAGS) == {"profile": 0.0}


def test_canary_off_turns_only_the_canary_off_and_drops_stored_metadata():
    off, changed = live.canary_off(doc(5), FLAGS.values())
    assert changed == ["canaryProfile"]
    assert off["values"]["canaryProfile"] == {"enabled": False, "percent": 0, "step": 0}
    assert off["values"]["shadowProfile"] == {"enabled": True, "rate": 0.1}
    assert "_createdAt" not in off["flags"]["canaryProfile"]
    assert live.canary_is_off(off, FLAGS.values())
    assert live.canary_off(off, FLAGS.values()) is None  # idempotent
    assert json.loads(live.encode(off)) == off


def test_a_canary_enabled_at_zero_percent_is_already_off_for_every_caller():
    # the guard, `cutover rollback` and the rehearsal share this one answer: no document
    # is deployed that changes nothing users see
    assert live.canary_is_off(doc(0), FLAGS.values())
    assert live.canary_off(doc(0), FLAGS.values()) is None


class _Pages:
    def __init__(self, pages):
        self.pages, self.asked = pages, None

    def get_paginator(self, name):
        assert name == "list_deployments"
        return self

    def paginate(self, **where):
        self.asked = where
        return iter(self.pages)


def test_every_page_is_scanned_for_the_deployment_in_progress():
    client = _Pages([{"Items": [dep(3, "COMPLETE", 5)]}, {"Items": [dep(2, "ROLLING_BACK", 4)]}, {}])
    assert live.deployment_in_progress(client, "app", "env")["DeploymentNumber"] == 2
    assert client.asked == {"ApplicationId": "app", "EnvironmentId": "env"}
    assert live.deployment_in_progress(_Pages([{"Items": [dep(1, "REVERTED", 1)]}]), "a", "e") is None


def test_the_controller_is_recognised_by_its_mark_and_is_no_canary_off_starter():
    text = f"{live.CONTROLLER_MARK} 20261205T030000-ana: user-read 1% -> 5%"
    assert live.started_by(dep(1, "DEPLOYING", 1, text)) == "controller"
    # a description that merely begins with the same words is not the controller's
    assert live.started_by(dep(1, "DEPLOYING", 1, "cutover controllers everywhere")) is None
    # the guard stops the controller's ramps like any other: only canary-off starters are spared
    assert "controller" not in live.CANARY_OFF and live.CANARY_OFF == {"guard", "rollback"}


def test_what_is_served_settled_when_the_latest_deployment_or_its_rollback_completed():
    done, back, later = "2026-12-05T01:00:00Z", "2026-12-05T01:30:00Z", "2026-12-05T01:40:00Z"
    log = [{"EventType": "ROLLBACK_STARTED", "OccurredAt": done},
           {"EventType": "ROLLBACK_COMPLETED", "OccurredAt": back},
           {"EventType": "REVERT_COMPLETED", "OccurredAt": later}]
    assert live.settled_at("COMPLETE", {"CompletedAt": done, "EventLog": log}) == done
    assert live.settled_at("ROLLED_BACK", {"CompletedAt": done, "EventLog": log}) == later
    assert live.settled_at("REVERTED", {"CompletedAt": done}) == done  # no event logged: its end
    for moving in ("DEPLOYING", "BAKING", "ROLLING_BACK", "VALIDATING"):
        assert live.settled_at(moving, {"CompletedAt": done}) is None
    assert live.settled_at(None, {}) is None
