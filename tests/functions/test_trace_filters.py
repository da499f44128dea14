"""`cutover traces` filters match what the router really annotates (names, values and
their X-Ray types): a canary request through the real handler, its annotations recorded,
then every `annotation.X = V` of the operator's filter checked against them."""

from __future__ import annotations

import json
import re
import sys
import types
from dataclasses import replace

from cutover.ops.names import load
from cutover.ops.traces import filter_expression
from tests.conftest import ROOT

from .conftest import SALT, flag_values

ANNOTATION = re.compile(r'annotation\.(\w+) = ("(?:[^"\\]|\\.)*"|-?[0-9.]+|true|false)')


class Recorder:
    def __init__(self) -> None:
        self.annotations: dict[str, object] = {}

    def configure(self, **_kwargs) -> None:
        pass

    def begin_subsegment(self, _name):
        return self

    def put_annotation(self, key, value) -> None:
        self.annotations[key] = value

    def end_subsegment(self) -> None:
        pass


def test_canary_and_user_filters_match_the_router_annotations(router_env, extension, monkeypatch, capsys):
    recorder = Recorder()
    core = types.ModuleType("aws_xray_sdk.core")
    core.xray_recorder = recorder
    monkeypatch.setitem(sys.modules, "aws_xray_sdk", types.ModuleType("aws_xray_sdk"))
    monkeypatch.setitem(sys.modules, "aws_xray_sdk.core", core)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc;Sampled=1")
    monkeypatch.setenv("CUTOVER_TRACING", "Active")
    router_env.reset()
    extension.document = flag_values(percent=100)
    router_env.lambda_handler({"userId": "user-7"}, None)
    capsys.readouterr()

    names = load(ROOT, "production")[0]
    path = replace(names.paths[0], salt=SALT)  # the salt the test router hashes with
    expression = filter_expression(names, path, canary=True, user="user-7")
    wanted = {key: json.loads(value) for key, value in ANNOTATION.findall(expression)}
    assert set(wanted) == {"release", "path", "canary", "userId"}
    for key, value in wanted.items():
        assert key in recorder.annotations, f"the router writes no annotation {key}"
        written = recorder.annotations[key]
        assert type(written) is type(value), f"{key}: filter compares {value!r}, the router writes {written!r}"
        assert written == value
