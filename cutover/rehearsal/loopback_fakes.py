"""Loopback HTTP servers, driven by hand (no virtual clock, no rehearsal world), that
speak the APIs a single function calls:

* ``AppConfigExtension``: the AppConfig agent's (Lambda extension's) local HTTP API
  (GET configuration), with its failure modes: down (500), hang, malformed JSON,
  trickle (one byte at a time), raw bytes.
* ``LambdaInvokeApi``: the Lambda Invoke API, through real boto3 via
  ``AWS_ENDPOINT_URL_LAMBDA``; each answer (status, headers, body, delay) comes from the
  caller, so throttling (429), function errors and slow or trickled answers are one
  callable away.
* ``ExtensionsAPI``: the Extensions API of the Lambda runtime API
  (``AWS_LAMBDA_RUNTIME_API``): register and event/next.

Faults are injected per request. Import them from ``cutover.rehearsal.fakes``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LocalServer:
    def __init__(self, handler_cls: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler_cls)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.closing = True  # a trickling answer stops
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, status: int, body: bytes, pause_s: float) -> None:
        """The whole answer, status line included, one byte every ``pause_s``. Counts
        answers whose last byte was sent (``completed``, counted before that byte goes
        out, so a client that read everything always finds it counted) and answers the
        peer hung up on (``aborted``)."""
        owner = self.server.owner  # type: ignore[attr-defined]
        answer = (f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n"
                  "Content-Type: application/json\r\n\r\n").encode() + body
        try:
            for i in range(len(answer)):
                if owner.closing:
                    break
                if i == len(answer) - 1:
                    owner.completed += 1
                self.wfile.write(answer[i:i + 1])
                self.wfile.flush()
                time.sleep(pause_s)
            else:
                return
        except (BrokenPipeError, ConnectionResetError):
            owner.aborted += 1
        self.close_connection = True


class AppConfigExtension(LocalServer):
    """``mode``: ok / down (500) / hang (sleeps ``hang_s``) / malformed / trickle (one
    byte every ``trickle_s``) / raw (serves ``raw`` bytes as the body)."""

    def __init__(self) -> None:
        self.document: Any = {}
        self.mode = "ok"
        self.hang_s = 2.0
        self.trickle_s = 0.02
        self.raw = b""
        self.paths: list[str] = []
        self.closing = False
        self.completed = 0
        self.aborted = 0
        super().__init__(self._Handler)

    class _Handler(_Quiet):
        def do_GET(self) -> None:
            owner: AppConfigExtension = self.server.owner  # type: ignore[attr-defined]
            owner.paths.append(self.path)
            if owner.mode == "down":
                self._send(500, b"not ready")
            elif owner.mode == "hang":
                time.sleep(owner.hang_s)
                self._send(200, json.dumps(owner.document).encode())
            elif owner.mode == "malformed":
                self._send(200, b"{not json")
            elif owner.mode == "trickle":
                self._trickle(200, json.dumps(owner.document).encode(), owner.trickle_s)
            elif owner.mode == "raw":
                self._send(200, owner.raw, {"Content-Type": "application/json"})
            else:
                self._send(200, json.dumps(owner.document).encode(),
                           {"Content-Type": "application/json"})


class LambdaInvokeApi(LocalServer):
    """The Invoke API. ``answer(payload) -> (status, headers, body, delay_s)``, or
    ``answer_at(path, payload)`` when set (the path names the function and its
    ``Qualifier``); with ``trickle_s`` > 0 a synchronous answer is sent one byte at a time."""

    def __init__(self) -> None:
        self.trickle_s = 0.0
        self.closing = False
        self.completed = 0
        self.aborted = 0
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.answer: Callable[[dict], tuple[int, dict[str, str], bytes, float]] = (
            lambda payload: (200, {}, b"{}", 0.0))
        self.answer_at: Callable[[str, Any], tuple[int, dict[str, str], bytes, float]] | None = None
        self.event_delay_s = 0.0
        self.event_gate: threading.Event | None = None  # 202 only once it is set
        self.on_event: Callable[[dict], None] | None = None  # delivers async events
        super().__init__(self._Handler)

    class _Handler(_Quiet):
        def do_POST(self) -> None:
            owner: LambdaInvokeApi = self.server.owner  # type: ignore[attr-defined]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            payload = json.loads(raw) if raw else None
            with owner.lock:
                owner.calls.append({"path": self.path, "type": invocation_type,
                                    "payload": payload})
            if invocation_type == "Event":
                if owner.event_delay_s:
                    time.sleep(owner.event_delay_s)
                if owner.event_gate is not None:
                    owner.event_gate.wait(60)
                self._send(202, b"")
                if owner.on_event is not None:
                    owner.on_event(payload)
                return
            status, headers, body, delay = (owner.answer(payload) if owner.answer_at is None
                                            else owner.answer_at(self.path, payload))
            if delay:
                time.sleep(delay)
            if owner.trickle_s:
                self._trickle(status, body, owner.trickle_s)
                return
            try:
                self._send(status, body, headers)
            except (BrokenPipeError, ConnectionResetError):
                pass


class ExtensionsAPI(LocalServer):
    """The Extensions API of the Lambda runtime API: ``register`` and ``event/next``.

    ``deliver_invoke`` hands an INVOKE event to the extension's pending ``next``;
    ``on_next`` runs, inside the request, each time the extension calls ``next`` (the
    moment Lambda may freeze the environment)."""

    EXTENSION_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

    def __init__(self) -> None:
        self.registrations: list[dict[str, Any]] = []
        self.next_headers: list[dict[str, str]] = []
        self.register_status = 200
        self.on_next: Callable[[], None] | None = None
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._calls = threading.Condition()
        super().__init__(self._Handler)

    @property
    def host_port(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    def deliver_invoke(self, request_id: str, deadline_ms: int) -> None:
        self._events.put({"eventType": "INVOKE", "deadlineMs": deadline_ms,
                          "requestId": request_id,
                          "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                          "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-5f35ae12"}})

    def wait_next_calls(self, count: int, timeout: float = 30.0) -> bool:
        with self._calls:
            return self._calls.wait_for(lambda: len(self.next_headers) >= count, timeout)

    def close(self) -> None:
        self._events.put(None)
        super().close()

    class _Handler(_Quiet):
        def do_POST(self) -> None:
            owner: ExtensionsAPI = self.server.owner  # type: ignore[attr-defined]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            owner.registrations.append({"path": self.path, "headers": dict(self.headers),
                                        "body": json.loads(body) if body else None})
            if owner.register_status != 200:
                self._send(owner.register_status, b'{"errorType": "Extension.Unknown"}')
                return
            self._send(200, json.dumps({"functionName": "f", "functionVersion": "$LATEST",
                                        "handler": "router.handler.lambda_handler"}).encode(),
                       {"Lambda-Extension-Identifier": owner.EXTENSION_ID})

        def do_GET(self) -> None:
            owner: ExtensionsAPI = self.server.owner  # type: ignore[attr-defined]
            if owner.on_next is not None:
                owner.on_next()
            with owner._calls:
                owner.next_headers.append({"path": self.path, **dict(self.headers)})
                owner._calls.notify_all()
            event = owner._events.get()
            if event is None:
                owner._events.put(None)  # every other waiting call ends too
                self._send(500, b'{"errorType": "Extension.Shutdown"}')
                return
            self._send(200, json.dumps(event).encode(),
                       {"Lambda-Extension-Event-Identifier": event["requestId"]})
