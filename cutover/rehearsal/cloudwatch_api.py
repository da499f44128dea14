"""CloudWatch's DescribeAlarms on loopback: what the guard function reads (and, when the
rehearsal runs the controller, GetMetricData from ``metric_data``: its window).

boto3 1.44's ``cloudwatch`` client speaks the JSON protocol (its model lists
``smithy-rpc-v2-cbor``, ``json`` and ``query``, and botocore picks ``json``): one
``POST /`` with ``X-Amz-Target: GraniteServiceVersion20100801.DescribeAlarms``,
``Content-Type: application/x-amz-json-1.0`` and a JSON body; the answer is JSON, errors
carry ``__type``. Functions reach it with ``AWS_ENDPOINT_URL_CLOUDWATCH``.

The alarms' states come from the caller (``states()``: name -> (type, state), type
``CompositeAlarm`` or ``MetricAlarm``), read on every call, so the stand-in answers
what the rehearsal's alarm evaluation says at that simulated moment. As in AWS, without
``AlarmTypes`` only metric alarms are returned (docs/aws-rules.md, DescribeAlarms).
``fail_next`` makes the next calls fail (e.g. ``("Throttling", 400)``), through the
loopback API and through ``call`` (the Python API: the answer, or ``ApiError``) alike.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from .appconfig import QuietServer
from .appconfig_api import ApiError
from .clock import EPOCH

TARGET = "GraniteServiceVersion20100801."
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


class LoopbackApi:
    """A loopback HTTP server whose answers come from ``route(method, path, headers, body)``
    -> (status, body, headers)."""

    def __init__(self, name: str, route: Callable[[str, str, Any, bytes], tuple[int, bytes, dict[str, str]]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (tens of ms per call)
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = route("POST", self.path, self.headers, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=name,
                                       kwargs={"poll_interval": 0.05}, daemon=True)  # close() waits up to this
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DescribeAlarmsApi:
    """DescribeAlarms (JSON protocol) over the states a callable reports."""

    def __init__(self, states: Callable[[], Mapping[str, tuple[str, str]]], clock: Any,
                 metric_data: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.states = states
        self.clock = clock
        self.metric_data = metric_data  # GetMetricData, when given (the controller function's window)
        self.calls: list[dict[str, Any]] = []
        self.fail_next: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self.api = LoopbackApi("cloudwatch-api", self.route)
        self.url = self.api.url

    def describe_alarms(self, request: Mapping[str, Any]) -> dict[str, Any]:
        names = set(request.get("AlarmNames") or ())
        types = set(request.get("AlarmTypes") or ("MetricAlarm",))
        out: dict[str, list[dict[str, Any]]] = {"CompositeAlarms": [], "MetricAlarms": []}
        for name, (kind, state) in sorted(self.states().items()):
            if kind not in types or (names and name not in names):
                continue
            out["CompositeAlarms" if kind == "CompositeAlarm" else "MetricAlarms"].append({
                "AlarmName": name, "AlarmArn": ALARM_ARN + name, "StateValue": state,
                "StateReason": f"rehearsal: {state}", "ActionsEnabled": True,
                "StateUpdatedTimestamp": EPOCH + self.clock.now})
        return out

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeAlarms as the loopback API answers it: an injected failure first."""
        with self._lock:
            failure = self.fail_next.pop(0) if self.fail_next else None
            if failure is None:
                self.calls.append(dict(request))
        if failure is not None:
            code, status = failure
            raise ApiError(status, code, "injected")
        return self.describe_alarms(request)

    def route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        target = str(headers.get("X-Amz-Target", ""))
        reply = {"Content-Type": "application/x-amz-json-1.0"}
        if method == "POST" and target == TARGET + "GetMetricData" and self.metric_data is not None:
            try:
                return 200, json.dumps(self.metric_data(json.loads(body or b"{}"))).encode(), reply
            except ValueError as exc:
                return 400, json.dumps({"__type": "InvalidParameterValue", "message": str(exc)}).encode(), reply
        if method != "POST" or target != TARGET + "DescribeAlarms":
            return 400, json.dumps({"__type": "InvalidAction",
                                    "message": f"{target or path} is not implemented here"}).encode(), reply
        try:
            answer = self.call(json.loads(body or b"{}"))
        except ApiError as exc:
            return exc.status, json.dumps({"__type": exc.kind, "message": str(exc)}).encode(), \
                {**reply, "x-amzn-query-error": f"{exc.kind};Sender"}
        return 200, json.dumps(answer).encode(), reply

    def close(self) -> None:
        self.api.close()
