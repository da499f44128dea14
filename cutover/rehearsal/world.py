"""The pieces a rehearsal runs on, wired together: PostgreSQL, the Lambda and AppConfig
stand-ins, the functions' environments and the hooks that inject latency and faults."""

from __future__ import annotations

import os
import random
import socket
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cutover.runtime import env as env_keys

from .appconfig import Agent, AgentServer, AppConfig, Monitor, Strategy
from .appconfig_api import ControlPlane, ControlPlaneServer
from .appconfigdata_api import DataPlane, DataPlaneServer
from .clock import VirtualClock, patch_datetime
from .database import Database
from .faults import FaultBoard
from .lambda_service import Environment, Function, LambdaService, StandinClient, Version
from .population import LatencyModel
from .release import ACCOUNT, function_environment, module_names
from .scenario import Divergence, Fault, Scenario

REAL_FLAG_BUDGET_MS = 5000
GUARD_MODULE = "guard"
# The guard's strategy as the feature_flags module creates it: all at once, no bake.
GUARD_STRATEGY = Strategy("guard", 0.0, 0.0, "LINEAR", 100.0)
PROCESS_ENVIRON = ("AWS_ENDPOINT_URL_APPCONFIGDATA", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                   "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
UNRESERVED_ENVIRONMENTS = 1000  # no reserved concurrency: the account's default limit


def _reserved(fn_spec: Any) -> int:
    """Most execution environments: the function's reserved concurrency (from the spec)."""
    reserved = getattr(fn_spec, "reserved_concurrency", None)
    return int(reserved) if reserved else UNRESERVED_ENVIRONMENTS


def _by_suffix(resolved: dict[str, str]) -> Any:
    """Resolve a Terraform reference (``module.x.application_id``) by its last name."""

    def resolve(reference: str) -> str | None:
        return resolved.get(reference.rsplit(".", 1)[-1])

    return resolve


class InjectedFault(RuntimeError):
    """A failure the scenario injects into the candidate's read."""


def closed_port() -> int:
    """A loopback port nobody listens on (a database outage points the candidate there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hooks:
    """Called by the stand-ins: latency draws, environment init, the fault checks."""

    def __init__(self, world: World) -> None:
        self.world = world
        seed = world.scenario.seed
        lat = world.scenario.latency
        self.rng = random.Random(f"faults:{seed}")
        self.latency = {name: LatencyModel(getattr(lat, name), random.Random(f"latency:{name}:{seed}"))
                        for name in ("control", "database", "invoke", "flags_fetch")}
        self.async_rng = random.Random(f"async:{seed}")

    def init_seconds(self, fn: Function) -> float:
        return self.world.scenario.latency.cold_start_ms.get(fn.role, 300.0) / 1000.0

    def invoke_seconds(self) -> float:
        return self.latency["invoke"].draw()

    def flags_fetch_seconds(self) -> float:
        return self.latency["flags_fetch"].draw()

    def async_delay(self) -> float:
        return 0.02 + 0.2 * self.async_rng.random()

    def initialised(self, fn: Function, env: Environment) -> None:
        if fn.role == "router":
            self.world.attach_router(env)
        elif fn.role == "candidate":
            self.world.attach_candidate(env)
        elif fn.role == "controller":  # it reads the date to find its window (datetime.now)
            patch_datetime(env.modules.modules.values(), self.world.clock)

    def entering(self, fn: Function, env: Environment) -> None:
        if fn.role == "router":
            self.world.agents.agent = self.world.agent_of[env.id]

    def returned(self, fn: Function, env: Environment) -> None:
        if fn.role == "router" and env.state is not None:
            shadow = env.state.shadow
            if shadow.pending:  # the shadow-drain extension holds the environment
                queue = getattr(shadow, "_queue", None)
                if isinstance(queue, _InlineQueue):
                    queue.run(shadow)
                else:
                    shadow.drain(10.0)

    def retired(self, fn: Function, env: Environment) -> None:
        self.world.agent_of.pop(env.id, None)
        if fn.role == "candidate" and env.state is not None:
            with env.modules.active():
                env.state.store.close()


class _InlineDeadline:
    """The router's canary deadline runner on the virtual clock: the exchange runs on the
    caller's thread. A real-time deadline means nothing on simulated time (nothing waits);
    the simulated one is the Lambda stand-in's read timeout and the router's own check of
    the elapsed time, which both still apply. No thread hand-off per canary request."""

    def run(self, exchange: Any, timeout_s: float) -> Any:
        return exchange()


class _Drained(Exception):
    """The inline dispatch queue is empty: the dispatcher's worker loop returns."""


class _InlineQueue:
    """The router's shadow dispatch queue, worked off on the caller's thread when the
    invocation returns (where the shadow-drain extension waits for it): the dispatcher's
    own worker loop builds and sends each event, with no worker thread to hand off to.
    On simulated time nothing runs between the handler's return and the drain, so the
    events, their timestamps and their order are the same."""

    def __init__(self) -> None:
        self.items: deque[Any] = deque()

    def put(self, item: Any) -> None:
        self.items.append(item)

    def get(self) -> Any:
        if not self.items:
            raise _Drained
        return self.items.popleft()

    def run(self, dispatcher: Any) -> None:
        try:
            dispatcher._run()  # the dispatcher's own loop, on this thread
        except _Drained:
            with dispatcher._idle:
                dispatcher._free -= 1  # the loop counted itself waiting


_INLINE_DISPATCH_NEEDS = ("_queue", "_run", "_idle", "_free", "_max_workers")


def _dispatch_inline(dispatcher: Any) -> None:
    """No worker threads for the router's shadow dispatcher: its queue is worked off by
    ``Hooks.returned``. A dispatcher of another shape keeps its threads (and is drained)."""
    if all(hasattr(dispatcher, name) for name in _INLINE_DISPATCH_NEEDS):
        dispatcher._max_workers = 0
        dispatcher._queue = _InlineQueue()


@dataclass
class PathRig:
    name: str
    flag_key: str
    router: Function
    candidate: Function
    router_env: dict[str, str]
    canary_timeout_s: float


class World:
    def __init__(self, spec: Any, spec_file: str, scenario: Scenario, build_dir: Path,
                 database: Database, clock: VirtualClock, publish: Any, ingest: Any,
                 rollback_alarm: str, appconfig_changed: Any, alarms: Any) -> None:
        self.spec, self.spec_file, self.scenario = spec, spec_file, scenario
        self.clock = clock
        self.database = database
        self.faults = FaultBoard(scenario.faults)
        self.hooks = Hooks(self)
        ac = spec.delivery.appconfig
        self.appconfig = AppConfig(ac.application, ac.environment or spec.release.environment, ac.profile)
        # flags roll out all at once; the bake is the monitor window (generator/spec/model.py)
        self.ramp_strategy = Strategy("ramp", 0.0, ac.final_bake_minutes * 60.0, "LINEAR", 100.0)
        self.appconfig.strategies[self.ramp_strategy.id] = self.ramp_strategy
        self.guard_strategy = GUARD_STRATEGY
        self.appconfig.strategies[GUARD_STRATEGY.id] = GUARD_STRATEGY
        self.appconfig.listeners.append(appconfig_changed)
        self.monitor = Monitor(self.appconfig, lambda: alarms.state(alarms.composite_name),
                               scenario.world.appconfig_monitor, scenario.world.started_in_alarm)
        self.appconfig.listeners.append(self.monitor.told)  # told after the run's own listener
        self.control_fails = False  # set per request by the engine (fault control_errors)
        self.agents = AgentServer(self.appconfig, clock, self.hooks)
        self.agents.outage = self.faults.agent_status
        # AppConfig's data plane: where a router reads its flags when its agent fails
        self.data_plane = DataPlaneServer(DataPlane(self.appconfig, clock))
        # What every function's boto3 finds at any time (Lambda gives a function its
        # environment for its whole life; the rehearsal sets it only around init, so a
        # client made later reads the process's): the loopback data plane, the region and
        # credentials that are not anyone's. Restored by close().
        self._saved_environ = {k: os.environ.get(k) for k in PROCESS_ENVIRON}
        os.environ.update({"AWS_ENDPOINT_URL_APPCONFIGDATA": self.data_plane.url,
                           "AWS_REGION": spec.release.region, "AWS_DEFAULT_REGION": spec.release.region,
                           "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"})
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        self._unshare_botocore_data = _share_botocore_data()
        self.agent_of: dict[str, Agent] = {}
        self.lambda_ = LambdaService(clock, random.Random(f"lambda:{scenario.seed}"), publish, ingest,
                                     self.hooks, scenario.environments.lifetime_minutes * 60.0)
        self.dead_port = closed_port()
        self.paths = [self._path(i, build_dir) for i in range(len(spec.read_paths))]
        self.canary_flags = [rig.flag_key for rig in self.paths]
        first = self.paths[0]
        self.router, self.candidate, self.router_env = first.router, first.candidate, first.router_env
        self.canary_timeout_s = first.canary_timeout_s
        self.poll_interval_s = float(first.router_env.get("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "45"))
        self.flags_ttl_s = float(first.router_env.get(env_keys.FLAGS_TTL_MS, "0")) / 1000
        self.control_plane = ControlPlaneServer(ControlPlane(self.appconfig, clock, lambda deployment: None))
        self.rollback_alarm = rollback_alarm
        self.alarms = alarms
        self.guard = self._guard(build_dir, rollback_alarm)

    def _guard(self, build_dir: Path, rollback_alarm: str) -> Function | None:
        """The guard function (docs/functions.md, Guard): the real handler from its zip, reserved concurrency 1,
        its boto3 clients pointed at the loopback stand-ins of AppConfig, CloudWatch
        (DescribeAlarms) and SNS (Publish). Its environment is the plan's guard module's
        when the plan has one, else the one docs/functions.md specifies, built here."""
        from .functions import package_path

        spec = self.spec
        zip_path = build_dir / "functions" / "guard.zip"
        if not zip_path.is_file():
            return None
        from .guard_apis import GuardApis

        self.guard_apis = GuardApis(self, rollback_alarm)
        ids = self.appconfig.ids
        kms = f"arn:aws:kms:{spec.release.region}:{ACCOUNT}:key/rehearsal"
        resolved = {"application_id": ids["application"], "environment_id": ids["environment"],
                    "profile_id": ids["profile"], "guard_strategy_id": GUARD_STRATEGY.id,
                    "key_arn": kms, "rollback_alarm_name": rollback_alarm, "topic_arn": self.guard_apis.topic_arn}
        if GUARD_MODULE in module_names(spec, self.spec_file):
            environment = function_environment(spec, self.spec_file, GUARD_MODULE, resolver=_by_suffix(resolved))
        else:
            environment = {env_keys.GUARD_APPLICATION_ID: ids["application"],
                           env_keys.GUARD_ENVIRONMENT_ID: ids["environment"],
                           env_keys.GUARD_PROFILE_ID: ids["profile"],
                           env_keys.GUARD_STRATEGY_ID: GUARD_STRATEGY.id, env_keys.GUARD_KMS_KEY_ARN: kms,
                           env_keys.GUARD_CANARY_FLAGS: ",".join(self.canary_flags),
                           env_keys.GUARD_ALARM_NAME: rollback_alarm,
                           env_keys.GUARD_TOPIC_ARN: self.guard_apis.topic_arn,
                           env_keys.RELEASE: spec.release.name}
        environment.update({**self.guard_apis.endpoints(), "AWS_REGION": spec.release.region,
                            "AWS_DEFAULT_REGION": spec.release.region,
                            # the stand-ins do not check signatures; boto3 needs something to sign with
                            "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"})
        function = getattr(getattr(spec, "guard", None), "function", None)
        name = function.name if function is not None else f"{spec.release.name}-guard"
        timeout = float(function.timeout_s) if function is not None else 30.0
        fn = Function(name, "live", "guard", timeout, 1)  # reserved concurrency 1
        fn.versions["1"] = Version("1", package_path(build_dir, "guard"), "guard.handler", None, environment,
                                   environ_per_invoke=True)
        fn.routing = {"1": 1.0}
        self.lambda_.add(fn)
        return fn

    def _path(self, index: int, build_dir: Path) -> PathRig:
        """One read path: its router (the control) and candidate functions, as the plan's
        function modules of that path configure them."""
        spec, spec_file = self.spec, self.spec_file
        path = spec.read_paths[index]
        module = path.name.replace("-", "_")
        router_env = function_environment(spec, spec_file, f"{module}_control", path_index=index)
        router_env[env_keys.APPCONFIG_URL] = self.agents.url
        router_env.update({"AWS_ENDPOINT_URL_APPCONFIGDATA": self.data_plane.url,
                           # the stand-ins do not check signatures; boto3 needs something to sign with
                           "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"})
        # The flag read's budget is also a real socket timeout; a thread hand-off on a busy
        # machine can take longer than 50 ms of real time. The simulated read takes the
        # modelled agent latency, far below the budget, whatever the real time.
        router_env[env_keys.FLAGS_BUDGET_MS] = str(max(REAL_FLAG_BUDGET_MS,
                                                        float(router_env.get(env_keys.FLAGS_BUDGET_MS, 0))))
        candidate_env = function_environment(spec, spec_file, f"{module}_candidate", path_index=index)
        candidate_env.pop(env_keys.SHADOW_LEDGER_TABLE, None)  # no DynamoDB: one delivery per event
        candidate_env.update(self.database.candidate_environment())
        for env in (router_env, candidate_env):
            env.update({"AWS_REGION": spec.release.region, "AWS_DEFAULT_REGION": spec.release.region})
        envs = self.scenario.environments
        router = self._function(path.control, path.alias, "router", build_dir, "router.handler",
                                "router", router_env, envs.router or _reserved(path.control))
        candidate = self._function(path.candidate, path.alias, "candidate", build_dir,
                                   "candidate.handler", "candidate", candidate_env,
                                   envs.candidate or _reserved(path.candidate))
        timeout = float(router_env.get(env_keys.CANARY_TIMEOUT_MS, "1500")) / 1000
        return PathRig(path.name, router_env[env_keys.CANARY_FLAG], router, candidate, router_env, timeout)

    def _function(self, fn_spec: Any, alias: str, role: str, build_dir: Path, handler: str,
                  init: str, environment: dict[str, str], most: int) -> Function:
        from .functions import package_path

        fn = Function(fn_spec.name, alias, role, float(fn_spec.timeout_s), most)
        fn.versions["1"] = Version("1", package_path(build_dir, role), handler, init, environment)
        fn.routing = {"1": 1.0}
        self.lambda_.add(fn)
        return fn

    # -- environments ----------------------------------------------------------------
    def attach_router(self, env: Environment) -> None:
        inject = env.modules.module("cutover_runtime.aws").inject
        inject("lambda", StandinClient(self.lambda_, self._rig_of(env).canary_timeout_s), "canary")
        inject("lambda", StandinClient(self.lambda_, 3.0), "shadow")
        env.state.random = random.Random(f"shadow-sample:{self.scenario.seed}:{env.id}").random
        router = env.state  # the environment's Router: its control is user_profile.mock's
        if hasattr(router, "canary_calls"):
            router.canary_calls = _InlineDeadline()
        self._read_flags_in_process(env, router.flags)
        _dispatch_inline(router.shadow)
        backend = router.control
        control = self.hooks.latency["control"]
        clock = self.clock

        world = self

        def mock_backend(user_id: str) -> Any:
            clock.advance(control.draw())
            if world.control_fails:
                raise InjectedFault("injected control failure")
            return backend(user_id)

        router.control = mock_backend
        unavailable = self.faults.flags_unavailable_seconds(self.clock.now)
        self.agent_of[env.id] = Agent(env.id, env.born, self.poll_interval_s,
                                      env.born + unavailable if unavailable else 0.0)
        self.agents.agent = self.agent_of[env.id]

    def _read_flags_in_process(self, env: Environment, flags: Any) -> None:
        """The router's flag reads reach the agent stand-in by a call instead of loopback
        HTTP: the same answers, statuses, errors and simulated latency, and the reader's
        TTL, budget, fallbacks and logs are its own (only its transport is replaced)."""
        reader = env.modules.module("cutover_runtime.flag_reader")
        target, budget = getattr(flags, "_target", None), getattr(flags, "_budget", None)
        if target is None or budget is None or not hasattr(flags, "_fetch"):
            return  # a reader of another shape keeps its HTTP exchange
        fetch, error = self.agents.fetch, reader.FlagsError
        flags._fetch = lambda: fetch(target, budget, error)

    def _rig_of(self, env: Environment) -> PathRig:
        for rig in self.paths:
            if env in rig.router.environments or env in rig.candidate.environments:
                return rig
        return self.paths[0]

    def attach_candidate(self, env: Environment) -> None:
        store = env.state.store
        read = store.profile
        database = self.hooks.latency["database"]
        clock, faults, service, rng = self.clock, self.faults, self.lambda_, self.hooks.rng
        slow = self._rig_of(env).canary_timeout_s + 1.0
        if faults.database_down:
            env.state.saved_settings = store.settings
            store.settings = replace(store.settings, port=self.dead_port, host="127.0.0.1")

        def profile(user_id: str) -> Any:
            clock.advance(database.draw())
            kind = service.current_kind
            rate = faults.candidate_error_rate(kind)
            if rate and rng.random() < rate:
                raise InjectedFault("injected candidate failure")
            share = faults.candidate_timeout_share() if kind == "canary" else 0.0
            if share and rng.random() < share:
                clock.advance(slow)  # the router's canary read times out before this answer
            return read(user_id)

        store.profile = profile

    def database_outage(self, down: bool) -> None:
        """Cut (or restore) every candidate environment's route to PostgreSQL."""
        self.faults.database_down = down
        for env in [e for rig in self.paths for e in rig.candidate.environments]:
            if env.state is None:
                continue
            store = env.state.store
            with env.modules.active():
                store.close()
            if down:
                env.state.saved_settings = store.settings
                store.settings = replace(store.settings, port=self.dead_port, host="127.0.0.1")
            elif hasattr(env.state, "saved_settings"):
                store.settings = env.state.saved_settings

    def apply_fault(self, fault: Fault, on: bool, t: float) -> str:
        """A fault starts (``on``) or ends at ``t``: what it changes in the world; returns
        what the event should add (the rows a divergence changed)."""
        if fault.kind == "latency":
            model = self.hooks.latency[fault.target]
            model.factor, model.add_ms = (fault.factor, fault.add_ms) if on else (1.0, 0.0)
        elif fault.kind == "database_outage":
            self.database_outage(on)
        elif fault.kind == "divergence" and on:
            changed = self.database.execute(*divergence_sql(fault))
            return f" ({changed} rows changed in PostgreSQL)"
        elif fault.kind == "agent_outage":
            self.lambda_.churn_s = self.faults.recycle_seconds()
            if on and self.lambda_.churn_s:
                self.lambda_.shorten_lifetimes(self.router, t, self.lambda_.churn_s)
        return ""

    def close(self) -> None:
        if getattr(self, "guard_apis", None) is not None:
            self.guard_apis.close()
        for fn in [f for rig in self.paths for f in (rig.router, rig.candidate)]:
            for env in fn.environments:
                self.hooks.retired(fn, env)
            fn.environments = []
        self.agents.close()
        self.control_plane.close()
        self.data_plane.close()
        self._unshare_botocore_data()
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _share_botocore_data() -> Any:
    """Every boto3 session the functions make during the run reads botocore's data files
    (endpoints, service models) through one loader, parsed once: a function's cold start
    (the guard's three clients, a router's data-plane client) costs its simulated time,
    not half a second of parsing the same JSON again. Each client is still made from its
    own session with its own settings. Returns what puts botocore back."""
    try:
        import botocore.session as botocore_session
    except ImportError:  # no boto3: no function that could use it
        return lambda: None
    original = botocore_session.create_loader
    loaders: dict[Any, Any] = {}

    def create_loader(search_path_string: Any = None) -> Any:
        loader = loaders.get(search_path_string)
        if loader is None:
            loader = loaders[search_path_string] = original(search_path_string)
        return loader

    botocore_session.create_loader = create_loader

    def restore() -> None:
        botocore_session.create_loader = original

    return restore


def divergence_sql(fault: Divergence) -> tuple[str, dict[str, Any]]:
    """The UPDATE that makes the candidate's copy of a share of the users differ."""
    column, change = {
        "plan": ("plan", "CASE plan WHEN 'free' THEN 'pro' WHEN 'pro' THEN 'team' ELSE 'free' END"),
        "displayName": ("display_name", "display_name || ' Jr'"),
        "email": ("email", "'x' || email"),
        "createdAt": ("created_at", "created_at + interval '1 day'"),
    }[fault.field]
    where = ["(abs(hashtext(user_id)) %% 100000) < %(cut)s"]
    if fault.plan:
        where.append("plan = %(plan)s")
    sql = f"UPDATE users SET {column} = {change} WHERE {' AND '.join(where)}"
    return sql, {"cut": round(fault.share * 100000), "plan": fault.plan}
