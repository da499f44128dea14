"""The guard against botocore's Stubber: every branch, with the exact parameters of every
CloudWatch, AppConfig and SNS call production makes.

Stubbers (not the shared fakes) on purpose: each call is stubbed with its expected
parameters, and a call nobody expected fails the test, so a guard that read the wrong
alarm, listed the wrong environment, stopped without AllowRevert, deployed with the wrong
strategy or published what it should not fails here. The same handler against the
shared fakes (cutover.rehearsal.fakes) on loopback and a virtual clock:
tests/functions/test_guard_semantics.py.
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from cutover_runtime import live
from cutover_runtime.telemetry import Identity
from guard import decision, handler
from guard.handler import Guard, GuardBlind, Settings

from .conftest import events, log_lines

IDENTITY = Identity("rel", "", "Cutover")
ALARM = "rel-production-rollback"
TOPIC = "arn:aws:sns:us-east-1:123456789012:rel-production-alarms"
ENV = {
    "CUTOVER_GUARD_APPLICATION_ID": "app1234",
    "CUTOVER_GUARD_ENVIRONMENT_ID": "env1234",
    "CUTOVER_GUARD_PROFILE_ID": "prof123",
    "CUTOVER_GUARD_STRATEGY_ID": "strat12",
    "CUTOVER_GUARD_KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/k1",
    "CUTOVER_GUARD_CANARY_FLAGS": "prisma-adapter,orders-canary",
    "CUTOVER_GUARD_ALARM_NAME": ALARM,
    "CUTOVER_GUARD_TOPIC_ARN": TOPIC,
}
APP_ENV = {"ApplicationId": "app1234", "EnvironmentId": "env1234"}
STORED = {
    "version": "1",
    "flags": {"prisma-adapter": {"name": "user-read canary", "_createdAt": "2026-11-01T00:00:00Z",
                                 "_updatedAt": "2026-11-01T00:00:00Z", "attributes": {}},
              "prisma-shadow": {"name": "user-read shadow", "attributes": {}}},
    "values": {"prisma-adapter": {"enabled": True, "percent": 5, "salt": "s", "stickyKey": "userId", "step": 5},
               "prisma-shadow": {"enabled": True, "sampleRate": 0.1, "timeoutMs": 500}},
}


def off_document() -> dict:
    doc = json.loads(json.dumps(STORED))
    doc["values"]["prisma-adapter"].update({"enabled": False, "percent": 0, "step": 0})
    for key in live.STORED_METADATA:
        doc["flags"]["prisma-adapter"].pop(key)
    return doc


OFF_CONTENT = json.dumps(off_document(), separators=(",", ":"), sort_keys=True).encode()


def summary(number: int, version: int, state: str) -> dict:
    return {"DeploymentNumber": number, "ConfigurationName": "feature-flags",
            "ConfigurationVersion": str(version), "State": state}


def body(doc: dict) -> StreamingBody:
    raw = json.dumps(doc).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


class Stubs:
    def __init__(self) -> None:
        self.appconfig, self.cloudwatch, self.sns = client("appconfig"), client("cloudwatch"), client("sns")
        self.a, self.c, self.n = Stubber(self.appconfig), Stubber(self.cloudwatch), Stubber(self.sns)

    def guard(self, env: dict | None = None) -> Guard:
        return Guard(IDENTITY, Settings(env or ENV), self.appconfig, self.cloudwatch, self.sns)

    def alarm(self, state: str | None, name: str = ALARM) -> None:
        found = [] if state is None else [{"AlarmName": name, "StateValue": state}]
        self.c.add_response("describe_alarms", {"CompositeAlarms": found, "MetricAlarms": []},
                            {"AlarmNames": [ALARM], "AlarmTypes": ["CompositeAlarm"]})

    def listing(self, *pages: list[dict]) -> None:
        for i, items in enumerate(pages):
            answer = {"Items": items, **({"NextToken": f"t{i + 1}"} if i + 1 < len(pages) else {})}
            self.a.add_response("list_deployments", answer, {**APP_ENV, **({"NextToken": f"t{i}"} if i else {})})

    def detail(self, number: int, version: int, state: str, description: str) -> None:
        self.a.add_response("get_deployment", {**summary(number, version, state), "Description": description},
                            {**APP_ENV, "DeploymentNumber": number})

    def stored(self, version: int, doc: dict) -> None:
        self.a.add_response("get_hosted_configuration_version", {"Content": body(doc), "VersionNumber": version},
                            {"ApplicationId": "app1234", "ConfigurationProfileId": "prof123",
                             "VersionNumber": version})

    def stop(self, number: int, state: str = "ROLLED_BACK") -> None:
        self.a.add_response("stop_deployment", summary(number, 9, state),
                            {**APP_ENV, "DeploymentNumber": number, "AllowRevert": True})

    def create(self, version: int, new: int, text: str | None = None) -> None:
        text = text or decision.description(ALARM, version)
        self.a.add_response("create_hosted_configuration_version", {"VersionNumber": new},
                            {"ApplicationId": "app1234", "ConfigurationProfileId": "prof123", "Content": OFF_CONTENT,
                             "ContentType": "application/json", "Description": text})

    def start(self, version: int, new: int, number: int, latest: int) -> None:
        self.a.add_response("start_deployment", {"DeploymentNumber": number},
                            {**APP_ENV, "DeploymentStrategyId": "strat12", "ConfigurationProfileId": "prof123",
                             "ConfigurationVersion": str(new), "Description": decision.description(ALARM, version),
                             "KmsKeyIdentifier": ENV["CUTOVER_GUARD_KMS_KEY_ARN"], "LatestDeploymentNumber": latest})

    def publish(self, event: str, subject: str, **details) -> None:
        message = {"event": event, "release": "rel", "alarm": ALARM, **details}
        self.n.add_response("publish", {"MessageId": "m1"},
                            {"TopicArn": TOPIC, "Subject": f"cutover rel: guard {subject}",
                             "Message": json.dumps(message, sort_keys=True, indent=2)})


@pytest.fixture
def stubs():
    s = Stubs()
    with s.a, s.c, s.n:
        yield s
        s.a.assert_no_pending_responses()
        s.c.assert_no_pending_responses()
        s.n.assert_no_pending_responses()
def test_in_alarm_after_the_bake_it_deploys_the_canary_off_document_at_once(stubs, capsys):
    # GIVEN the composite in ALARM; version 7 served (latest COMPLETE, a later one rolled
    # back), listed over two pages
    stubs.alarm("ALARM")
    stubs.listing([summary(3, 6, "ROLLED_BACK")], [summary(2, 7, "COMPLETE"), summary(1, 4, "COMPLETE")])
    stubs.stored(7, STORED)
    stubs.create(7, 8)
    stubs.start(7, 8, number=4, latest=3)
    stubs.publish("GUARD-APPLIED", "canary off", fromVersion=7, toVersion=8, deploymentNumber=4,
                  flags=["prisma-adapter"])
    # WHEN the schedule runs the guard
    result = stubs.guard().run("schedule")
    # THEN the canary is off in a new version (shadow unchanged), one WARN line, one notification
    assert result["outcome"] == "GUARD-APPLIED"
    assert json.loads(OFF_CONTENT)["values"]["prisma-shadow"] == STORED["values"]["prisma-shadow"]
    [line] = log_lines(capsys.readouterr().out)
    assert line["event"] == "GUARD-APPLIED" and line["level"] == "WARN"
    assert (line["alarm"], line["trigger"], line["fromVersion"], line["toVersion"], line["deploymentNumber"],
            line["flags"], line["notified"]) == (ALARM, "schedule", 7, 8, 4, ["prisma-adapter"], ["GUARD-APPLIED"])
    assert decision.description(ALARM, 7).startswith(live.GUARD_MARK)


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_outside_alarm_it_reads_the_alarm_only_and_says_nothing(stubs, capsys, state):
    # INSUFFICIENT_DATA (a composite just created by the first apply) is not ALARM: the
    # first flag deployment is never touched
    stubs.alarm(state)
    assert stubs.guard().run("schedule") == {"outcome": "GUARD-IDLE", "state": state}
    assert log_lines(capsys.readouterr().out) == []


def test_an_alarm_it_cannot_see_fails_the_run_loudly(stubs, capsys):
    stubs.alarm(None)
    with pytest.raises(GuardBlind, match=f"alarm={ALARM}"):
        stubs.guard().run("schedule")
    [line] = events(capsys.readouterr().out, "GUARD-BLIND")
    assert line["level"] == "ERROR" and line["reason"] == "alarm-not-found"


@pytest.mark.parametrize(("description", "state", "reason"), [
    (f"{live.GUARD_MARK} canary off while x is in ALARM (from version 3)", "DEPLOYING", "guard-deploying"),
    (f"{live.ROLLBACK_MARK} operator said so", "DEPLOYING", "rollback-deploying"),
    (f"{live.ROLLBACK_MARK} operator said so", "BAKING", "rollback-deploying"),
    ("terraform: canary 5%", "ROLLING_BACK", "rolling-back"),
])
def test_it_never_stops_its_own_a_break_glass_or_a_rolling_back_deployment(stubs, capsys, description, state,
                                                                           reason):
    stubs.alarm("ALARM")
    stubs.listing([summary(5, 9, state), summary(4, 8, "COMPLETE")])
    stubs.detail(5, 9, state, description)
    result = stubs.guard().run("alarm-state-change")
    assert (result["outcome"], result["reason"], result["deploymentNumber"]) == ("GUARD-WAITING", reason, 5)
    [line] = log_lines(capsys.readouterr().out)
    assert line["event"] == "GUARD-WAITING" and line["level"] == "INFO" and "notified" not in line


def test_a_controller_step_is_a_ramp_like_any_other_it_is_stopped_in_alarm(stubs):
    # GIVEN the controller's 1 -> 5 step deploying (its description starts with CONTROLLER_MARK)
    stubs.alarm("ALARM")
    stubs.listing([summary(5, 9, "DEPLOYING"), summary(4, 8, "COMPLETE")])
    stubs.detail(5, 9, "DEPLOYING", f"{live.CONTROLLER_MARK} 20261205T030000-ana: user-read 1% -> 5%")
    stubs.stop(5)
    stubs.publish("GUARD-STOPPED", "stopped flag deployment 5", deploymentNumber=5, state="DEPLOYING",
                  configurationVersion="9")
    stubs.stored(8, off_document())
    # THEN the guard stops it (only the canary-off deployments are waited for)
    result = stubs.guard().run("alarm-state-change")
    assert (result["outcome"], result["stopped"]) == ("GUARD-STOPPED", 5)


@pytest.mark.parametrize("state", ["DEPLOYING", "BAKING", "VALIDATING"])
def test_it_stops_any_other_deployment_with_allow_revert_then_turns_the_canary_off(stubs, capsys, state):
    # GIVEN the 1 -> 5 ramp deploying or baking (version 9) over version 8 (canary 5 too:
    # what the monitor would return to is still on)
    stubs.alarm("ALARM")
    stubs.listing([summary(5, 9, state), summary(4, 8, "COMPLETE")])
    stubs.detail(5, 9, state, "terraform")
    stubs.stop(5)
    stubs.publish("GUARD-STOPPED", "stopped flag deployment 5", deploymentNumber=5, state=state,
                  configurationVersion="9")
    stubs.stored(8, STORED)
    stubs.create(8, 10)
    stubs.start(8, 10, number=6, latest=5)
    stubs.publish("GUARD-APPLIED", "canary off", fromVersion=8, toVersion=10, deploymentNumber=6,
                  flags=["prisma-adapter"])
    result = stubs.guard().run("alarm-state-change")
    # THEN one line for the run, one notification per action
    assert (result["outcome"], result["stopped"]) == ("GUARD-APPLIED", 5)
    [line] = log_lines(capsys.readouterr().out)
    assert line["event"] == "GUARD-APPLIED" and line["notified"] == ["GUARD-STOPPED", "GUARD-APPLIED"]


def test_after_stopping_with_the_served_canary_already_off_it_reports_the_stop(stubs, capsys):
    stubs.alarm("ALARM")
    stubs.listing([summary(2, 3, "DEPLOYING"), summary(1, 2, "COMPLETE")])
    stubs.detail(2, 3, "DEPLOYING", "an operator in the console")
    stubs.stop(2)
    stubs.publish("GUARD-STOPPED", "stopped flag deployment 2", deploymentNumber=2, state="DEPLOYING",
                  configurationVersion="3")
    stubs.stored(2, off_document())
    result = stubs.guard().run("schedule")
    assert (result["outcome"], result["reason"], result["stopped"]) == ("GUARD-STOPPED", "canary-off", 2)
    [line] = log_lines(capsys.readouterr().out)
    assert line["level"] == "WARN" and line["notified"] == ["GUARD-STOPPED"]


def test_stopping_the_first_deployment_ever_leaves_nothing_to_turn_off(stubs):
    stubs.alarm("ALARM")
    stubs.listing([summary(1, 1, "BAKING")])
    stubs.detail(1, 1, "BAKING", "terraform")
    stubs.stop(1)
    stubs.publish("GUARD-STOPPED", "stopped flag deployment 1", deploymentNumber=1, state="BAKING",
                  configurationVersion="1")
    assert stubs.guard().run()["reason"] == "nothing-deployed"


@pytest.mark.parametrize("error", ["BadRequestException", "ConflictException"])
def test_a_deployment_that_ended_before_the_stop_is_a_race_for_the_next_run(stubs, capsys, error):
    stubs.alarm("ALARM")
    stubs.listing([summary(5, 9, "DEPLOYING"), summary(4, 8, "COMPLETE")])
    stubs.detail(5, 9, "DEPLOYING", "terraform")
    stubs.a.add_client_error("stop_deployment", service_error_code=error, http_status_code=400,
                             expected_params={**APP_ENV, "DeploymentNumber": 5, "AllowRevert": True})
    result = stubs.guard().run()
    assert (result["outcome"], result["reason"]) == ("GUARD-RACED", "deployment-ended-meanwhile")
    assert "notified" not in events(capsys.readouterr().out, "GUARD-RACED")[0]


def test_a_deployment_started_meanwhile_wins_and_the_guard_says_so(stubs, capsys):
    stubs.alarm("ALARM")
    stubs.listing([summary(1, 2, "COMPLETE")])
    stubs.stored(2, STORED)
    stubs.create(2, 3)
    stubs.a.add_client_error("start_deployment", service_error_code="ConflictException", http_status_code=409)
    result = stubs.guard().run()
    assert (result["outcome"], result["reason"], result["toVersion"]) == (
        "GUARD-RACED", "deployment-started-meanwhile", 3)
    [line] = log_lines(capsys.readouterr().out)
    assert line["level"] == "INFO" and "notified" not in line


def test_with_the_served_canary_off_it_holds_without_notifying(stubs, capsys):
    stubs.alarm("ALARM")
    stubs.listing([summary(2, 5, "ROLLED_BACK"), summary(1, 4, "COMPLETE")])
    stubs.stored(4, off_document())
    result = stubs.guard().run("schedule")
    assert (result["outcome"], result["reason"], result["version"]) == ("GUARD-HOLDING", "canary-off", 4)
    [line] = log_lines(capsys.readouterr().out)
    assert line["event"] == "GUARD-HOLDING" and line["level"] == "INFO"


def test_with_nothing_ever_deployed_it_holds(stubs):
    stubs.alarm("ALARM")
    stubs.listing([])
    assert stubs.guard().run()["reason"] == "nothing-deployed"


def test_a_failed_notification_never_undoes_the_action_and_the_line_says_so(stubs, capsys):
    stubs.alarm("ALARM")
    stubs.listing([summary(1, 2, "COMPLETE")])
    stubs.stored(2, STORED)
    stubs.create(2, 3)
    stubs.start(2, 3, number=2, latest=1)
    stubs.n.add_client_error("publish", service_error_code="Throttled", http_status_code=400)
    assert stubs.guard().run()["outcome"] == "GUARD-APPLIED"
    [line] = log_lines(capsys.readouterr().out)
    assert line["unnotified"] == ["GUARD-APPLIED"] and "notified" not in line


def test_the_handler_runs_once_per_invocation_with_the_trigger_in_its_line(stubs, monkeypatch, capsys):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CUTOVER_RELEASE", "rel")
    monkeypatch.setattr(handler, "client", {"appconfig": stubs.appconfig, "cloudwatch": stubs.cloudwatch,
                                            "sns": stubs.sns}.__getitem__)
    stubs.alarm("ALARM")
    stubs.listing([summary(1, 4, "COMPLETE")])
    stubs.stored(4, off_document())
    event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "detail": {"alarmName": ALARM, "state": {"value": "ALARM"}}}
    assert handler.lambda_handler(event, None)["outcome"] == "GUARD-HOLDING"
    assert events(capsys.readouterr().out, "GUARD-HOLDING")[0]["trigger"] == "alarm-state-change"


def test_decisions():
    answer = {"CompositeAlarms": [{"AlarmName": "a", "StateValue": "ALARM"}],
              "MetricAlarms": [{"AlarmName": "b", "StateValue": "OK"}]}
    assert (decision.alarm_state(answer, "a"), decision.alarm_state(answer, "b"),
            decision.alarm_state(answer, "c")) == ("ALARM", "OK", None)
    assert decision.trigger({"detail-type": "Scheduled Event"}) == "schedule"
    assert decision.trigger({"detail-type": "CloudWatch Alarm State Change"}) == "alarm-state-change"
    assert decision.trigger(None) == decision.trigger({}) == "direct"
    assert decision.latest_number([summary(3, 1, "COMPLETE"), summary(7, 1, "ROLLED_BACK")]) == 7
    assert decision.latest_number([]) is None
    content, changed = decision.canary_off_content(STORED, ["prisma-adapter", "absent"])
    assert content == OFF_CONTENT and changed == ["prisma-adapter"]
    assert decision.canary_off_content(off_document(), ["prisma-adapter"]) is None
    # disabled with a stale percent is served as 0: nothing to do
    stale = json.loads(json.dumps(STORED))
    stale["values"]["prisma-adapter"]["enabled"] = False
    assert decision.canary_off_content(stale, ["prisma-adapter"]) is None
    assert decision.in_the_way({"Description": "x", "State": "DEPLOYING"}) is None
    assert len(decision.description("a" * 2000, 1)) == 1024
    with pytest.raises(TypeError):
        decision.decode(b"[1]")
