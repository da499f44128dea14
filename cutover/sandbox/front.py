"""The sandbox's front door: one loopback port that answers as AWS would.

Each request goes, by its SigV4 signing name, to the project's stand-in for that service
when one is mounted and takes the operation (``Service.handle`` returns a response), and
otherwise to moto's server, unchanged (moto runs in this process on a port of its own:
the sandbox is its own process, so moto's process-wide state is the sandbox's alone).
A stand-in that lets moto answer may still put back what moto drops from its answer
(``amend(request, response) -> Response``, optional): moto keeps the resource, the
stand-in only restores the attributes AWS returns and moto forgets.
Paths under ``/_cutover/`` are the sandbox's own control API (status, fault injection),
answered by ``admin`` and never by an AWS stand-in.

Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cutover.rehearsal.appconfig import QuietServer

from .state import SandboxState
from .wire import Request, Response

ADMIN_PREFIX = "/_cutover/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}
Admin = Callable[[Request], Response]


def _no_admin(request: Request) -> Response:
    return Response(404, json.dumps({"error": f"no sandbox control API at {request.path}"}).encode(),
                    {"Content-Type": "application/json"})


class Moto:
    """moto's server on a loopback port of its own (the OS picks it)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.host, self.port = host, int(port)

    def forward(self, request: Request, raw_path: str) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
            conn.request(request.method, raw_path, body=request.body or None, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            out = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            return Response(answer.status, body, out)
        finally:
            conn.close()

    def stop(self) -> None:
        self._server.stop()


class FrontDoor:
    """Serves until ``close()``; ``url`` is what AWS_ENDPOINT_URL points at."""

    def __init__(self, state: SandboxState, moto: Moto, admin: Admin = _no_admin) -> None:
        self.state, self.moto, self.admin = state, moto, admin
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = front.answer(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                return None

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="sandbox-front",
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        request = Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          {k.lower(): v for k, v in headers.items()}, body)
        if parts.path.startswith(ADMIN_PREFIX):
            return self.admin(request)
        service = self.state.services.get(request.service)
        if service is not None:
            handled = service.handle(request)
            if handled is not None:
                return handled
        answer = self.moto.forward(request, raw_path)
        amend = getattr(service, "amend", None)
        return amend(request, answer) if amend is not None else answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
