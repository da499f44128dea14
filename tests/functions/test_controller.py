"""The controller function, every action and every STOP / SKIP / BUSY / DONE rule, through
real boto3 clients.

CloudWatch (the rollback alarm, the metrics a judgement reads) and Step Functions (the
running executions) are moto's (`mock_aws`); moto has no AppConfig deployments, so
AppConfig's control plane is the shared fake (cutover.rehearsal.fakes, as the guard's
tests) on loopback, its clock set to real time so that what it says settled lines up
with the metrics put into moto; SNS is the shared PublishApi, which keeps what was
published. moto answers percentile statistics with an error, so the window's p95 comes
from `Latency` (the other GetMetricData queries reach moto). moto stores a composite
alarm as a metric alarm: the controller reads the alarm by name in either list.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from controller.handler import Controller, Settings
from cutover_runtime import live
from cutover_runtime.telemetry import Identity
from moto import mock_aws

from cutover.analysis import Guardrails
from cutover.rehearsal.clock import EPOCH, VirtualClock
from cutover.rehearsal.fakes import (
    AppConfig,
    ControlPlane,
    ControlPlaneServer,
    PublishApi,
    Strategy,
)

from .conftest import events, log_lines

pytestmark = pytest.mark.moto  # mock_aws

RELEASE = "rel"
ALARM = "rel-production-rollback"
TOPIC = "arn:aws:sns:us-east-1:123456789012:rel-production-alarms"
AT_ONCE = Strategy("atonce1", 0, 0, "LINEAR", 100)
BAKES = Strategy("bakes12", 0, 3600, "LINEAR", 100)  # bakes for an hour
USER_READ = {"name": "user-read", "flag": "prisma-adapter", "steps": [1, 5, 25, 50, 100], "shadow": True,
             "percent": 1}
ORDERS = {"name": "orders-read", "flag": "orders-canary", "steps": [10, 100], "shadow": False, "percent": 0}


def config(*paths: dict, max_holds: int = 3) -> dict:
    return {"release": RELEASE, "environment": "production", "paths": list(paths or (USER_READ,)),
            "guardrails": Guardrails().to_json(), "observeSeconds": 3600, "maxHolds": max_holds,
            "approval": False, "periodSeconds": 60, "pollIntervalSeconds": 45}


def document(percents: dict[str, float], paths: tuple[dict, ...] = (USER_READ,), stored: bool = True) -> dict:
    """A flag document as the generator writes it (and, `stored`, with AppConfig's metadata)."""
    flags, values = {}, {}
    for path in paths:
        pct = percents.get(path["name"], 0)
        flags[path["flag"]] = {"name": f"{path['name']} canary", "attributes": {}}
        flags[f"{path['flag']}-shadow"] = {"name": f"{path['name']} shadow", "attributes": {}}
        values[path["flag"]] = {"enabled": pct > 0, "percent": pct, "salt": "s", "stickyKey": "userId", "step": pct}
        values[f"{path['flag']}-shadow"] = {"enabled": path["shadow"], "sampleRate": 0.1, "timeoutMs": 500}
        if stored:
            flags[path["flag"]].update({"_createdAt": "2026-11-01T00:00:00Z", "_updatedAt": "2026-11-02T00:00:00Z"})
            values[path["flag"]]["_updatedAt"] = "2026-11-02T00:00:00Z"
    return {"version": "1", "flags": flags, "values": values}


class Latency:
    """moto's CloudWatch, except GetMetricData asking for a percentile: answered from `p95`
    (route -> (p95 ms, samples)) for the whole window."""

    def __init__(self, moto_client) -> None:
        self._moto = moto_client
        self.p95: dict[str, tuple[float, int]] = {}

    def get_metric_data(self, **kwargs):
        queries = kwargs["MetricDataQueries"]
        if not any(q["MetricStat"]["Stat"].startswith("p") for q in queries):
            return self._moto.get_metric_data(**kwargs)
        results = []
        for q in queries:
            route = q["Id"].split("_")[1]
            p95, samples = self.p95.get(route, (None, 0))
            value = p95 if q["MetricStat"]["Stat"] == "p95" else samples
            has = bool(samples) and value is not None
            results.append({"Id": q["Id"], "Timestamps": [kwargs["StartTime"]] if has else [],
                            "Values": [float(value)] if has else []})
        return {"MetricDataResults": results}

    def __getattr__(self, name):
        return getattr(self._moto, name)


class World:
    """One environment: its AppConfig (shared fake), alarm and metrics (moto), executions
    (moto), notifications (PublishApi)."""

    def __init__(self, paths: tuple[dict, ...] = (USER_READ,)) -> None:
        self.paths = paths
        self.run: dict | None = None
        self.clock = VirtualClock()
        self.clock.set(math.floor(time.time()) - EPOCH)
        self.appconfig = AppConfig("flags", "production", "feature-flags")
        self.appconfig.strategies.update({AT_ONCE.id: AT_ONCE, BAKES.id: BAKES})
        self.plane = ControlPlane(self.appconfig, self.clock, lambda d: None)
        self.server = ControlPlaneServer(self.plane)
        self.sns = PublishApi(self.clock)
        creds = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
        self.client = boto3.client("appconfig", endpoint_url=self.server.url, **creds)
        self.sns_client = boto3.client("sns", endpoint_url=self.sns.url, **creds)
        self.cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        self.latency = Latency(self.cloudwatch)
        self.states = boto3.client("stepfunctions", region_name="us-east-1")
        self.cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="Errors", Namespace="Cutover", Statistic="Sum",
                                         Period=60, EvaluationPeriods=1, Threshold=1,
                                         ComparisonOperator="GreaterThanThreshold")
        self.alarm("OK")
        self.machine = self.states.create_state_machine(
            name="rel-production-controller", roleArn="arn:aws:iam::123456789012:role/controller",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
        ids = self.appconfig.ids
        self.env = {"CUTOVER_CONTROLLER_APPLICATION_ID": ids["application"],
                    "CUTOVER_CONTROLLER_ENVIRONMENT_ID": ids["environment"],
                    "CUTOVER_CONTROLLER_PROFILE_ID": ids["profile"], "CUTOVER_CONTROLLER_ALARM_NAME": ALARM,
                    "CUTOVER_CONTROLLER_TOPIC_ARN": TOPIC, "CUTOVER_CONTROLLER_STATE_MACHINE_ARN": self.machine}

    def close(self) -> None:
        self.server.close()
        self.sns.close()

    # -- the environment -------------------------------------------------------------
    def alarm(self, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="test")

    def keep(self, *percents: dict[str, float]) -> dict[str, int]:
        """Host the kept documents (as `make apply` leaves them): the version of each."""
        return {json.dumps(p, sort_keys=True): self.appconfig.host(document(p, self.paths), "kept") for p in percents}

    def deploy(self, percents: dict[str, float], description: str = "terraform", strategy: Strategy = AT_ONCE,
               ago: float = 0) -> int:
        """Deploy the document of `percents` (hosting it when it is new), `ago` seconds ago."""
        wanted = document(percents, self.paths)
        version = next((n for n, d in self.appconfig.versions.items() if d == wanted), None)
        version = version or self.appconfig.host(wanted, description)
        now = self.clock.now
        self.clock.set(now - ago)
        made = self.appconfig.deploy(version, self.clock.now, strategy, description)
        self.clock.set(now)
        return made.number

    def start(self, name: str, alone: bool = True) -> dict:
        """An execution of the state machine (moto keeps it RUNNING; `alone`: every other
        one is stopped first): its ARN and start time, as the state machine passes them."""
        if alone:
            for e in self.states.list_executions(stateMachineArn=self.machine, statusFilter="RUNNING")["executions"]:
                self.states.stop_execution(executionArn=e["executionArn"])
        arn = self.states.start_execution(stateMachineArn=self.machine, name=name)["executionArn"]
        started = self.states.describe_execution(executionArn=arn)["startDate"]
        return {"execution": arn, "startedAt": started.astimezone(UTC).isoformat()}

    def counts(self, minutes: int, **per_minute: float) -> None:
        """`per_minute` of each count for the last `minutes` whole minutes (user-read)."""
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes)
        dims = [{"Name": "Release", "Value": RELEASE}, {"Name": "Path", "Value": "user-read"}]
        data = [{"MetricName": name, "Dimensions": dims, "Timestamp": start + timedelta(minutes=m), "Value": value,
                 "Unit": "Count"} for m in range(minutes) for name, value in per_minute.items()]
        for i in range(0, len(data), 500):
            self.cloudwatch.put_metric_data(Namespace="Cutover", MetricData=data[i:i + 500])

    # -- the function ----------------------------------------------------------------
    def controller(self) -> Controller:
        return Controller(Identity(RELEASE, "", "Cutover"), Settings(self.env), self.client, self.latency,
                          self.sns_client, self.states)

    def call(self, action: str, run: dict | None = None, cfg: dict | None = None, **event) -> dict:
        if run is None:
            self.run = self.run or self.start("run")
            run = self.run
        return self.controller().run({"action": action, "config": cfg or config(*self.paths), **run, **event})

    def notes(self) -> list[tuple[str, dict]]:
        return [(n.subject, json.loads(n.message)) for n in self.sns.messages]


@pytest.fixture
def world(aws_env):
    with mock_aws():
        w = World()
        yield w
        w.close()


@pytest.fixture
def two_paths(aws_env):
    with mock_aws():
        w = World((USER_READ, ORDERS))
        yield w
        w.close()


def stage_of(answer: dict) -> dict:
    """The next stage a survey found (NEXT: judge now; OBSERVE: what is served is too fresh)."""
    assert answer["action"] in ("NEXT", "OBSERVE"), answer["reason"]
    return answer["stage"]


# -- survey ---------------------------------------------------------------------------------

def test_survey_finds_the_next_step_with_the_kept_version_of_its_content(world, capsys):
    # GIVEN user-read served at 1% and the kept documents of every step (AppConfig's metadata in them)
    kept = world.keep(*({"user-read": s} for s in (0, 1, 5, 25, 50, 100)))
    world.deploy({"user-read": 1}, ago=7200)
    run = world.start("20261205T030000-ana")
    # WHEN the controller surveys
    answer = world.call("survey", run)
    # THEN the next stage is 1% -> 5% with the version whose content is the 5% document
    assert answer["action"] == "NEXT", answer["reason"]
    stage = stage_of(answer)
    assert stage == {"path": "user-read", "flag": "prisma-adapter", "from": 1, "step": 5,
                     "version": str(kept[json.dumps({"user-read": 5})]),
                     "description": f"{live.CONTROLLER_MARK} 20261205T030000-ana: user-read 1% -> 5%",
                     "percents": {"user-read": 5}}
    assert live.started_by({"Description": stage["description"]}) == "controller"
    # ... nothing recorded or notified yet (the judgement of 1% is, then the deploy), one log line
    assert answer["audit"] is None and world.notes() == []
    [line] = log_lines(capsys.readouterr().out)
    assert (line["event"], line["decision"], line["stage"]) == ("CONTROLLER-SURVEY", "NEXT", stage)


@pytest.mark.parametrize(("ago", "action"), [(3000, "OBSERVE"), (3700, "NEXT")])
def test_a_step_served_for_less_than_the_observation_is_observed_before_it_is_judged(world, ago, action):
    world.keep(*({"user-read": s} for s in (1, 5)))
    world.deploy({"user-read": 1}, ago=ago)
    answer = world.call("survey")
    assert answer["action"] == action, answer["reason"]
    assert stage_of(answer)["step"] == 5 and answer["audit"] is None
    if action == "OBSERVE":
        assert answer["reason"] == "user-read has been at 1% for 50 minutes; it is judged once served 60"


@pytest.mark.parametrize("served", [0, 1, 5])
@pytest.mark.parametrize("moving", [False, True])
def test_while_the_rollback_alarm_is_in_alarm_it_never_deploys(world, served, moving):
    world.keep(*({"user-read": s} for s in (0, 1, 5, 25, 50, 100)))
    world.deploy({"user-read": served}, strategy=BAKES if moving else AT_ONCE, ago=60 if moving else 7200)
    world.alarm("ALARM")
    answer = world.call("survey")
    assert answer["action"] == "STOP" and "is in ALARM" in answer["reason"], answer
    # ... and once it is OK again, the same world deploys (or waits for the deployment)
    world.alarm("OK")
    assert world.call("survey")["action"] == ("BUSY" if moving else "NEXT")


def test_an_alarm_it_cannot_see_stops_it(world):
    world.env["CUTOVER_CONTROLLER_ALARM_NAME"] = "someone-elses-alarm"
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1})
    answer = world.call("survey")
    assert answer["action"] == "STOP" and "not visible" in answer["reason"]


def test_a_deployment_in_progress_makes_it_busy_without_a_record(world, capsys):
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=7200)
    number = world.deploy({"user-read": 5}, strategy=BAKES, ago=600)  # baking for 50 more minutes
    answer = world.call("survey")
    assert (answer["action"], answer["stage"], answer["audit"]) == ("BUSY", None, None)
    assert answer["reason"].startswith(f"flag deployment {number} (version 2) is BAKING")
    assert world.notes() == []
    [line] = events(capsys.readouterr().out, "CONTROLLER-SURVEY")
    assert line["decision"] == "BUSY" and "notified" not in line


def test_a_newer_execution_skips_while_an_older_one_runs(world):
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=7200)
    older = world.start("older")
    newer = world.start("newer", alone=False)
    answer = world.call("survey", newer)
    assert (answer["action"], answer["audit"]) == ("SKIP", None)
    assert answer["reason"] == "execution older is running: one controller at a time"
    # the older one goes on: a newer one never stops it
    assert world.call("survey", older)["action"] == "NEXT"
    # once the older one ended, the newer one goes on too
    world.states.stop_execution(executionArn=older["execution"])
    assert world.call("survey", newer)["action"] == "NEXT"


def test_a_path_moved_back_below_a_step_this_execution_deployed_stops_it(world):
    world.keep({"user-read": 1}, {"user-read": 5}, {"user-read": 25})
    world.deploy({"user-read": 1}, ago=7200)
    run = world.start("mine")
    world.deploy({"user-read": 5}, f"{live.CONTROLLER_MARK} mine: user-read 1% -> 5%")
    # someone (not the guard) deploys 1% again
    world.deploy({"user-read": 1}, "terraform apply by someone")
    answer = world.call("survey", run)
    assert answer["action"] == "STOP"
    assert answer["reason"] == ("user-read was moved back by someone else: this execution deployed 5% "
                                "(deployment 2), 1% is served")
    # another execution's deployments are not this one's: it surveys from what is served
    assert stage_of(world.call("survey", world.start("other")))["step"] == 5


def test_every_path_at_its_last_step_is_done(two_paths):
    two_paths.keep({"user-read": 100, "orders-read": 100})
    two_paths.deploy({"user-read": 100, "orders-read": 100})
    answer = two_paths.call("survey")
    assert (answer["action"], answer["stage"]) == ("DONE", None)
    assert answer["reason"] == "every path is at its last step (user-read 100%, orders-read 100%)"
    assert [s for s, _ in two_paths.notes()] == ["cutover rel: controller DONE"]


def test_paths_are_walked_in_the_specs_order_with_the_sequence_documents(two_paths):
    # GIVEN the kept sequence documents: user-read's steps with orders-read as in the spec (0),
    # then orders-read's steps with user-read at its last step
    kept = two_paths.keep(*({"user-read": s, "orders-read": 0} for s in (1, 5, 25, 50, 100)),
                          *({"user-read": 100, "orders-read": s} for s in (10, 100)))
    two_paths.deploy({"user-read": 25, "orders-read": 0})
    # THEN the first path below its last step moves first, orders-read waits
    stage = stage_of(two_paths.call("survey"))
    assert (stage["path"], stage["from"], stage["step"]) == ("user-read", 25, 50)
    assert stage["percents"] == {"user-read": 50, "orders-read": 0}
    # ... and once user-read is at 100%, orders-read moves, to the sequence document's version
    two_paths.deploy({"user-read": 100, "orders-read": 0})
    stage = stage_of(two_paths.call("survey"))
    assert (stage["path"], stage["flag"], stage["from"], stage["step"]) == ("orders-read", "orders-canary", 0, 10)
    assert stage["version"] == str(kept[json.dumps({"orders-read": 10, "user-read": 100})])


def test_no_kept_version_for_the_next_step_stops_with_the_make_apply_hint(world):
    world.keep({"user-read": 1})
    world.deploy({"user-read": 1})
    answer = world.call("survey")
    assert answer["action"] == "STOP"
    assert answer["reason"] == ("no kept version for user-read at 5%: run `make apply` "
                                "(the generator keeps one per step)")


def test_nothing_served_yet_stops(world):
    world.keep({"user-read": 1})
    answer = world.call("survey")
    assert answer["action"] == "STOP" and "run `make apply` first" in answer["reason"]


# -- settle ---------------------------------------------------------------------------------

def _stage(world, percent: float = 5, start: float = 1) -> dict:
    version = next(n for n, d in world.appconfig.versions.items() if d == document({"user-read": percent}))
    return {"path": "user-read", "flag": "prisma-adapter", "from": start, "step": percent, "version": str(version),
            "description": f"{live.CONTROLLER_MARK} run: user-read {start:g}% -> {percent:g}%",
            "percents": {"user-read": percent}}


def test_settle_waits_while_the_step_bakes_then_says_settled(world):
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=7200)
    number = world.deploy({"user-read": 5}, strategy=BAKES, ago=600)
    stage = _stage(world)
    answer = world.call("settle", stage=stage, deployment=number)
    assert (answer["action"], answer["audit"]) == ("BAKING", None)
    assert answer["reason"].startswith(f"deployment {number} is BAKING")
    world.clock.set(world.clock.now + 3600)
    answer = world.call("settle", stage=stage, deployment=number)
    assert (answer["action"], answer["audit"]) == ("SETTLED", None)
    assert world.notes() == []


def test_settle_stops_when_the_step_was_rolled_back_or_the_alarm_fires(world):
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=7200)
    number = world.deploy({"user-read": 5}, strategy=BAKES, ago=600)
    stage = _stage(world)
    world.alarm("ALARM")
    assert world.call("settle", stage=stage, deployment=number)["action"] == "STOP"
    world.alarm("OK")
    ids = world.appconfig.ids
    world.plane.stop_deployment(ids["application"], ids["environment"], number, True)
    answer = world.call("settle", stage=stage, deployment=number)
    assert answer["action"] == "STOP" and answer["reason"] == (f"deployment {number} is ROLLED_BACK: "
                                                               "it was stopped or rolled back")


def test_settle_stops_when_what_is_served_moved_after_the_step_completed(world):
    world.keep({"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=7200)
    number = world.deploy({"user-read": 5}, ago=600)
    world.deploy({"user-read": 1}, "an operator", ago=60)
    answer = world.call("settle", stage=_stage(world), deployment=number)
    assert answer["action"] == "STOP" and "user-read 1% is served" in answer["reason"]


# -- judge ----------------------------------------------------------------------------------

def _settled_at_one_percent(world) -> dict:
    """1% served for 3 hours; the stage a survey finds next (1% -> 5%): what is judged is the 1%."""
    world.keep({"user-read": 0}, {"user-read": 1}, {"user-read": 5})
    world.deploy({"user-read": 1}, ago=3 * 3600)
    return _stage(world, 5, 1)


def _healthy(world, canary_errors: float = 0) -> None:
    """Two hours at 120 requests a minute, 1.2 at the 1% canary (1 or 2), shadow all equal."""
    world.counts(120, Requests=120, ShadowDispatched=12, ShadowComparisons=12)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=120)
    dims = [{"Name": "Release", "Value": RELEASE}, {"Name": "Path", "Value": "user-read"}]
    data = []
    for m in range(120):
        canary = 2 if m % 5 == 0 else 1
        errors = min(canary, canary_errors) if m % 2 == 0 else 0
        for name, value in (("CanaryRequests", canary), ("CanaryReads", canary), ("CanaryErrors", errors),
                            ("Errors", errors)):
            data.append({"MetricName": name, "Dimensions": dims, "Timestamp": start + timedelta(minutes=m),
                         "Value": value, "Unit": "Count"})
    for i in range(0, len(data), 500):
        world.cloudwatch.put_metric_data(Namespace="Cutover", MetricData=data[i:i + 500])
    world.latency.p95 = {"control": (38.0, 14256), "canary": (41.0, 144)}


def test_judge_promotes_a_healthy_settled_step(world, capsys):
    stage = _settled_at_one_percent(world)
    _healthy(world)
    answer = world.call("judge", stage=stage, holds=0)
    assert answer["verdict"] == "PROMOTE", answer["reason"]
    assert answer["analysis"]["verdict"] == "PROMOTE" and answer["analysis"]["checks"]
    assert answer["audit"]["actions"][0]["action"] == "controller-promote"
    assert [s for s, _ in world.notes()] == ["cutover rel: controller PROMOTE"]
    [line] = events(capsys.readouterr().out, "CONTROLLER-JUDGE")
    assert line["analysis"]["format"] == "cutover.analysis/1"  # the whole analysis, figures included


def test_the_plans_config_without_the_optional_keys_is_judged_with_safe_defaults(world):
    # `$.config` as generator/plan/controller.py builds it: paths carry name, flag and steps only
    minimal = {k: v for k, v in config().items() if k not in ("periodSeconds", "pollIntervalSeconds")}
    minimal["paths"] = [{k: USER_READ[k] for k in ("name", "flag", "steps")}]
    stage = _settled_at_one_percent(world)
    _healthy(world)
    answer = world.call("judge", cfg=minimal, stage=stage, holds=0)
    assert answer["verdict"] == "PROMOTE", answer["reason"]
    # shadow is taken as on: its checks are judged, not skipped
    [diffs] = [c for c in answer["analysis"]["checks"] if c["name"] == "shadow-diff-rate"]
    assert "comparisons differ" in diffs["reason"], diffs
    assert answer["audit"]["specChanges"] == []  # the spec's percent unknown: no line


def test_judge_rolls_back_on_canary_errors_and_never_touches_the_flags(world):
    stage = _settled_at_one_percent(world)
    _healthy(world, canary_errors=1)
    deployments = len(world.appconfig.deployments)
    answer = world.call("judge", stage=stage, holds=0)
    assert answer["verdict"] == "ROLLBACK", answer["reason"]
    assert [s for s, _ in world.notes()] == ["cutover rel: controller ROLLBACK"]
    assert len(world.appconfig.deployments) == deployments  # the guard turns the canary off, not the controller


def test_judge_holds_on_too_few_samples_and_notifies_only_when_it_gives_up(world):
    stage = _settled_at_one_percent(world)
    world.counts(30, Requests=10)
    held = [world.call("judge", stage=stage, holds=h) for h in range(4)]
    assert [a["verdict"] for a in held] == ["HOLD"] * 4
    assert all(a["audit"]["actions"][0]["action"] == "controller-hold" for a in held)
    # maxHolds 3: the fourth judgement (holds 3) is the one the controller gives up or asks after
    assert [s for s, _ in world.notes()] == ["cutover rel: controller HOLD"]
    assert world.notes()[0][1]["actions"][0]["holds"] == 3


@pytest.mark.parametrize("change", ["alarm", "moved"])
def test_judge_stops_when_the_alarm_fires_or_what_is_served_is_not_the_stage(world, change):
    stage = _settled_at_one_percent(world)
    _healthy(world)
    if change == "alarm":
        world.alarm("ALARM")
    else:
        world.deploy({"user-read": 0}, "an operator", ago=60)
    answer = world.call("judge", stage=stage, holds=0)
    assert (answer["verdict"], answer["analysis"]) == ("STOP", None)
    assert [s for s, _ in world.notes()] == ["cutover rel: controller STOP"]


# -- ask, and what is not an action -----------------------------------------------------------

def test_ask_tells_a_person_how_to_approve_or_reject(world):
    world.keep({"user-read": 1}, {"user-read": 5})
    stage = _stage(world)
    answer = world.call("ask", stage=stage, reason="too few samples yet", token="secret-token")
    text = ("user-read held at 1% (next step 5%) after 4 judgements (too few samples yet): approve with "
            "`cutover approve --env production` or stop with `cutover reject --env production --reason ...`")
    assert answer["reason"] == text
    [(subject, note)] = world.notes()
    assert subject == "cutover rel: controller ASK" and note["why"] == text
    assert "secret-token" not in json.dumps(note)


def test_an_unknown_action_fails_loudly(world):
    with pytest.raises(ValueError, match="unknown action 'deploy'; allowed: survey, settle, judge, ask"):
        world.call("deploy")


# -- with what the generator writes ------------------------------------------------------------

@pytest.mark.parametrize("env", ["production", "preview"])
def test_the_generators_kept_documents_carry_the_whole_walk(aws_env, env):
    """The generator's `$.config` and kept documents (generator/plan/release_calls.py,
    flag_document.py): every survey finds the version of its stage among them, in the
    spec's order, path after path, to DONE: the step document is computed as the
    generator writes it."""
    from cutover.generator.plan import flag_document
    from cutover.generator.plan.release_calls import controller_config
    from cutover.generator.spec.loader import load_spec

    from tests.conftest import ROOT

    spec = load_spec(ROOT / "config" / f"{env}.release.yaml")
    cfg = controller_config(spec, f"config/{env}.release.yaml").as_state()
    with mock_aws():
        w = World()
        try:
            for doc in flag_document.kept_documents(spec):
                w.appconfig.host(doc, "kept")
            w.appconfig.deploy(w.appconfig.host(flag_document.document(spec), "apply"), w.clock.now, AT_ONCE, "apply")
            walked = []
            for _ in range(sum(len(p["steps"]) for p in cfg["paths"]) + 1):
                answer = w.call("survey", cfg=cfg)
                if answer["action"] not in ("NEXT", "OBSERVE"):
                    break
                stage = answer["stage"]
                walked.append((stage["path"], stage["step"]))
                w.appconfig.deploy(int(stage["version"]), w.clock.now, AT_ONCE, stage["description"])
            assert answer["action"] == "DONE", answer["reason"]
            start = {p.name: p.canary.percent for p in spec.read_paths}
            assert walked == [(p["name"], s) for p in cfg["paths"] for s in p["steps"] if s > start[p["name"]]]
            assert len({p for p, _ in walked}) == len(cfg["paths"])
        finally:
            w.close()
