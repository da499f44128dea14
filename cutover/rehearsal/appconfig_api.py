"""AppConfig's control-plane API (REST JSON, what boto3's ``appconfig`` client calls), on
loopback, over the rehearsal's AppConfig: what the guard function needs.

    GET    /applications/{app}/environments/{env}/deployments             ListDeployments
    POST   /applications/{app}/environments/{env}/deployments             StartDeployment
    GET    /applications/{app}/environments/{env}/deployments/{n}         GetDeployment
    DELETE /applications/{app}/environments/{env}/deployments/{n}         StopDeployment
    GET  /applications/{app}/configurationprofiles/{prof}/hostedconfigurationversions/{n}
    GET  /applications/{app}/configurationprofiles/{prof}/hostedconfigurationversions  List... (one page)
    POST /applications/{app}/configurationprofiles/{prof}/hostedconfigurationversions
    GET  /applications                                                     ListApplications
    GET  /applications/{app}/environments                                  ListEnvironments
    GET  /applications/{app}/configurationprofiles                         ListConfigurationProfiles
    GET  /deploymentstrategies                                             ListDeploymentStrategies
    POST /deploymentstrategies                                             CreateDeploymentStrategy

Functions reach it with ``AWS_ENDPOINT_URL_APPCONFIG`` (boto3's service-specific
endpoint variable). Errors follow rest-json: a status and ``x-amzn-ErrorType``
(``ConflictException`` 409 while a deployment is in progress, or when StartDeployment's
``LatestDeploymentNumber`` is not the environment's latest deployment;
``ResourceNotFoundException`` 404, ``BadRequestException`` 400). Requests are not
authenticated.

StopDeployment follows the API reference (docs/aws-rules.md, AppConfig): it "works only
on deployments that have a status of DEPLOYING, unless an AllowRevert parameter is
supplied"; with it an in-progress (BAKING) deployment becomes ROLLED_BACK and a
COMPLETE one REVERTED, within 72 hours of its completion; a ROLLED_BACK or REVERTED
deployment cannot be stopped (400). Either way every client gets the version before it
again. ListDeployments' summaries carry no ``Description`` (as in AWS's
DeploymentSummary): who started a deployment, and its ``EventLog`` (when it started,
completed, rolled back or was reverted), are read with GetDeployment.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from .appconfig import AppConfig, ConflictError, Deployment, QuietServer, Strategy
from .clock import EPOCH

DEPLOYMENTS = re.compile(r"^/applications/([^/]+)/environments/([^/]+)/deployments$")
DEPLOYMENT = re.compile(r"^/applications/([^/]+)/environments/([^/]+)/deployments/(\d+)$")
# AppConfig allows a revert "within 72 hours of deployment completion" (API StopDeployment).
REVERT_WINDOW_S = 72 * 3600.0
APPLICATIONS = re.compile(r"^/applications$")
ENVIRONMENTS = re.compile(r"^/applications/([^/]+)/environments$")
PROFILES = re.compile(r"^/applications/([^/]+)/configurationprofiles$")
STRATEGIES = re.compile(r"^/deploymentstrategies$")
HOSTED = re.compile(r"^/applications/([^/]+)/configurationprofiles/([^/]+)/hostedconfigurationversions(?:/(\d+))?$")


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind = status, kind


def _strategy(s: Strategy) -> dict[str, Any]:
    return {"Id": s.id, "Name": s.name or s.id, "DeploymentDurationInMinutes": int(s.duration_s // 60),
            "GrowthType": s.growth_type, "GrowthFactor": s.growth_factor,
            "FinalBakeTimeInMinutes": int(s.bake_s // 60), "ReplicateTo": "NONE"}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(EPOCH + t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class ControlPlane:
    """The operations, over an AppConfig and the virtual clock."""

    # How a clock reading shows in an answer (the sandbox shifts it to the caller's clock).
    iso: Callable[[float], str] = staticmethod(_iso)

    def __init__(self, appconfig: AppConfig, clock: Any, started: Callable[[Deployment], None],
                 stopped: Callable[[Deployment], None] | None = None) -> None:
        self.appconfig = appconfig
        self.clock = clock
        self.started = started  # told of every deployment the API starts
        self.stopped = stopped  # told of every deployment the API stops
        self.reverted: set[int] = set()  # COMPLETE deployments StopDeployment reverted

    def _check(self, app: str, env: str | None = None, profile: str | None = None) -> None:
        ids = self.appconfig.ids
        if app != ids["application"] or env not in (None, ids["environment"]) \
                or profile not in (None, ids["profile"]):
            raise ApiError(404, "ResourceNotFoundException", "no such application, environment or profile")

    def summary(self, d: Deployment) -> dict[str, Any]:
        t = self.clock.now
        state = self.state(d)
        s = d.strategy
        out = {"DeploymentNumber": d.number, "ConfigurationName": self.appconfig.path[2],
               "ConfigurationProfileId": self.appconfig.ids["profile"], "ConfigurationVersion": str(d.version),
               "DeploymentDurationInMinutes": int(s.duration_s // 60), "GrowthType": s.growth_type,
               "GrowthFactor": s.growth_factor, "FinalBakeTimeInMinutes": int(s.bake_s // 60),
               "State": state, "PercentageComplete": round(100.0 * d.share(t), 1), "StartedAt": self.iso(d.started)}
        if state in ("COMPLETE", "ROLLED_BACK", "REVERTED"):
            out["CompletedAt"] = self.iso(d.rolled_back_at if d.rolled_back_at is not None else d.baked_at)
        return out

    def state(self, d: Deployment) -> str:
        state = d.state(self.clock.now)
        return "REVERTED" if state == "ROLLED_BACK" and d.number in self.reverted else state

    def detail(self, app: str, env: str, d: Deployment) -> dict[str, Any]:
        return {"ApplicationId": app, "EnvironmentId": env, "DeploymentStrategyId": d.strategy.id,
                **self.summary(d), "Description": d.description, "EventLog": self.events(d)}

    def events(self, d: Deployment) -> list[dict[str, Any]]:
        """GetDeployment's EventLog, newest first: started, then completed, or rolled back
        (a revert, for a COMPLETE deployment StopDeployment reverted)."""
        t = self.clock.now
        log = [("DEPLOYMENT_STARTED", d.started)]
        if d.rolled_back_at is not None and d.rolled_back_at <= t:
            log += ([("DEPLOYMENT_COMPLETED", d.baked_at), ("REVERT_COMPLETED", d.rolled_back_at)]
                    if d.number in self.reverted else
                    [("ROLLBACK_STARTED", d.rolled_back_at), ("ROLLBACK_COMPLETED", d.rolled_back_at)])
        elif d.baked_at <= t:
            log.append(("DEPLOYMENT_COMPLETED", d.baked_at))
        return [{"EventType": kind, "TriggeredBy": "USER" if kind == "DEPLOYMENT_STARTED" else "APPCONFIG",
                 "OccurredAt": self.iso(at), "Description": kind.replace("_", " ").lower()}
                for kind, at in reversed(log)]

    def _deployment(self, app: str, env: str, number: int) -> Deployment:
        self._check(app, env)
        for d in self.appconfig.deployments:
            if d.number == number:
                return d
        raise ApiError(404, "ResourceNotFoundException", f"no deployment {number}")

    def get_deployment(self, app: str, env: str, number: int) -> dict[str, Any]:
        return self.detail(app, env, self._deployment(app, env, number))

    def stop_deployment(self, app: str, env: str, number: int, allow_revert: bool) -> dict[str, Any]:
        d = self._deployment(app, env, number)
        t = self.clock.now
        state = self.state(d)
        if state == "DEPLOYING" or (allow_revert and state == "BAKING"):
            self.appconfig.roll_back(d, t)
        elif allow_revert and state == "COMPLETE" and t - d.baked_at <= REVERT_WINDOW_S:
            self.appconfig.roll_back(d, t)
            self.reverted.add(d.number)
        else:
            raise ApiError(400, "BadRequestException",
                           f"deployment {number} is {state}: it cannot be stopped"
                           + ("" if allow_revert else " without AllowRevert"))
        if self.stopped is not None:
            self.stopped(d)
        return self.detail(app, env, d)

    def list_deployments(self, app: str, env: str) -> dict[str, Any]:
        self._check(app, env)
        return {"Items": [self.summary(d) for d in reversed(self.appconfig.deployments)]}

    def start_deployment(self, app: str, env: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check(app, env, body.get("ConfigurationProfileId"))
        strategy = self.appconfig.strategies.get(str(body.get("DeploymentStrategyId")))
        version = str(body.get("ConfigurationVersion", ""))
        if strategy is None or not version.isdigit():
            raise ApiError(400, "BadRequestException", "unknown strategy or version")
        expected = body.get("LatestDeploymentNumber")
        latest = max((d.number for d in self.appconfig.deployments), default=0)
        if expected is not None and int(expected) != latest:
            raise ApiError(409, "ConflictException",
                           f"the latest deployment is {latest}, not {expected} (LatestDeploymentNumber)")
        try:
            deployment = self.appconfig.deploy(int(version), self.clock.now, strategy,
                                               str(body.get("Description", "")))
        except ConflictError as exc:
            raise ApiError(409, "ConflictException", str(exc)) from None
        except LookupError as exc:
            raise ApiError(404, "ResourceNotFoundException", str(exc)) from None
        self.started(deployment)
        return self.detail(app, env, deployment)

    def list_applications(self) -> dict[str, Any]:
        ids = self.appconfig.ids
        return {"Items": [{"Id": ids["application"], "Name": self.appconfig.path[0]}]}

    def list_environments(self, app: str) -> dict[str, Any]:
        self._check(app)
        ids = self.appconfig.ids
        return {"Items": [{"ApplicationId": app, "Id": ids["environment"], "Name": self.appconfig.path[1],
                           "State": "DEPLOYING" if self._running() else "ReadyForDeployment"}]}

    def _running(self) -> bool:
        active = self.appconfig.current(self.clock.now)
        return active is not None and active.in_progress(self.clock.now)

    def list_configuration_profiles(self, app: str) -> dict[str, Any]:
        self._check(app)
        ids = self.appconfig.ids
        return {"Items": [{"ApplicationId": app, "Id": ids["profile"], "Name": self.appconfig.path[2],
                           "LocationUri": "hosted", "Type": "AWS.AppConfig.FeatureFlags"}]}

    def list_deployment_strategies(self) -> dict[str, Any]:
        return {"Items": [_strategy(s) for s in self.appconfig.strategies.values()]}

    def create_deployment_strategy(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            strategy = Strategy(f"strat{len(self.appconfig.strategies) + 1:02d}",
                                60.0 * float(body["DeploymentDurationInMinutes"]),
                                60.0 * float(body.get("FinalBakeTimeInMinutes", 0)),
                                str(body.get("GrowthType", "LINEAR")), float(body["GrowthFactor"]),
                                name=str(body["Name"]))
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "BadRequestException",
                           "Name, DeploymentDurationInMinutes and GrowthFactor are required") from None
        self.appconfig.strategies[strategy.id] = strategy
        return _strategy(strategy)

    def get_hosted(self, app: str, profile: str, number: int) -> tuple[bytes, dict[str, str]]:
        self._check(app, None, profile)
        if number not in self.appconfig.versions:
            raise ApiError(404, "ResourceNotFoundException", f"no hosted version {number}")
        return self._hosted(app, profile, number)

    def list_hosted(self, app: str, profile: str) -> dict[str, Any]:
        """ListHostedConfigurationVersions: every version, newest first, without content."""
        self._check(app, None, profile)
        return {"Items": [{"ApplicationId": app, "ConfigurationProfileId": profile, "VersionNumber": number,
                           "Description": self.appconfig.descriptions.get(number, ""),
                           "ContentType": "application/json"}
                          for number in sorted(self.appconfig.versions, reverse=True)]}

    def create_hosted(self, app: str, profile: str, content: bytes, description: str) -> tuple[bytes, dict[str, str]]:
        self._check(app, None, profile)
        try:
            document = json.loads(content)
        except ValueError:
            raise ApiError(400, "BadRequestException", "the content is not JSON") from None
        return self._hosted(app, profile, self.appconfig.host(document, description))

    def _hosted(self, app: str, profile: str, number: int) -> tuple[bytes, dict[str, str]]:
        content = json.dumps(self.appconfig.versions[number], separators=(",", ":")).encode()
        return content, {"Application-Id": app, "Configuration-Profile-Id": profile,
                         "Version-Number": str(number), "Content-Type": "application/json",
                         "Description": self.appconfig.descriptions.get(number, "")}


class ControlPlaneServer:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.calls: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (tens of ms per call)
            disable_nagle_algorithm = True

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, payload, headers = outer.route(method, self.path.split("?", 1)[0], body,
                                                           self.headers)
                except ApiError as exc:
                    status, headers = exc.status, {"x-amzn-ErrorType": exc.kind,
                                                   "Content-Type": "application/json"}
                    payload = json.dumps({"Message": str(exc)}).encode()
                self._reply(status, payload, headers)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="appconfig-api",
                                       kwargs={"poll_interval": 0.05}, daemon=True)  # close() waits up to this
        self.thread.start()

    def route(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, bytes, dict[str, str]]:
        plane = self.plane
        json_headers = {"Content-Type": "application/json"}
        match = DEPLOYMENTS.match(path)
        if match:
            self.calls.append(f"{method} deployments")
            if method == "GET":
                return 200, json.dumps(plane.list_deployments(*match.groups())).encode(), json_headers
            request = json.loads(body or b"{}")
            return 201, json.dumps(plane.start_deployment(*match.groups(), request)).encode(), json_headers
        match = DEPLOYMENT.match(path)
        if match:
            app, env, number = match.groups()
            self.calls.append(f"{method} deployment")
            if method == "GET":
                return 200, json.dumps(plane.get_deployment(app, env, int(number))).encode(), json_headers
            if method == "DELETE":
                allow = str(headers.get("Allow-Revert", "")).lower() == "true"
                return 202, json.dumps(plane.stop_deployment(app, env, int(number), allow)).encode(), json_headers
        match = HOSTED.match(path)
        if match:
            app, profile, number = match.groups()
            self.calls.append(f"{method} hostedconfigurationversions")
            if method == "GET" and number:
                content, out = plane.get_hosted(app, profile, int(number))
                return 200, content, out
            if method == "GET":
                return 200, json.dumps(plane.list_hosted(app, profile)).encode(), json_headers
            if method == "POST" and not number:
                content, out = plane.create_hosted(app, profile, body, headers.get("Description", ""))
                return 201, content, out
        return self._route_listings(method, path, body)

    def _route_listings(self, method: str, path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """The ids by name and the deployment strategies."""
        plane, json_headers = self.plane, {"Content-Type": "application/json"}
        answer: dict[str, Any] | None = None
        status = 200
        if method == "GET" and APPLICATIONS.match(path):
            answer = plane.list_applications()
        elif method == "GET" and (match := ENVIRONMENTS.match(path)):
            answer = plane.list_environments(match.group(1))
        elif method == "GET" and (match := PROFILES.match(path)):
            answer = plane.list_configuration_profiles(match.group(1))
        elif STRATEGIES.match(path) and method in ("GET", "POST"):
            status = 200 if method == "GET" else 201
            answer = (plane.list_deployment_strategies() if method == "GET"
                      else plane.create_deployment_strategy(json.loads(body or b"{}")))
        if answer is None:
            raise ApiError(404, "ResourceNotFoundException", f"{method} {path} is not implemented here")
        self.calls.append(f"{method} {path.rsplit('/', 1)[-1]}")
        return status, json.dumps(answer).encode(), json_headers

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
