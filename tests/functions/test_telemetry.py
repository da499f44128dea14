from __future__ import annotations

import json
import sys
import types

from cutover_runtime.telemetry import Identity, MetricBatch, Tracer, log_event

IDENTITY = Identity("huntaze-prisma-migration", "user-read", "Cutover")


def test_emf_document_follows_the_specification(capsys):
    batch = MetricBatch(IDENTITY)
    batch.add("Requests")
    batch.add("CanaryRequests")
    batch.add("Requests")
    batch.flush()
    batch.flush()  # nothing left: no second line
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int)
    directive = meta["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Cutover"
    assert directive["Dimensions"] == [["Release", "Path"]]
    assert directive["Metrics"] == [{"Name": "Requests", "Unit": "Count"},
                                    {"Name": "CanaryRequests", "Unit": "Count"}]
    assert doc["Release"] == "huntaze-prisma-migration" and doc["Path"] == "user-read"
    assert doc["Requests"] == 2 and doc["CanaryRequests"] == 1


def test_log_lines_are_single_json_objects_with_the_common_fields(capsys):
    log_event(IDENTITY, "SHADOW-OK", match=1, diffCount=0)
    line = json.loads(capsys.readouterr().out)
    assert line == {"event": "SHADOW-OK", "release": "huntaze-prisma-migration",
                    "path": "user-read", "level": "INFO", "match": 1, "diffCount": 0}


class FakeSubsegment:
    def __init__(self) -> None:
        self.annotations: dict = {}

    def put_annotation(self, key, value):
        self.annotations[key] = value


class FakeRecorder:
    def __init__(self) -> None:
        self.subsegments: list[FakeSubsegment] = []

    def configure(self, **kwargs):
        self.config = kwargs

    def begin_subsegment(self, name):
        self.subsegments.append(FakeSubsegment())
        return self.subsegments[-1]

    def end_subsegment(self):
        pass


def test_tracing_off_never_imports_the_xray_sdk(monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=1")
    for name in [m for m in sys.modules if m.startswith("aws_xray_sdk")]:
        monkeypatch.delitem(sys.modules, name)
    tracer = Tracer("off", "hashed")
    assert tracer.annotate("x", {"canary": 1}, user_id="u1", user_hash="h") is False
    assert not any(m.startswith("aws_xray_sdk") for m in sys.modules)


def test_unsampled_traces_skip_the_sdk(monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=0")
    tracer = Tracer("Active", "hashed")
    assert tracer.annotate("x", {"canary": 1}) is False
    assert tracer._recorder is None


def _fake_sdk(monkeypatch) -> FakeRecorder:
    recorder = FakeRecorder()
    core = types.ModuleType("aws_xray_sdk.core")
    core.xray_recorder = recorder
    monkeypatch.setitem(sys.modules, "aws_xray_sdk", types.ModuleType("aws_xray_sdk"))
    monkeypatch.setitem(sys.modules, "aws_xray_sdk.core", core)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=1")
    return recorder


def test_user_id_annotation_is_raw_hashed_or_off(monkeypatch):
    recorder = _fake_sdk(monkeypatch)
    for mode, expected in (("raw", "user-1"), ("hashed", "abcd"), ("off", None)):
        assert Tracer("Active", mode).annotate("r", {"canary": 1, "step": 5},
                                               user_id="user-1", user_hash="abcd")
        annotations = recorder.subsegments[-1].annotations
        assert annotations["canary"] == 1 and annotations["step"] == 5
        assert annotations.get("userId") == expected
    assert recorder.config == {"context_missing": "IGNORE_ERROR"}


def test_real_sdk_records_annotations_on_a_subsegment(monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=1")
    from aws_xray_sdk.core import xray_recorder

    tracer = Tracer("Active", "hashed")
    segment = xray_recorder.begin_segment("router-test", sampling=1)
    try:
        assert tracer.annotate("cutover-route", {"canary": 1, "release": "r"},
                               user_id="user-1", user_hash="abcd")
        subsegment = segment.subsegments[0]
        assert subsegment.name == "cutover-route"
        assert subsegment.annotations == {"canary": 1, "release": "r", "userId": "abcd"}
    finally:
        xray_recorder.end_segment()


def test_in_lambda_the_subsegment_reaches_the_daemon_with_the_annotations(tmp_path):
    # GIVEN a fresh process that looks like Lambda (facade segment from the trace header)
    # and a UDP socket standing in for the X-Ray daemon
    import os
    import socket
    import subprocess

    from .conftest import FUNCTIONS

    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    port = daemon.getsockname()[1]
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(FUNCTIONS), "PYTHONPATH": str(FUNCTIONS),
           "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
           "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;"
                               "Parent=53995c3f42cd8ad8;Sampled=1"}
    code = ("import sys; from cutover_runtime.telemetry import Tracer; "
            "assert Tracer('Active', 'hashed').annotate('cutover-route', "
            "{'canary': 1, 'step': 5}, user_id='user-1', user_hash='abcd'); "
            "assert 'aws_xray_sdk' not in sys.modules")  # sent without the SDK's import
    try:
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
        header, body = daemon.recv(65535).decode().split("\n", 1)
    finally:
        daemon.close()
    # THEN the daemon got a subsegment of the Lambda trace, userId hashed
    subsegment = json.loads(body)
    assert json.loads(header) == {"format": "json", "version": 1}
    assert subsegment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert subsegment["parent_id"] == "53995c3f42cd8ad8"
    assert subsegment["annotations"] == {"canary": 1, "step": 5, "userId": "abcd"}
    # ... in the document the SDK sends in Lambda
    assert set(subsegment) == {"id", "name", "start_time", "end_time", "parent_id", "trace_id",
                               "type", "in_progress", "namespace", "annotations"}
    assert (subsegment["name"], subsegment["type"], subsegment["in_progress"]) == (
        "cutover-route", "subsegment", False)
    assert len(subsegment["id"]) == 16 and subsegment["end_time"] >= subsegment["start_time"]


def test_the_daemon_address_and_the_trace_context_are_read_as_the_sdk_reads_them():
    from cutover_runtime.xray import DEFAULT_DAEMON, Subsegment, daemon_address, trace_context

    assert daemon_address(None) == DEFAULT_DAEMON
    assert daemon_address("169.254.79.129:2000") == ("169.254.79.129", 2000)
    assert daemon_address("tcp:10.0.0.1:2001 udp:10.0.0.2:2002") == ("10.0.0.2", 2002)
    assert trace_context("Root=1-abc;Parent=def;Sampled=1") == ("1-abc", "def")
    assert trace_context("Root=1-abc;Sampled=1") is None  # no segment to hang it on
    sub = Subsegment("n", "1-abc", "def")
    for key, value in (("ok_1", "v"), ("bad-key", 1), ("obj", {"a": 1}), ("flag", True)):
        sub.put_annotation(key, value)
    assert sub.annotations == {"ok_1": "v", "flag": True}


def test_without_a_trace_context_nothing_is_sent(monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=1")  # no Parent: not Lambda
    monkeypatch.delitem(sys.modules, "aws_xray_sdk.core", raising=False)
    assert Tracer("Active", "hashed").annotate("x", {"canary": True}) is False
