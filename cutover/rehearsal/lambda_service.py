"""A local stand-in of the Lambda Invoke API, in process, on the virtual clock.

* Functions have published versions and an alias (``live``) whose routing CodeDeploy
  shifts; each version runs in long-lived execution environments (a ModuleSet each),
  created on demand up to a limit (a cold start: init time, then the handler), reused
  warm-first, and recycled after their lifetime.
* ``RequestResponse`` invokes run the target at once on the caller's timeline and answer
  as boto3's ``invoke`` does (``StatusCode``, ``FunctionError``, ``Payload``); a caller's
  read timeout raises botocore's ``ReadTimeoutError``.
* ``Event`` invokes are queued (202) and run later by the engine; Lambda's retries are
  0 (the shadow module's ``maximum_retry_attempts = 0``), so a failed event goes to the
  on-failure destination (the DLQ list here) at once.
* Every invocation publishes what Lambda publishes to CloudWatch: ``AWS/Lambda``
  ``Invocations``, ``Errors`` and ``Duration`` per function and per alias
  (``FunctionName`` + ``Resource`` = ``name:alias``), and sends the function's stdout
  (EMF documents and log lines) to the telemetry sink.
"""

from __future__ import annotations

import io
import json
import sys
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import VirtualClock
from .functions import ModuleSet, environ, init_environment

ERROR_TYPES = ("Unhandled",)


@dataclass
class Version:
    number: str
    zip_path: Path
    handler_module: str
    init: str
    environment: dict[str, str]
    environ_per_invoke: bool = False  # the handler reads os.environ at each invocation


@dataclass
class Environment:
    id: str
    version: Version
    modules: ModuleSet
    born: float
    expires: float
    busy_until: float = 0.0
    last_used: float = 0.0
    invocations: int = 0
    state: Any = None


@dataclass
class Function:
    name: str
    alias: str
    role: str  # router | candidate
    timeout_s: float
    max_environments: int
    versions: dict[str, Version] = field(default_factory=dict)
    routing: dict[str, float] = field(default_factory=dict)  # version -> weight
    environments: list[Environment] = field(default_factory=list)

    @property
    def resource(self) -> str:
        return f"{self.name}:{self.alias}"

    @property
    def dims(self) -> tuple[tuple[str, str], ...]:
        return (("FunctionName", self.name), ("Resource", self.resource))


@dataclass
class Result:
    payload: Any
    function_error: str | None
    duration_s: float
    version: str
    cold: bool
    throttled: bool = False


class _Sink:
    """sys.stdout while a function runs: its lines, kept for the telemetry sink."""

    __slots__ = ("parts", "write")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.write = self.parts.append

    def flush(self) -> None:
        return None


class LambdaService:
    def __init__(self, clock: VirtualClock, rng: Any, publish: Callable[..., None],
                 ingest: Callable[[str, str, list[str]], None],
                 hooks: Any, lifetime_s: float) -> None:
        self.clock = clock
        self.rng = rng
        self.publish = publish  # publish(namespace, name, dims, t, value)
        self.ingest = ingest  # ingest(role, kind, lines)
        self.hooks = hooks  # cold-start and latency hooks of the engine
        self.lifetime_s = lifetime_s
        self.functions: dict[str, Function] = {}
        self.queue: deque[tuple[float, str, bytes]] = deque()
        self.dlq: list[dict[str, Any]] = []
        self.cold_starts: dict[str, int] = {}
        self.current_kind = "sync"
        self.churn_s: float | None = None  # routers recycled this often (fault agent_outage)
        self._ids = 0

    def add(self, function: Function) -> None:
        self.functions[function.name] = function

    def function_for(self, name_or_arn: str) -> Function:
        name = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        return self.functions[name]

    # -- environments ------------------------------------------------------------------
    def _environment(self, fn: Function, version: Version, t: float) -> tuple[Environment | None, bool]:
        """A free environment of that version, the most recently used first (warm), else a
        new one (cold) if the function may have one more; None when throttled."""
        best, expired = None, False
        for env in fn.environments:
            if env.busy_until > t:
                continue
            if env.expires <= t:
                expired = True
            elif env.version is version and (best is None or env.last_used > best.last_used):
                best = env
        if expired:
            self._retire(fn, t)
        if best is not None:
            return best, False
        live = fn.environments
        if len(live) >= fn.max_environments:
            idle_other = [e for e in live if e.busy_until <= t and e.version is not version]
            if not idle_other:
                return None, False
            fn.environments.remove(min(idle_other, key=lambda e: (e.last_used, e.id)))
        self._ids += 1
        jitter = 0.75 + 0.5 * self.rng.random()
        lifetime = self.churn_s if self.churn_s and fn.role == "router" else self.lifetime_s
        env = Environment(id=f"{fn.name}-{version.number}-{self._ids}", version=version,
                          modules=ModuleSet(version.zip_path, version.handler_module, self.clock),
                          born=t, expires=t + lifetime * jitter)
        fn.environments.append(env)
        self.cold_starts[fn.role] = self.cold_starts.get(fn.role, 0) + 1
        return env, True

    def shorten_lifetimes(self, fn: Function, t: float, lifetime_s: float) -> None:
        """Churn: every environment of ``fn`` is recycled within ``lifetime_s`` from ``t``."""
        for env in fn.environments:
            env.expires = min(env.expires, t + lifetime_s * (0.25 + 0.75 * self.rng.random()))

    def _retire(self, fn: Function, t: float) -> None:
        keep = []
        for env in fn.environments:
            if env.expires <= t and env.busy_until <= t:
                self.hooks.retired(fn, env)
            else:
                keep.append(env)
        fn.environments = keep

    def _pick_version(self, fn: Function) -> Version:
        if len(fn.routing) == 1:
            return fn.versions[next(iter(fn.routing))]
        draw, total = self.rng.random(), 0.0
        for number, weight in sorted(fn.routing.items()):
            total += weight
            if draw < total:
                return fn.versions[number]
        return fn.versions[max(fn.routing)]

    # -- invoke ------------------------------------------------------------------------
    def run(self, fn: Function, event: Any, t: float, kind: str) -> Result:
        """One invocation starting at ``t`` on its own timeline; the clock ends at its end."""
        version = self._pick_version(fn)
        env, cold = self._environment(fn, version, t)
        if env is None:
            self.clock.set(t)
            self.publish("AWS/Lambda", "Throttles", fn.dims, t, 1.0)
            return Result({"errorType": "TooManyRequestsException"}, "Throttled", 0.0,
                          version.number, False, throttled=True)
        self.clock.set(t)
        sink = _Sink()
        saved_stdout, saved_kind = sys.stdout, self.current_kind
        sys.stdout, self.current_kind = sink, kind
        error: str | None = None
        try:
            if cold:
                self.clock.advance(self.hooks.init_seconds(fn))
                try:
                    env.state = init_environment(env.modules, version.environment, version.init)
                    self.hooks.initialised(fn, env)
                except Exception as exc:  # noqa: BLE001 - an init error fails the invocation
                    fn.environments.remove(env)
                    error = "Unhandled"
                    payload: Any = {"errorType": "Runtime.InitError",
                                    "errorMessage": exc.__class__.__name__}
            started = self.clock.now
            if error is None:
                with env.modules.active() as handler, _environ_if(version):
                    self.hooks.entering(fn, env)
                    try:
                        payload = handler.lambda_handler(event, None)
                    except Exception as exc:  # noqa: BLE001 - Lambda reports it as FunctionError
                        error = "Unhandled"
                        payload = {"errorType": exc.__class__.__name__, "errorMessage": str(exc)[:200]}
                    self.hooks.returned(fn, env)
            duration = self.clock.now - started
            if duration > fn.timeout_s:
                error, duration = "Unhandled", fn.timeout_s
                payload = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}
                self.clock.set(started + fn.timeout_s)
        finally:
            sys.stdout, self.current_kind = saved_stdout, saved_kind
        env.busy_until = self.clock.now
        env.last_used = t
        env.invocations += 1
        self._metrics(fn, t, duration, error is not None)
        self.ingest(fn.role, kind, sink.parts)
        return Result(payload, error, duration, version.number, cold)

    def _metrics(self, fn: Function, t: float, duration: float, failed: bool) -> None:
        # Lambda also publishes per function (FunctionName alone) and per version; the
        # alarms read the alias (FunctionName + Resource), so only that set is kept.
        dims = fn.dims
        publish = self.publish
        publish("AWS/Lambda", "Invocations", dims, t, 1.0)
        publish("AWS/Lambda", "Errors", dims, t, 1.0 if failed else 0.0)
        publish("AWS/Lambda", "Duration", dims, t, duration * 1000.0)

    # -- asynchronous invokes ----------------------------------------------------------
    def enqueue(self, target: str, payload: bytes) -> None:
        self.queue.append((self.clock.now + self.hooks.async_delay(), target, payload))

    def run_queued(self, until: float) -> int:
        """Run the queued events due before ``until``; a failure goes to the DLQ (no retry)."""
        done = 0
        while self.queue and self.queue[0][0] <= until:
            due, target, payload = self.queue.popleft()
            fn = self.function_for(target)
            result = self.run(fn, json.loads(payload), due, "shadow")
            if result.function_error or result.throttled:
                self.dlq.append({"minute": int(due // 60), "function": fn.name,
                                 "error": (result.payload or {}).get("errorType", "")})
            done += 1
        return done


def _environ_if(version: Version) -> Any:
    return environ(version.environment) if version.environ_per_invoke else nullcontext()


class StandinClient:
    """What ``cutover_runtime.lambda_client.lambda_client()`` (``aws.client``) returns inside the rehearsal:
    boto3's Lambda client surface the functions use (``invoke``, ``meta.events``)."""

    def __init__(self, service: LambdaService, timeout_s: float) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self.meta = _Meta()

    def invoke(self, FunctionName: str, InvocationType: str = "RequestResponse",
               Payload: bytes = b"", **_: Any) -> dict[str, Any]:
        service = self.service
        self.meta.events.emit("before-send.lambda.Invoke")
        if InvocationType == "Event":
            service.enqueue(FunctionName, Payload)
            return {"StatusCode": 202, "Payload": io.BytesIO(b"")}
        caller_now = service.clock.now
        service.clock.advance(service.hooks.invoke_seconds())
        result = service.run(service.function_for(FunctionName), json.loads(Payload),
                             service.clock.now, "canary")
        if result.throttled:
            service.clock.set(caller_now)
            raise _throttled()
        if service.clock.now - caller_now > self.timeout_s:
            service.clock.set(caller_now + self.timeout_s)
            from botocore.exceptions import ReadTimeoutError

            raise ReadTimeoutError(endpoint_url=f"lambda://{FunctionName}")
        body = json.dumps(result.payload).encode()
        response = {"StatusCode": 200, "ExecutedVersion": result.version, "Payload": io.BytesIO(body)}
        if result.function_error:
            response["FunctionError"] = result.function_error
        return response


def _throttled() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}},
                       "Invoke")


class _Events:
    def __init__(self) -> None:
        self.handlers: dict[str, list[Callable[..., Any]]] = {}

    def register(self, name: str, handler: Callable[..., Any]) -> None:
        self.handlers.setdefault(name, []).append(handler)

    def emit(self, name: str) -> None:
        for handler in self.handlers.get(name, ()):
            handler(event_name=name)


class _Meta:
    def __init__(self) -> None:
        self.events = _Events()


# -- CodeDeploy ------------------------------------------------------------------------
THROTTLE_RETRY_S = (1.0, 5.0)  # Lambda retries a throttled asynchronous event (seeded)


def invoke_async(service: LambdaService, fn: Function, event: Any, t: float, kind: str,
                 later: Callable[[float, Callable[[float], None]], None], rng: Any,
                 done: Callable[[float, Result], None]) -> None:
    """An asynchronous invocation (EventBridge's): throttled, Lambda retries it a few
    seconds later (``later(t, action)`` schedules on the run's timeline); ``done`` gets
    the invocation that ran."""
    result = service.run(fn, event, t, kind)
    if result.throttled:
        later(t + rng.uniform(*THROTTLE_RETRY_S),
              lambda due: invoke_async(service, fn, event, due, kind, later, rng, done))
        return
    done(t, result)


@dataclass
class CodeDeployment:
    """CodeDeploy shifting a function's alias to version 2 on its plan (minutes after the
    start, share on the new version). It polls the deployment group's alarms only while
    it runs; one in ALARM stops it and puts the alias back on version 1."""

    function: Function
    started: int
    plan_name: str
    plan: tuple[tuple[float, float], ...]
    done: bool = False
    rolled_back: bool = False

    @classmethod
    def start(cls, fn: Function, environment: dict[str, str], plan_name: str,
              plan: tuple[tuple[float, float], ...], minute: int) -> CodeDeployment:
        """Version 2: version 1's code with ``environment`` over its environment."""
        base = fn.versions["1"]
        fn.versions["2"] = Version("2", base.zip_path, base.handler_module, base.init,
                                   {**base.environment, **environment})
        return cls(fn, minute, plan_name, plan)

    def shift(self, minute: int) -> bool:
        """The alias' weights at ``minute``; True when this shift completes the deployment."""
        if self.done:
            return False
        elapsed = minute - self.started
        share = 0.0
        for at, value in self.plan:
            if elapsed >= at:
                share = value
        if share >= 1.0:
            self.function.routing = {"2": 1.0}
            self.done = True
            return True
        self.function.routing = {"1": 1.0 - share, "2": share}
        return False

    def watch(self, firing: list[str]) -> bool:
        """The deployment group's alarms in ALARM now; True when that stops the deployment."""
        if self.done or not firing:
            return False
        self.done = self.rolled_back = True
        self.function.routing = {"1": 1.0}
        return True

    @property
    def state(self) -> str:
        return "rolled_back" if self.rolled_back else "succeeded" if self.done else "in progress"
