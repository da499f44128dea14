"""AppConfig's data plane (``appconfigdata``: StartConfigurationSession,
GetLatestConfiguration) on loopback, over the rehearsal's AppConfig: the second way a
router reads its flags when its agent fails (cutover_runtime/flag_direct.py).

    POST /configurationsessions                         StartConfigurationSession (201)
    GET  /configuration?configuration_token=TOKEN        GetLatestConfiguration

Each session is a client of its own (a gradual deployment moves clients, as it moves the
agents); a token is single use and names the next one; the body is what the agent would
serve (the evaluated flag values of the version that client gets), empty when nothing
changed since the session's last answer. The agent's outage (fault ``agent_outage``)
does not reach it: the data plane is AppConfig itself. Requests are not authenticated.

Unkind on purpose: a used or unknown token is a 400 ``BadRequestException`` (tokens are
single use), an unknown application/environment/profile a 404, and ``down`` makes every
call a 500 ``InternalServerException`` (an AppConfig outage). ``started`` keeps each
StartConfigurationSession request; ``reads`` counts the GetLatestConfiguration calls
that were answered.

``StandaloneDataPlane`` is the same data plane over an AppConfig of its own on a fixed
clock, for callers that only set the document every client gets (tests, benchmarks).
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .appconfig import AppConfig, QuietServer, Strategy

ALL_AT_ONCE = Strategy("AppConfig.AllAtOnce", 0.0, 0.0, "LINEAR", 100.0)


class DataPlane:
    def __init__(self, appconfig: AppConfig, clock: Any) -> None:
        self.appconfig = appconfig
        self.clock = clock
        self.sessions: dict[str, tuple[str, int | None]] = {}  # token -> (client, last version)
        self.calls = 0
        self.reads = 0
        self.started: list[dict[str, Any]] = []  # every StartConfigurationSession request
        self.down = False
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 500, {"Message": "internal error (AppConfig outage)"}
        wanted = (body.get("ApplicationIdentifier"), body.get("EnvironmentIdentifier"),
                  body.get("ConfigurationProfileIdentifier"))
        names, ids = self.appconfig.path, self.appconfig.ids
        if wanted not in (names, (ids["application"], ids["environment"], ids["profile"])):
            return 404, {"Message": "no such application, environment or profile"}
        with self._lock:
            self.started.append(dict(body))
            client = f"direct-{next(self._ids)}"
            token = f"{client}:0"
            self.sessions[token] = (client, None)
        return 201, {"InitialConfigurationToken": token}

    def latest(self, token: str) -> tuple[int, bytes, dict[str, str]]:
        if self.down:
            return 500, json.dumps({"Message": "internal error (AppConfig outage)"}).encode(), \
                {"x-amzn-ErrorType": "InternalServerException", "Content-Type": "application/json"}
        with self._lock:
            self.calls += 1
            session = self.sessions.pop(token, None)
            if session is None:
                return 400, json.dumps({"Message": "the token is not valid (used, expired or unknown)"}).encode(), \
                    {"x-amzn-ErrorType": "BadRequestException", "Content-Type": "application/json"}
            client, last = session
            version = self.appconfig.version_for(client, self.clock.now) or None
            serial = int(token.rsplit(":", 1)[1]) + 1
            following = f"{client}:{serial}"
            self.sessions[following] = (client, version)
            self.reads += 1
        body = b"" if version == last or version is None else self.appconfig.served(version)
        return 200, body, {"Next-Poll-Configuration-Token": following, "Next-Poll-Interval-In-Seconds": "15",
                           "Content-Type": "application/json", "Version-Label": str(version or "")}


class DataPlaneServer:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if urlsplit(self.path).path != "/configurationsessions":
                    return self._reply(404, b"{}", {"Content-Type": "application/json"})
                status, answer = plane.start(request)
                headers = {"Content-Type": "application/json"}
                if status != 201:
                    headers["x-amzn-ErrorType"] = ("ResourceNotFoundException" if status == 404
                                                   else "InternalServerException")
                self._reply(status, json.dumps(answer).encode(), headers)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                token = (parse_qs(parts.query).get("configuration_token") or [""])[0]
                if parts.path != "/configuration":
                    return self._reply(404, b"{}", {"Content-Type": "application/json"})
                self._reply(*plane.latest(token))

            def log_message(self, *args: Any) -> None:
                return None

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="appconfigdata-api",
                                       kwargs={"poll_interval": 0.05}, daemon=True)  # close() waits up to this
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _FixedClock:
    now = 0.0


class StandaloneDataPlane:
    """The data plane on loopback over an AppConfig of its own: ``document`` (settable) is
    what every client gets, deployed at once; ``mode`` is "ok" or "down"."""

    def __init__(self, application: str = "huntaze-flags", environment: str = "production",
                 profile: str = "feature-flags") -> None:
        self.appconfig = AppConfig(application, environment, profile)
        self.plane = DataPlane(self.appconfig, _FixedClock())
        self.server = DataPlaneServer(self.plane)
        self.url = self.server.url
        self.document = {}

    @property
    def document(self) -> Any:
        return self._document

    @document.setter
    def document(self, values: Any) -> None:
        self._document = values
        version = self.appconfig.host({"values": values})
        self.appconfig.deploy(version, 0.0, ALL_AT_ONCE, "document set")

    @property
    def mode(self) -> str:
        return "down" if self.plane.down else "ok"

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("ok", "down"):
            raise ValueError(f"mode {value!r}: ok or down")
        self.plane.down = value == "down"

    @property
    def sessions(self) -> list[dict[str, Any]]:
        return self.plane.started

    @property
    def reads(self) -> int:
        return self.plane.reads

    def close(self) -> None:
        self.server.close()
