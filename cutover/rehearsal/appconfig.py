"""AppConfig, locally: hosted flag versions, deployments with the spec's strategy, the
environment's alarm monitor, and a stand-in of the AppConfig agent's HTTP API.

* A deployment moves execution environments (not users) to the new version as its
  strategy grows (LINEAR: ``growth_factor``% of the targets each ``duration/steps``;
  EXPONENTIAL: G*(2^N); all at once when the duration is 0), then bakes.
* ``Monitor``: the environment's alarm monitor, when one is attached (cutover attaches
  none; a scenario's ``world.appconfig_monitor`` attaches the rollback alarm). While a
  deployment deploys or bakes, its alarm in ALARM *or INSUFFICIENT_DATA* rolls it back
  "to the previous version" (every environment gets the version before it again, which
  may have the canary on). A deployment started while the alarm is already in ALARM is
  undocumented: ``started_in_alarm`` = ``rolled_back`` (at once) or ``kept`` (until the
  alarm changes state again).
* The agent of each router execution environment polls every
  ``AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS`` from its start and serves its last
  poll on ``GET /applications/{app}/environments/{env}/configurations/{profile}`` on
  loopback: the router's real flag code (cutover_runtime.http1) reads it.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Strategy:
    id: str
    duration_s: float
    bake_s: float
    growth_type: str
    growth_factor: float
    name: str = ""  # as CreateDeploymentStrategy named it (the id when empty)


@dataclass
class Deployment:
    number: int
    version: int
    previous: int
    started: float
    strategy: Strategy
    description: str = ""
    rolled_back_at: float | None = None
    percent: float = 0.0
    rollback_reason: str = ""
    monitor_kept: bool = False  # started under ALARM, kept under the "kept" reading

    @property
    def deployed_at(self) -> float:
        return self.started + self.strategy.duration_s

    @property
    def baked_at(self) -> float:
        return self.deployed_at + self.strategy.bake_s

    @property
    def label(self) -> str:
        return self.description

    def share(self, t: float) -> float:
        """Share of the targets on the new version at ``t`` (step-wise, as AppConfig grows)."""
        duration, factor = self.strategy.duration_s, self.strategy.growth_factor
        if t < self.started:
            return 0.0
        if duration <= 0 or t >= self.deployed_at:
            return 1.0
        exponential = self.strategy.growth_type == "EXPONENTIAL"
        steps = max(1, math.ceil(math.log2(100.0 / factor)) + 1) if exponential else max(1, math.ceil(100.0 / factor))
        done = math.floor((t - self.started) / (duration / steps)) + 1
        return min(1.0, (factor * 2 ** (done - 1) if exponential else factor * done) / 100.0)

    def in_progress(self, t: float) -> bool:
        return self.rolled_back_at is None and self.started <= t < self.baked_at

    def state(self, t: float) -> str:
        """AppConfig's deployment state at ``t``."""
        if self.rolled_back_at is not None and self.rolled_back_at <= t:
            return "ROLLED_BACK"
        if t < self.deployed_at:
            return "DEPLOYING"
        return "BAKING" if t < self.baked_at else "COMPLETE"


class AppConfig:
    """Hosted versions and deployments of one environment's configuration profile."""

    def __init__(self, application: str, environment: str, profile: str) -> None:
        self.path = (application, environment, profile)
        self.ids = {"application": "rehearsalapp", "environment": "rehearsalenv",
                    "profile": "rehearsalprof"}
        self.versions: dict[int, dict[str, Any]] = {}  # version -> the stored document
        self.descriptions: dict[int, str] = {}
        self.deployments: list[Deployment] = []
        self.strategies: dict[str, Strategy] = {}
        self._values: dict[int, bytes] = {}
        # told of every deployment started or rolled back: listener(what, deployment, t)
        self.listeners: list[Any] = []

    def host(self, document: dict[str, Any], description: str = "") -> int:
        number = len(self.versions) + 1
        self.versions[number] = document
        self.descriptions[number] = description
        return number

    def served(self, version: int) -> bytes:
        """What the agent serves for a version: the evaluated flag values."""
        if version not in self._values:
            self._values[version] = json.dumps(self.versions[version].get("values", {})).encode()
        return self._values[version]

    def current(self, t: float) -> Deployment | None:
        for deployment in reversed(self.deployments):
            if deployment.started <= t:
                return deployment
        return None

    def deploy(self, version: int, t: float, strategy: Strategy, description: str) -> Deployment:
        active = self.current(t)
        if active is not None and active.in_progress(t):
            raise ConflictError(f"deployment {active.number} is in progress (ConflictException)")
        if version not in self.versions:
            raise LookupError(f"no hosted configuration version {version}")
        previous = self.version_for("", t, all_targets=True) if active else 0
        deployment = Deployment(len(self.deployments) + 1, version, previous, t, strategy, description)
        canary = [v for v in self.versions[version].get("values", {}).values()
                  if isinstance(v, dict) and "percent" in v]
        deployment.percent = float(canary[0]["percent"]) if canary and canary[0].get("enabled") else 0.0
        self.deployments.append(deployment)
        self._tell("started", deployment, t)
        return deployment

    def roll_back(self, deployment: Deployment, t: float, reason: str = "stopped (StopDeployment)") -> None:
        if deployment.rolled_back_at is not None:
            return
        deployment.rolled_back_at = t
        deployment.rollback_reason = reason
        self._tell("rolled_back", deployment, t)

    def milestones(self, minute: int) -> list[tuple[float, str, str]]:
        """What finished within ``minute`` (a deployment's growth, then its bake), for the
        deployments not rolled back: (second, "flag_deployment_done" | "bake_done", label).
        A deployment all at once has no growth to finish; one with no bake no bake."""
        out = []
        for deployment in self.deployments:
            if deployment.rolled_back_at is not None:
                continue
            if deployment.strategy.duration_s and int(deployment.deployed_at // 60) == minute:
                out.append((deployment.deployed_at, "flag_deployment_done", deployment.label))
            if deployment.strategy.bake_s and int(deployment.baked_at // 60) == minute:
                out.append((deployment.baked_at, "bake_done", deployment.label))
        return out

    def _tell(self, what: str, deployment: Deployment, t: float) -> None:
        for listener in self.listeners:
            listener(what, deployment, t)

    def off_since(self, flag_keys: list[str], end: float) -> float | None:
        """Since when every target has been served a version with every canary flag off
        (continuously up to ``end``); None if the canary is on at ``end``."""
        times = {0.0}
        for d in self.deployments:
            times.update(x for x in (d.started, d.deployed_at, d.rolled_back_at) if x is not None and x <= end)
        since = None
        for t in sorted(times):
            version = self.version_for("", t, all_targets=True)
            values = self.versions[version].get("values", {}) if version else {}
            off = all(not (values.get(k) or {}).get("enabled") or not (values.get(k) or {}).get("percent")
                      for k in flag_keys)
            if off and since is None:
                since = t
            elif not off:
                since = None
        return since

    def version_for(self, target: str, t: float, all_targets: bool = False) -> int:
        """The version a target (an execution environment's agent) gets when it polls at t."""
        for deployment in reversed(self.deployments):
            if deployment.started > t:
                continue
            if deployment.rolled_back_at is not None and deployment.rolled_back_at <= t:
                return deployment.previous
            if all_targets or _bucket(target) < deployment.share(t):
                return deployment.version
            return deployment.previous
        return 0


class Monitor:
    """The environment's monitor: the rollback alarm, as AppConfig watches it."""

    def __init__(self, appconfig: AppConfig, alarm_state: Any, attached: bool, started_in_alarm: str) -> None:
        self.appconfig = appconfig
        self.alarm_state = alarm_state  # () -> the composite's current state
        self.attached = attached
        self.started_in_alarm = started_in_alarm

    def told(self, what: str, deployment: Deployment, t: float) -> None:
        """AppConfig's listener: a deployment started (or rolled back) at ``t``."""
        if what == "started":
            self.started(t, deployment)

    def started(self, t: float, deployment: Deployment) -> None:
        if not self.attached:
            return
        state = self.alarm_state()
        if state == "INSUFFICIENT_DATA":
            self.appconfig.roll_back(deployment, t, "its monitor's alarm is INSUFFICIENT_DATA")
        elif state == "ALARM":
            if self.started_in_alarm == "rolled_back":
                self.appconfig.roll_back(deployment, t, "started while its monitor's alarm is in ALARM")
            else:
                deployment.monitor_kept = True

    def evaluated(self, t: float, state: str, changed: bool) -> None:
        if not self.attached:
            return
        active = self.appconfig.current(t)
        if active is None or not active.in_progress(t):
            return
        if state == "INSUFFICIENT_DATA":
            self.appconfig.roll_back(active, t, "its monitor's alarm went to INSUFFICIENT_DATA during deployment/bake")
        elif state == "ALARM" and (changed or not active.monitor_kept):
            self.appconfig.roll_back(active, t, "its monitor's alarm is in ALARM during deployment/bake")


class ConflictError(RuntimeError):
    """AppConfig allows one deployment per environment at a time."""


def _bucket(target: str) -> float:
    return int.from_bytes(hashlib.sha256(target.encode()).digest()[:4], "big") / 2**32


class _Quiet:
    """A loopback server that does not print a client hanging up (a timed-out read)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # type: ignore[misc]


class QuietServer(_Quiet, ThreadingHTTPServer):
    """One thread per connection (boto3 keeps connections open)."""

    daemon_threads = True


class QuietSerialServer(_Quiet, HTTPServer):
    """One connection at a time, on one thread: the agent's reads are one-shot HTTP/1.0
    requests, and a thread per request would cost more than the request."""


class Agent:
    """The AppConfig agent of one execution environment."""

    def __init__(self, target: str, started: float, poll_interval_s: float,
                 unavailable_until: float = 0.0) -> None:
        self.target = target
        self.started = started
        self.poll_interval_s = poll_interval_s
        self.unavailable_until = unavailable_until
        self.polled_version: int | None = None
        self.polled_at = -1.0

    def serve(self, appconfig: AppConfig, t: float) -> tuple[int, bytes]:
        polls = math.floor((t - self.started) / self.poll_interval_s)
        last_poll = self.started + polls * self.poll_interval_s
        if last_poll != self.polled_at:
            self.polled_at = last_poll
            if last_poll >= self.unavailable_until:
                self.polled_version = appconfig.version_for(self.target, last_poll)
        if not self.polled_version:  # never polled, or nothing deployed to this target yet
            return 503, b'{"message":"configuration not available yet"}'
        return 200, appconfig.served(self.polled_version)


class AgentServer:
    """One loopback HTTP server for every agent: the one of the environment that is
    running (the rehearsal runs one invocation at a time) answers."""

    def __init__(self, appconfig: AppConfig, clock: Any, hooks: Any) -> None:
        self.appconfig = appconfig
        self.clock = clock
        self.hooks = hooks
        self.agent: Agent | None = None
        self.requests = 0
        self.outage: Any = lambda: None  # () -> a status every agent answers with, or None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = outer.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = QuietSerialServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="appconfig-agent",
                                       kwargs={"poll_interval": 0.05}, daemon=True)  # close() waits up to this
        self.thread.start()

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests += 1
        parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/")]
        expected = ["applications", self.appconfig.path[0], "environments", self.appconfig.path[1],
                    "configurations", self.appconfig.path[2]]
        if parts != expected:
            return 404, b'{"message":"no such configuration"}'
        agent = self.agent
        if agent is None:
            return 503, b'{"message":"no agent"}'
        self.clock.advance(self.hooks.flags_fetch_seconds())
        status = self.outage()
        if status is not None:
            return status, b'{"message":"injected agent outage"}'
        return agent.serve(self.appconfig, self.clock.now)

    def fetch(self, target: str, budget_s: float, error: type[Exception]) -> Any:
        """What the router's flag reader's HTTP exchange with this server gives, without the
        loopback round trip (a thread hand-off per read): the document parsed, ``error``
        raised as the reader raises it for a status other than 200 or a body that is not
        JSON, TimeoutError when the answer took longer than ``budget_s``."""
        started = self.clock.now
        status, body = self.answer(target)
        if self.clock.now - started >= budget_s:
            raise TimeoutError("flag read exceeded its budget")
        if status != 200:
            raise error(f"extension answered status={status}")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise error("extension answered malformed JSON") from None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
