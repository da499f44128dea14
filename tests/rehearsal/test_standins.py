"""The stand-ins' own rules: AppConfig deployments and the agent's polls, the virtual
clock in the functions' time sources, CodeDeploy's traffic shifting, the population."""

from __future__ import annotations

import contextlib
import http.client
import inspect
import io
import json
import random
import sys
import threading
import time
import types

import pytest
from cutover.generator.spec.loader import load_spec

from cutover.rehearsal.clock import EPOCH, VirtualClock
from cutover.rehearsal.fakes import Agent, AgentServer, AppConfig, ConflictError, Strategy
from cutover.rehearsal.functions import ModuleSet
from cutover.rehearsal.population import LatencyModel, Population
from cutover.rehearsal.release import flag_values, function_environment, shift_plan
from cutover.rehearsal.scenario import Latency, Traffic
from cutover.rehearsal.world import _dispatch_inline

from .conftest import ROOT, SPEC_FILE

AT_ONCE = Strategy("at-once", 0, 0, "LINEAR", 100)


def test_linear_deployment_moves_environments_in_steps_then_bakes():
    appconfig = AppConfig("app", "env", "profile")
    old, new = appconfig.host({"values": {"v": 1}}), appconfig.host({"values": {"v": 2}})
    appconfig.deploy(old, 0, AT_ONCE, "first")
    d = appconfig.deploy(new, 60, Strategy("ramp", 600, 600, "LINEAR", 20), "second")
    assert [d.share(60 + s * 120) for s in range(6)] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    targets = [f"env-{i}" for i in range(200)]
    on_new = sum(appconfig.version_for(t, 61) == new for t in targets)
    assert 20 <= on_new <= 60  # about 20% of the environments, not of the users
    assert all(appconfig.version_for(t, 660) == new for t in targets)
    assert d.in_progress(1259) and not d.in_progress(1260)  # deployment + bake
    assert [d.state(t) for t in (60, 659, 660, 1259, 1260)] == [
        "DEPLOYING", "DEPLOYING", "BAKING", "BAKING", "COMPLETE"]


def test_one_deployment_at_a_time_and_rollback_restores_the_previous_version():
    appconfig = AppConfig("app", "env", "profile")
    first, second = appconfig.host({"values": {"p": 1}}), appconfig.host({"values": {"p": 5}})
    appconfig.deploy(first, 0, AT_ONCE, "first")
    d = appconfig.deploy(second, 60, Strategy("bake", 0, 600, "LINEAR", 100), "second")
    with pytest.raises(ConflictError):
        appconfig.deploy(first, 120, AT_ONCE, "during the bake")
    appconfig.roll_back(d, 300)
    assert appconfig.version_for("any", 299) == second
    assert appconfig.version_for("any", 300) == first
    assert d.state(300) == "ROLLED_BACK"


def test_agent_serves_its_last_poll_until_the_next_one():
    appconfig = AppConfig("app", "env", "profile")
    first, second = appconfig.host({"values": {"p": 1}}), appconfig.host({"values": {"p": 5}})
    appconfig.deploy(first, 0, AT_ONCE, "first")
    agent = Agent("env-1", started=10, poll_interval_s=45)
    assert json.loads(agent.serve(appconfig, 20)[1]) == {"p": 1}
    appconfig.deploy(second, 30, AT_ONCE, "second")
    assert json.loads(agent.serve(appconfig, 54)[1]) == {"p": 1}  # polled at 10, next at 55
    assert json.loads(agent.serve(appconfig, 55)[1]) == {"p": 5}


def test_agent_without_configuration_answers_an_error_until_it_has_one():
    appconfig = AppConfig("app", "env", "profile")
    appconfig.deploy(appconfig.host({"values": {"p": 1}}), 0, AT_ONCE, "first")
    agent = Agent("env-1", started=0, poll_interval_s=45, unavailable_until=60)
    assert agent.serve(appconfig, 30)[0] == 503
    assert agent.serve(appconfig, 90)[0] == 200


def test_agent_http_api_on_loopback():
    appconfig = AppConfig("huntaze flags", "production", "feature-flags")
    appconfig.deploy(appconfig.host({"values": {"f": {"enabled": True}}}), 0, AT_ONCE, "first")

    class Hooks:
        def flags_fetch_seconds(self) -> float:
            return 0.001

    clock = VirtualClock()
    server = AgentServer(appconfig, clock, Hooks())
    try:
        server.agent = Agent("env-1", 0, 45)
        host, port = server.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/applications/huntaze%20flags/environments/production/configurations/feature-flags")
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"f": {"enabled": True}})
        conn.close()
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/applications/other/environments/production/configurations/feature-flags")
        assert conn.getresponse().status == 404
        conn.close()
        assert clock.now == pytest.approx(0.001)  # the served read took the modelled latency
    finally:
        server.close()


@pytest.mark.parametrize("case", ["served", "no configuration yet", "outage", "other configuration"])
def test_agent_fetch_gives_the_routers_reader_what_its_http_read_gives(build_dir, case):
    """The rehearsal's routers call ``AgentServer.fetch`` instead of the loopback HTTP read:
    the router's own reader (from its package), over HTTP, gets the same document or
    raises the same error."""
    appconfig = AppConfig("huntaze flags", "production", "feature-flags")
    if case != "no configuration yet":
        appconfig.deploy(appconfig.host({"values": {"f": {"enabled": True}}}), 0, AT_ONCE, "first")

    class Hooks:
        def flags_fetch_seconds(self) -> float:
            return 0.001

    clock = VirtualClock()
    server = AgentServer(appconfig, clock, Hooks())
    router = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    reader = router.module("cutover_runtime.flag_reader")
    identity = router.module("cutover_runtime.telemetry").Identity("r", "p", "ns")
    application = "other" if case == "other configuration" else "huntaze flags"
    cache = reader.FlagCache(server.url, application, "production", "feature-flags", "c", "s",
                             1000, 5000, identity, clock=clock.monotonic)
    if case == "outage":
        server.outage = lambda: 500
    try:
        server.agent = Agent("env-1", 0, 45)
        answers = []
        for fetch in (cache._fetch, lambda: server.fetch(cache._target, cache._budget, reader.FlagsError)):
            try:
                answers.append(("document", fetch()))
            except Exception as exc:  # noqa: BLE001 - the error is the answer compared
                answers.append((exc.__class__.__name__, str(exc)))
        assert answers[0] == answers[1]
        assert answers[0][0] == ("document" if case == "served" else "FlagsError")
        # each read took the modelled latency (a wrong path is answered before it)
        assert clock.now == pytest.approx(0.0 if case == "other configuration" else 0.002)
    finally:
        server.close()


def test_shadow_dispatch_is_worked_off_on_the_callers_thread(build_dir):
    """The router's own dispatcher (from its package) sends every queued event, in order,
    when the rehearsal works its queue off after the invocation: no worker thread."""
    router = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", VirtualClock())
    identity = router.module("cutover_runtime.telemetry").Identity("r", "p", "ns")
    sent = []

    class Client:
        meta = types.SimpleNamespace(events=types.SimpleNamespace(register=lambda *_: None))

        def invoke(self, FunctionName, InvocationType, Payload):  # boto3's argument names
            sent.append((Payload, InvocationType, threading.get_ident()))
            return {"StatusCode": 202}

    client = Client()
    dispatcher = router.module("cutover_runtime.shadow").ShadowDispatcher(
        "arn:aws:lambda:eu-west-1:1:function:candidate", 0, identity, client_factory=lambda: client)
    _dispatch_inline(dispatcher)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        dispatcher.dispatch(b"one")
        dispatcher.dispatch(lambda: b"two")  # built by the dispatcher's loop, as on a worker
        assert (dispatcher.pending, sent) == (2, [])
        dispatcher._queue.run(dispatcher)
    assert sent == [(b"one", "Event", threading.get_ident()), (b"two", "Event", threading.get_ident())]
    assert dispatcher.pending == 0 and dispatcher._workers == []
    assert out.getvalue().count('"ShadowDispatched":1}') == 2  # its metric, once per event


def test_function_modules_run_on_the_virtual_clock(build_dir):
    clock = VirtualClock()
    clock.set(100.0)
    router = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    flags = router.module("cutover_runtime.flag_reader")
    telemetry = router.module("cutover_runtime.telemetry")
    assert router.handler._perf() == 100.0
    # clock=time.monotonic, bound at import: the default is the module copy's virtual clock
    clock_default = inspect.signature(flags.FlagCache.__init__).parameters["clock"].default
    assert clock_default() == 100.0
    assert telemetry.time.time() == EPOCH + 100.0
    assert time.perf_counter() != 100.0  # the rehearsal's own time is untouched
    assert "router.handler" not in sys.modules or sys.modules["router.handler"] is not router.handler


def test_each_environment_has_its_own_modules(build_dir):
    clock = VirtualClock()
    a = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    b = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    assert a.handler is not b.handler
    assert a.module("cutover_runtime.aws")._clients is not b.module("cutover_runtime.aws")._clients
    # the package is compiled once: the code is shared, what it keeps is not
    assert a.handler.lambda_handler.__code__ is b.handler.lambda_handler.__code__
    assert a.handler.lambda_handler.__globals__ is not b.handler.lambda_handler.__globals__
    a.handler._router = "a's"
    assert b.handler._router is None


def test_codedeploy_shift_plans():
    spec = load_spec(ROOT / SPEC_FILE)
    assert shift_plan(spec).steps == ((0.0, 0.1), (5.0, 1.0))
    linear = spec.model_copy(update={"delivery": spec.delivery.model_copy(update={
        "codedeploy": spec.delivery.codedeploy.model_copy(update={
            "predefined": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"})})})
    steps = shift_plan(linear).steps
    assert steps[0] == (0.0, 0.1) and steps[-1] == (9.0, 1.0) and len(steps) == 10


def test_flags_and_environments_come_from_the_generator():
    spec = load_spec(ROOT / SPEC_FILE)
    path = spec.read_paths[0]
    values = flag_values(spec, SPEC_FILE, 25)
    assert values[path.canary.flag_key]["percent"] == 25
    assert values[path.canary.flag_key]["enabled"] is True
    assert flag_values(spec, SPEC_FILE, 0)[path.canary.flag_key]["enabled"] is False
    env = function_environment(spec, SPEC_FILE, "user_read_control")
    assert env["CUTOVER_CANDIDATE_ARN"].endswith(f":function:{path.candidate.name}:{path.alias}")
    assert env["CUTOVER_CANARY_TIMEOUT_MS"] == str(path.canary.timeout_ms)


def test_population_is_reproducible_and_skewed():
    traffic = Traffic(requests_per_minute=600, users=1000, key_skew=1.0)
    a, b = Population(traffic, 7), Population(traffic, 7)
    first = [a.arrivals(m) for m in range(10)]
    assert first == [b.arrivals(m) for m in range(10)]
    assert first != [Population(traffic, 8).arrivals(m) for m in range(10)]
    users = [u for minute in first for _, u in minute]
    assert 5000 < len(users) < 7000
    top = max(set(users), key=users.count)
    assert users.count(top) > 10 * len(users) / 1000  # a heavy user, far above the mean


def test_diurnal_shape_swings_the_rate():
    traffic = Traffic(requests_per_minute=100, diurnal_amplitude=0.5)
    population = Population(traffic, 1)
    assert population.rate(16 * 60) == pytest.approx(150)
    assert population.rate(4 * 60) == pytest.approx(50)


def test_latency_model_median_and_p95():
    model = LatencyModel(Latency(median_ms=20, p95_ms=40), random.Random(3))
    draws = sorted(model.draw() * 1000 for _ in range(20000))
    assert draws[10000] == pytest.approx(20, rel=0.05)
    assert draws[19000] == pytest.approx(40, rel=0.08)


def test_appconfig_control_plane_answers_boto3():
    """The brake's boto3 calls against the control-plane stand-in: list, read, create, start."""
    import boto3

    from cutover.rehearsal.fakes import ControlPlane, ControlPlaneServer

    clock = VirtualClock()
    appconfig = AppConfig("app", "env", "profile")
    appconfig.strategies["ramp"] = Strategy("ramp", 0, 600, "LINEAR", 100)
    appconfig.strategies["brake"] = AT_ONCE
    document = {"version": "1", "flags": {}, "values": {"prisma-adapter": {"enabled": True, "percent": 5}}}
    appconfig.deploy(appconfig.host(document, "step 5"), 0, appconfig.strategies["ramp"], "step 5")
    started: list = []
    server = ControlPlaneServer(ControlPlane(appconfig, clock, started.append))
    try:
        client = boto3.client("appconfig", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal")
        ids = appconfig.ids
        where = {"ApplicationId": ids["application"], "EnvironmentId": ids["environment"]}
        clock.set(300)
        assert [d["State"] for d in client.list_deployments(**where)["Items"]] == ["BAKING"]
        with pytest.raises(client.exceptions.ConflictException):
            client.start_deployment(**where, DeploymentStrategyId="brake",
                                    ConfigurationProfileId=ids["profile"], ConfigurationVersion="1")
        clock.set(700)
        item = client.list_deployments(**where)["Items"][0]
        assert (item["State"], item["ConfigurationVersion"], item["DeploymentNumber"]) == ("COMPLETE", "1", 1)
        stored = client.get_hosted_configuration_version(
            ApplicationId=ids["application"], ConfigurationProfileId=ids["profile"], VersionNumber=1)
        assert json.loads(stored["Content"].read()) == document
        created = client.create_hosted_configuration_version(
            ApplicationId=ids["application"], ConfigurationProfileId=ids["profile"],
            Content=json.dumps({"values": {"prisma-adapter": {"enabled": False, "percent": 0}}}).encode(),
            ContentType="application/json", Description="canary off")
        assert created["VersionNumber"] == 2
        result = client.start_deployment(**where, DeploymentStrategyId="brake",
                                         ConfigurationProfileId=ids["profile"], ConfigurationVersion="2")
        assert result["DeploymentNumber"] == 2 and result["State"] == "COMPLETE"
        assert [d.version for d in started] == [2]
        assert appconfig.version_for("any", 701) == 2
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.list_deployments(ApplicationId="other", EnvironmentId=ids["environment"])
    finally:
        server.close()


# --- AWS as documented, the unkind parts included --------------------------------------

def _monitored(state: list[str], reading: str):
    from cutover.rehearsal.fakes import Monitor

    appconfig = AppConfig("app", "env", "profile")
    monitor = Monitor(appconfig, lambda: state[0], True, reading)
    appconfig.listeners.append(lambda what, d, t: monitor.started(t, d) if what == "started" else None)
    return appconfig, monitor


def test_monitor_rolls_a_new_apply_back_on_insufficient_data():
    # GIVEN a composite just created by the same apply (INSUFFICIENT_DATA)
    state = ["INSUFFICIENT_DATA"]
    appconfig, _ = _monitored(state, "kept")
    first = appconfig.host({"values": {"c": {"enabled": True, "percent": 1}}})
    # WHEN the apply's first flag deployment starts
    d = appconfig.deploy(first, 0, Strategy("ramp", 0, 600, "LINEAR", 100), "first")
    # THEN AppConfig rolls it back at once: nothing is served
    assert d.state(0) == "ROLLED_BACK" and appconfig.version_for("x", 1) == 0


def test_monitor_rolls_back_to_the_previous_version_not_to_off():
    state = ["OK"]
    appconfig, monitor = _monitored(state, "kept")
    one = appconfig.host({"values": {"c": {"enabled": True, "percent": 1}}})
    five = appconfig.host({"values": {"c": {"enabled": True, "percent": 5}}})
    appconfig.deploy(one, 0, AT_ONCE, "1%")
    d = appconfig.deploy(five, 60, Strategy("ramp", 0, 600, "LINEAR", 100), "5%")
    state[0] = "ALARM"
    monitor.evaluated(120, "ALARM", changed=True)  # during the bake
    assert d.state(120) == "ROLLED_BACK"
    assert appconfig.version_for("x", 121) == one  # the 1% step: the canary is still on
    monitor.evaluated(1000, "ALARM", changed=False)  # after any bake: nothing watches
    assert appconfig.off_since(["c"], 1000) is None


@pytest.mark.parametrize("reading, rolled_back", [("rolled_back", True), ("kept", False)])
def test_a_deployment_started_under_alarm_follows_the_reading(reading, rolled_back):
    state = ["ALARM"]
    appconfig, _ = _monitored(state, reading)
    on = appconfig.host({"values": {"c": {"enabled": True, "percent": 5}}})
    off = appconfig.host({"values": {"c": {"enabled": False, "percent": 0}}})
    appconfig.deploy(on, 0, AT_ONCE, "5%")
    d = appconfig.deploy(off, 60, Strategy("guard", 0, 0, "LINEAR", 100), "canary off")
    assert (d.state(60) == "ROLLED_BACK") is rolled_back
    assert (appconfig.off_since(["c"], 120) == 60.0) is (not rolled_back)


def test_an_unattached_monitor_never_rolls_back():
    from cutover.rehearsal.fakes import Monitor

    appconfig = AppConfig("app", "env", "profile")
    monitor = Monitor(appconfig, lambda: "INSUFFICIENT_DATA", False, "rolled_back")
    d = appconfig.deploy(appconfig.host({"values": {}}), 0, Strategy("r", 0, 600, "LINEAR", 100), "first")
    monitor.started(0, d)
    monitor.evaluated(60, "ALARM", changed=True)
    assert d.state(60) == "BAKING"


def test_faults_start_and_end_at_the_second():
    from cutover.rehearsal.faults import FaultBoard
    from cutover.rehearsal.scenario import DatabaseOutage, When

    board = FaultBoard([DatabaseOutage(kind="database_outage", when=When(step=25, after_minutes=10, for_minutes=0.5))])
    board.step_started(25, 120.0)
    assert board.next_change() == 720.0
    assert board.transitions(719.9) == ([], [])
    assert board.transitions(720.0) == ([0], [])
    assert board.next_change() == 750.0  # 30 seconds, not a whole minute
    assert board.transitions(749.0) == ([], []) and board.transitions(750.0) == ([], [0])


def test_each_step_renders_its_own_alarms_and_keeps_their_state():
    from cutover.rehearsal import seams
    from cutover.rehearsal.cloudwatch import MetricStore
    from cutover.rehearsal.release import alarm_document

    spec = load_spec(ROOT / SPEC_FILE)
    evaluator = seams.alarm_evaluator_from(alarm_document(spec, 1), MetricStore())
    canary = next(a.name for a in evaluator.alarms.values() if a.key.endswith("/canary-error-rate"))
    at_one = next(a for a in evaluator.alarms.values() if a.name == canary).period
    evaluator.states[canary] = "ALARM"
    changed = seams.reconfigure(evaluator, alarm_document(spec, 25))
    at_25 = next(a for a in evaluator.alarms.values() if a.name == canary).period
    assert at_25 < at_one and "resized" in changed  # the 25% apply resizes the window...
    assert evaluator.state(canary) == "ALARM"  # ...and an update leaves the state unchanged
    seams.reconfigure(evaluator, alarm_document(spec, 0))  # shadow: no canary alarms
    assert canary not in {a.name for a in evaluator.alarms.values()} and canary not in evaluator.states


def test_the_data_plane_serves_what_the_agent_would():
    import boto3

    from cutover.rehearsal.fakes import DataPlane, DataPlaneServer

    clock = VirtualClock()
    appconfig = AppConfig("app", "env", "profile")
    appconfig.deploy(appconfig.host({"values": {"c": {"enabled": True, "percent": 5}}}), 0, AT_ONCE, "5%")
    server = DataPlaneServer(DataPlane(appconfig, clock))
    try:
        client = boto3.client("appconfigdata", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        token = client.start_configuration_session(
            ApplicationIdentifier="app", EnvironmentIdentifier="env", ConfigurationProfileIdentifier="profile",
            RequiredMinimumPollIntervalInSeconds=15)["InitialConfigurationToken"]
        first = client.get_latest_configuration(ConfigurationToken=token)
        assert json.loads(first["Configuration"].read()) == {"c": {"enabled": True, "percent": 5}}
        again = client.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
        assert again["Configuration"].read() == b""  # unchanged since the session's last answer
        with pytest.raises(client.exceptions.BadRequestException):  # a token is single use
            client.get_latest_configuration(ConfigurationToken=token)
    finally:
        server.close()


def test_night_schedule_lowers_the_rate_between_its_hours():
    from cutover.rehearsal.scenario import Night

    traffic = Traffic(requests_per_minute=100, users=10, night=Night(start_hour=22, end_hour=6, requests_per_minute=5))
    population = Population(traffic, 1)
    assert population.rate(21 * 60 + 59) == 100 and population.rate(22 * 60) == 5
    assert population.rate(3 * 60) == 5 and population.rate(6 * 60) == 100  # it wraps midnight
    assert population.rate(1440 + 23 * 60) == 5  # every simulated day
    night = sum(len(population.arrivals(m)) for m in range(23 * 60, 23 * 60 + 60))
    assert 200 <= night <= 400  # about 5 a minute
