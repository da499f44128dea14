"""The pieces `cutover rehearse --controller` adds, one at a time, without PostgreSQL or the
function packages: GetMetricData over the telemetry, Step Functions' ListExecutions on
loopback (through boto3, as the controller function calls it), datetime.now() on the virtual
clock, and the Task resources' answers and errors."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest
from cutover.generator.plan.controller import LAMBDA_INVOKE, SNS_PUBLISH, START_DEPLOYMENT

from cutover.rehearsal import clock as clock_module
from cutover.rehearsal.clock import EPOCH, VirtualClock, patch_datetime
from cutover.rehearsal.controller import ControllerTasks, Wiring
from cutover.rehearsal.metric_data import MetricData
from cutover.rehearsal.sfn_api import StepFunctionsApi
from cutover.rehearsal.states import TaskFailed
from cutover.rehearsal.telemetry import Telemetry, bucket

NAMESPACE = "Cutover"


def telemetry_with(minutes: dict[int, dict[str, float]], canary_ms: dict[int, list[float]]) -> Telemetry:
    telemetry = Telemetry(lambda *a: None, set())
    for minute, counts in minutes.items():
        telemetry.minutes[minute].update(counts)
    for minute, values in canary_ms.items():
        telemetry.latency["canary"][minute] = Counter(bucket(v) for v in values)
    return telemetry


def query(name: str, stat: str, period: int, route: str | None = None) -> dict:
    dims = [{"Name": "Release", "Value": "r"}, {"Name": "Path", "Value": "user-read"}]
    if route:
        dims.append({"Name": "Route", "Value": route})
    return {"Id": f"q_{name}_{stat}".lower(), "MetricStat": {
        "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dims}, "Period": period, "Stat": stat}}


def test_get_metric_data_sums_counts_per_period_and_skips_empty_periods():
    telemetry = telemetry_with({10: {"Requests": 5}, 11: {"Requests": 7}, 14: {"Requests": 1}}, {})
    answer = MetricData(telemetry, NAMESPACE)({
        "StartTime": EPOCH + 600, "EndTime": EPOCH + 900, "MetricDataQueries": [query("Requests", "Sum", 120)]})
    result = answer["MetricDataResults"][0]
    assert result["Timestamps"] == [EPOCH + 600, EPOCH + 840]  # [10,12): 12; [12,14): none; [14,15): 1
    assert result["Values"] == [12.0, 1.0]


def test_get_metric_data_latency_over_the_window_and_another_namespace_is_empty():
    telemetry = telemetry_with({}, {10: [100.0] * 19 + [400.0], 11: [100.0] * 20})
    metric = MetricData(telemetry, NAMESPACE)
    request = {"StartTime": EPOCH + 600, "EndTime": EPOCH + 720,
               "MetricDataQueries": [query("Latency", "p95", 120, "canary"), query("Latency", "SampleCount", 120,
                                                                                  "canary")]}
    p95, samples = metric(request)["MetricDataResults"]
    assert samples["Values"] == [40.0]
    assert p95["Values"] == [pytest.approx(100.0, rel=0.03)]  # the 38th of 40 values
    other = MetricData(telemetry, "Elsewhere")(request)["MetricDataResults"]
    assert all(r["Values"] == [] for r in other)


def test_get_metric_data_refuses_a_statistic_it_does_not_model():
    with pytest.raises(ValueError, match="p99"):
        MetricData(telemetry_with({}, {}), NAMESPACE)({"StartTime": EPOCH, "EndTime": EPOCH + 60,
                                                     "MetricDataQueries": [query("Latency", "p99", 60, "canary")]})


def test_list_executions_on_loopback_through_boto3():
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:m"
    running = SimpleNamespace(arn=machine.replace("stateMachine", "execution") + ":a", name="a", status="RUNNING",
                              start=EPOCH + 60, history=[], output=None, error=None, cause=None)
    done = SimpleNamespace(arn=machine.replace("stateMachine", "execution") + ":b", name="b", status="FAILED",
                           start=EPOCH + 120, output=None, error="cutover.Stopped", cause="c",
                           history=[{"executionStartedEventDetails": {"input": "{}"},
                                     "timestamp": datetime.fromtimestamp(EPOCH + 180, UTC)}])
    api = StepFunctionsApi(lambda: [(machine, running), (machine, done), ("other", running)])
    try:
        client = boto3.client("stepfunctions", endpoint_url=api.url, region_name="eu-west-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        pages = client.get_paginator("list_executions").paginate(stateMachineArn=machine)
        listed = [e for page in pages for e in page["executions"]]
        assert [e["name"] for e in listed] == ["b", "a"]  # newest first
        assert listed[1]["startDate"] == datetime.fromtimestamp(EPOCH + 60, UTC)
        only = client.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
        assert [e["name"] for e in only] == ["a"]
        described = client.describe_execution(executionArn=done.arn)
        assert (described["status"], described["error"]) == ("FAILED", "cutover.Stopped")
    finally:
        api.close()


def test_datetime_now_of_patched_modules_reads_the_virtual_clock():
    clock = VirtualClock()
    clock.set(90.0)
    module = SimpleNamespace(__name__="m", datetime=datetime, dt=clock_module._datetime)
    patched = patch_datetime([module], clock)  # type: ignore[list-item]
    assert sorted(patched) == ["m.datetime", "m.dt"]
    assert module.datetime.now(UTC).timestamp() == EPOCH + 90.0
    assert module.dt.datetime.now(UTC).timestamp() == EPOCH + 90.0
    assert datetime.now(UTC).timestamp() != EPOCH + 90.0  # nothing else is touched


class FakeLambda:
    def __init__(self, result):
        self.result, self.events = result, []

    def run(self, fn, event, t, kind):
        self.events.append((event, t))
        return self.result


def tasks_with(result=None, plane=None, publish=None):
    clock = VirtualClock()
    world = SimpleNamespace(lambda_=FakeLambda(result), clock=clock, control_plane=SimpleNamespace(plane=plane),
                            appconfig=SimpleNamespace(deployments=["deployment"]))
    wiring = Wiring(world, function="fn", function_arn="arn:fn", machine_arn="arn:m", topic_arn="arn:t",
                    publish=publish)
    seen, started = [], []
    tasks = ControllerTasks(wiring, lambda *a: seen.append(a), lambda *a: started.append(a), lambda *a: None)
    return tasks, seen, started


def test_a_lambda_task_answers_as_the_lambda_integration_and_a_function_error_is_its_error_type():
    ok = SimpleNamespace(payload={"action": "BUSY"}, function_error=None, throttled=False)
    tasks, seen, _ = tasks_with(ok)
    result = tasks.run(LAMBDA_INVOKE, {"FunctionName": "arn:fn", "Payload": {"action": "survey"}}, None)
    assert result["Payload"] == {"action": "BUSY"} and result["StatusCode"] == 200
    assert seen[0][:2] == ("survey", {"action": "BUSY"})
    failed = SimpleNamespace(payload={"errorType": "KeyError", "errorMessage": "'periodSeconds'"},
                             function_error="Unhandled", throttled=False)
    tasks, _, _ = tasks_with(failed)
    with pytest.raises(TaskFailed) as error:
        tasks.run(LAMBDA_INVOKE, {"FunctionName": "arn:fn", "Payload": {}}, None)
    assert error.value.error == "KeyError"
    assert json.loads(error.value.cause)["errorMessage"] == "'periodSeconds'"
    with pytest.raises(TaskFailed, match="ResourceNotFound"):
        tasks.run(LAMBDA_INVOKE, {"FunctionName": "arn:other", "Payload": {}}, None)


def test_start_deployment_and_publish_reach_the_stand_ins():
    from cutover.rehearsal.appconfig_api import ApiError

    class Plane:
        def start_deployment(self, app, env, body):
            if body["ConfigurationVersion"] == "9":
                raise ApiError(409, "ConflictException", "a deployment runs")
            return {"DeploymentNumber": 4}

    published = []
    publish = SimpleNamespace(publish=lambda form: published.append(form) or "id-1")
    tasks, _, started = tasks_with(plane=Plane(), publish=publish)
    answer = tasks.run(START_DEPLOYMENT, {"ApplicationId": "a", "EnvironmentId": "e", "ConfigurationVersion": "3"},
                       None)
    assert answer == {"DeploymentNumber": 4} and started[0][0] == "deployment"
    with pytest.raises(TaskFailed) as refused:
        tasks.run(START_DEPLOYMENT, {"ApplicationId": "a", "EnvironmentId": "e", "ConfigurationVersion": "9"}, None)
    assert refused.value.error == "AppConfig.ConflictException"
    assert tasks.run(SNS_PUBLISH, {"TopicArn": "arn:t", "Subject": "s", "Message": "m"}, None)["MessageId"] == "id-1"
    assert published[0]["Action"] == "Publish"
    with pytest.raises(ValueError, match="does not run"):
        tasks.run("arn:aws:states:::dynamodb:putItem", {}, None)


def emf_line(minute: int, path: str, requests: int, latency: float) -> str:
    return json.dumps({"_aws": {"Timestamp": int((EPOCH + minute * 60 + 1) * 1000), "CloudWatchMetrics": [
        {"Namespace": NAMESPACE, "Dimensions": [["Release", "Path"]], "Metrics": [{"Name": "Requests"}]},
        {"Namespace": NAMESPACE, "Dimensions": [["Release", "Path", "Route"]], "Metrics": [{"Name": "Latency"}]}]},
        "Release": "r", "Path": path, "Route": "canary", "Requests": requests, "Latency": latency}) + "\n"


def test_get_metric_data_answers_each_read_paths_own_figures():
    telemetry = Telemetry(lambda *a: None, set())
    telemetry.keep_paths()
    telemetry.ingest("router", "sync", [emf_line(10, "user-read", 3, 50.0), emf_line(10, "feed-read", 5, 400.0)])
    metric = MetricData(telemetry, NAMESPACE)
    requests = query("Requests", "Sum", 60)
    feed = copy.deepcopy(requests)
    feed["MetricStat"]["Metric"]["Dimensions"][1]["Value"] = "feed-read"
    latency = query("Latency", "p95", 60, "canary")
    answer = metric({"StartTime": EPOCH + 600, "EndTime": EPOCH + 660, "MetricDataQueries": [requests, feed, latency]})
    values = [r["Values"] for r in answer["MetricDataResults"]]
    assert values[:2] == [[3.0], [5.0]]
    assert values[2] == [pytest.approx(50.0, rel=0.03)]  # user-read's canary latency only
    assert telemetry.minutes[10]["Requests"] == 8  # the whole release's, as before
