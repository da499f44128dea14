"""The stand-ins' own rules: AppConfig deployments and the agent's polls, the virtual
clock in the functions' time sources, CodeDeploy's traffic shifting, the population."""

from __future__ import annotations

import http.client
import json
import random
import sys
import time

import pytest

from generator.loader import load_spec
from rehearsal.appconfig import Agent, AgentServer, AppConfig, ConflictError, Strategy
from rehearsal.clock import EPOCH, VirtualClock
from rehearsal.functions import ModuleSet
from rehearsal.population import LatencyModel, Population
from rehearsal.release import flag_values, function_environment, shift_plan
from rehearsal.scenario import Latency, Traffic

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


def test_function_modules_run_on_the_virtual_clock(build_dir):
    clock = VirtualClock()
    clock.set(100.0)
    router = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    flags = router.module("cutover_runtime.flag_reader")
    telemetry = router.module("cutover_runtime.telemetry")
    assert router.handler._perf() == 100.0
    assert flags.FlagCache.__init__.__defaults__[-1]() == 100.0  # clock=time.monotonic, bound at import
    assert telemetry.time.time() == EPOCH + 100.0
    assert time.perf_counter() != 100.0  # the rehearsal's own time is untouched
    assert "router.handler" not in sys.modules or sys.modules["router.handler"] is not router.handler


def test_each_environment_has_its_own_modules(build_dir):
    clock = VirtualClock()
    a = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    b = ModuleSet(build_dir / "functions" / "router.zip", "router.handler", clock)
    assert a.handler is not b.handler
    assert a.module("cutover_runtime.lambda_client")._clients is not b.module("cutover_runtime.lambda_client")._clients


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

    from rehearsal.appconfig_api import ControlPlane, ControlPlaneServer

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
