"""Router handler (``router.handler.lambda_handler``): routes each request to the control
or the canary and tees shadow traffic. The control's answer comes from the read path's
mock control, ``user_profile.mock`` (vendored from the example; this function is also the
control until the cutover completes), and a canary answer is checked against its read
model, ``user_profile.read_model``; what a request came to
is an ``router.outcome.Outcome``.

Safe first: whatever the flags, the candidate or the shadow dispatch do, the caller
gets the control's answer unless the spec turned canary fallback off. Every request
leaves one EMF document that is also its ``REQUEST`` log line (one encode, one write)
and, when traced, an X-Ray subsegment.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from cutover_runtime import metrics as emf
from cutover_runtime.assignment import assign
from cutover_runtime.deadline import DeadlineRunner
from cutover_runtime.extension import ShadowDrainExtension, start_shadow_drain
from cutover_runtime.flag_direct import DirectFlagReader
from cutover_runtime.flag_reader import FlagCache
from cutover_runtime.lambda_client import lambda_client
from cutover_runtime.request import ReadRequest, answer, parse_request
from cutover_runtime.shadow import SHADOW_INVOKE_TIMEOUT_S, ShadowDispatcher, build_shadow_event
from cutover_runtime.telemetry import Identity, MetricBatch, Tracer, log_event, log_members
from user_profile.mock import control_answer
from user_profile.read_model import WrongUser, validate_profile

from . import outcome
from .outcome import Outcome
from .settings import RouterSettings

_perf = time.perf_counter

# Our own modules this handler imports on first use, not at init (a cold start whose shadow
# is off and whose trace is unsampled needs none of them). The rehearsal loads them into
# each execution environment's module set with the handler (cutover/rehearsal/functions.py).
FIRST_USE_MODULES = ("cutover_runtime.compare", "cutover_runtime.xray")


class CanaryFailure(Exception):
    """The candidate did not give a usable answer; ``reason`` is what the logs carry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Router:
    """Everything an execution environment keeps between invocations."""

    def __init__(self, settings: RouterSettings, identity: Identity, tracer: Tracer,
                 control: Callable[[str], dict[str, Any]] = control_answer,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.control = control  # the backend this router also is (user_profile.mock)
        self.identity = identity
        self.tracer = tracer
        self.flags = FlagCache(settings.appconfig_url, settings.appconfig_application,
                               settings.appconfig_environment, settings.appconfig_profile,
                               settings.canary_flag, settings.shadow_flag,
                               settings.flags_ttl_ms, settings.flags_budget_ms, identity,
                               clock=clock, direct=_direct_reader(settings))
        self.shadow = ShadowDispatcher(
            settings.candidate_arn, settings.shadow_dispatch_budget_ms, identity,
            client_factory=lambda: lambda_client("shadow", SHADOW_INVOKE_TIMEOUT_S))
        self.canary_calls = DeadlineRunner(name="canary")
        self.random = random.random
        self._redact_paths: frozenset[tuple[str, ...]] | None = None  # by the first tee
        self._members: dict[Outcome, str] = {}  # each outcome's REQUEST members, encoded once
        self._control_members = self._encode_members(outcome.CONTROL)  # the common one

    # -- one request --------------------------------------------------------------------
    def handle(self, event: Any) -> Any:
        started = _perf()
        metrics = MetricBatch(self.identity)
        metrics.add(emf.REQUESTS)
        request = parse_request(event)
        routed = "control"
        try:
            flags = self.flags.get()
            sticky = request.sticky_value(flags.sticky_key)
            assignment = assign(flags.salt, sticky, flags.percent)
            if request.user_id is None:  # missing, or not something that can name a user
                response = answer(request, 400, {"error": request.problem})
                self._finish(request, metrics, started, assignment, outcome.CONTROL)
                return response
            if assignment.canary and self.settings.candidate_arn:
                routed = "canary"
                return self._canary(request, metrics, started, assignment, flags.step)
            control_started = _perf()
            body = self.control(request.user_id)
            control_ms = (_perf() - control_started) * 1000
            shadow = (flags.shadow_enabled and bool(self.settings.candidate_arn)
                      and self.random() < flags.sample_rate)
            response = answer(request, 200, body)
            self._finish(request, metrics, started, assignment,
                         outcome.CONTROL_SHADOWED if shadow else outcome.CONTROL, flags.step)
            if shadow:
                # last: once the dispatch worker wakes it competes for the GIL, and the
                # request has nothing left to do but return
                self._tee(request, body, control_ms, assignment.user_hash,
                          flags.shadow_timeout_ms)
            return response
        except Exception as exc:  # noqa: BLE001 - the caller always gets an answer
            # A defect in routing must not cost the user the control's answer, but it is
            # a defect of the router's code all the same: Errors, which the served-error
            # alarm reads, so a bad router version that always falls back still rolls
            # back (contracts.md §5).
            metrics.add(emf.ERRORS)
            status, body, fallback = 500, {"error": "internal error"}, 0
            if request.user_id is not None:
                try:
                    status, body, fallback = 200, self.control(request.user_id), 1
                except Exception:  # noqa: BLE001, S110 - nothing left to fall back to
                    pass
            duration_ms = _ms(started)
            metrics.latency(routed, duration_ms)
            metrics.flush(log_members(self.identity, "REQUEST", "ERROR", servedBy="control", canary=0,
                                      shadow=0, failed=1, fallback=fallback,
                                      durationMs=duration_ms, userHash="",
                                      error=exc.__class__.__name__))
            return answer(request, status, body)

    def _canary(self, request: ReadRequest, metrics: MetricBatch, started: float,
                assignment: Any, step: float) -> Any:
        metrics.add(emf.CANARY_REQUESTS)
        canary_started = _perf()
        try:
            body = self._invoke_candidate(request.user_id)
        except CanaryFailure as failure:
            metrics.add(emf.CANARY_ERRORS)
            log_event(self.identity, "CANARY-ERROR", "ERROR", durationMs=_ms(canary_started),
                      error=failure.reason, userHash=assignment.user_hash)
            if not self.settings.canary_fallback:
                metrics.add(emf.ERRORS)  # the caller is served the failure
                self._finish(request, metrics, started, assignment, outcome.CANARY_FAILED, step)
                return answer(request, 502, {"error": "candidate failed"})
            metrics.add(emf.CANARY_FALLBACKS)
            body = self.control(request.user_id)
            log_event(self.identity, "CANARY-FALLBACK", "WARN", durationMs=_ms(canary_started),
                      error=failure.reason, userHash=assignment.user_hash)
            self._finish(request, metrics, started, assignment, outcome.CANARY_FELL_BACK, step)
            return answer(request, 200, body)
        log_event(self.identity, "CANARY-OK", durationMs=_ms(canary_started), error=None,
                  userHash=assignment.user_hash)
        self._finish(request, metrics, started, assignment, outcome.CANARY_SERVED, step)
        return answer(request, 200, body)

    def _invoke_candidate(self, user_id: str) -> dict[str, Any]:
        """The candidate's answer, or CanaryFailure. The canary timeout is a deadline for
        the whole exchange: invoke, every byte of the answer, parsing and checking."""
        timeout_s = self.settings.canary_timeout_ms / 1000.0
        try:
            client = lambda_client("canary", timeout_s)  # built once; not the candidate's time
        except Exception as exc:  # noqa: BLE001 - every candidate failure is one reason
            raise CanaryFailure(exc.__class__.__name__) from None
        started = _perf()
        try:
            body = self.canary_calls.run(lambda: _exchange(client, self.settings.candidate_arn,
                                                           user_id), timeout_s)
        except CanaryFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - any way the answer is unusable
            name = exc.__class__.__name__
            raise CanaryFailure("timeout" if "Timeout" in name else name) from None
        if _perf() - started > timeout_s:
            raise CanaryFailure("timeout")
        return body

    def _tee(self, request: ReadRequest, body: Any, control_ms: float, user_hash: str,
             timeout_ms: float) -> None:
        try:
            user_id = request.user_id
            redact_paths = self._redact_paths
            if redact_paths is None:
                redact_paths = self._redact_paths = _compiled_redact_paths(self.settings)
            self.shadow.dispatch(lambda: build_shadow_event(
                {"userId": user_id}, body, control_ms, user_hash, timeout_ms,
                redact_paths=redact_paths))
        except Exception as exc:  # noqa: BLE001 - shadow never affects the caller
            failure = MetricBatch(self.identity)
            failure.add(emf.SHADOW_DISPATCH_FAILURES)
            log_event(self.identity, "SHADOW-DISPATCH-FAILED", "WARN",
                      error=exc.__class__.__name__, dispatchMs=0)
            failure.flush()

    def _finish(self, request: ReadRequest, metrics: MetricBatch, started: float,
                assignment: Any, result: Outcome, step: float = 0) -> None:
        """The request's one document: its counts, Latency (by where it was routed) and
        the REQUEST line's members (contracts.md §5, §6); then its annotations."""
        members = (self._control_members if result is outcome.CONTROL
                   else self._members.get(result) or self._encode_members(result))
        duration = metrics.latency(result.routed, _ms(started))
        # userHash is 16 hex digits or empty (assignment.assign): nothing to escape
        metrics.flush(f'{members}{duration},"userHash":"{assignment.user_hash}"')
        if self.tracer.wanted():
            # X-Ray types are compared as typed (contracts.md §8): `canary` is a boolean
            self.tracer.annotate("cutover-route", {
                "canary": result.canary, "path": self.identity.path,
                "release": self.identity.release, "step": step, "route": result.served_by},
                user_id=request.user_id, user_hash=assignment.user_hash)

    def _encode_members(self, result: Outcome) -> str:
        """``,"event":"REQUEST",...,"durationMs":`` for this outcome (the value follows)."""
        members = log_members(self.identity, "REQUEST", result.level, **result.log_fields(),
                              durationMs=0)
        members = members[:-1]  # the placeholder value 0
        self._members[result] = members
        return members


def _compiled_redact_paths(settings: RouterSettings) -> frozenset[tuple[str, ...]]:
    """The spec's redacted paths, compiled; the comparator's module loads here, with the
    first shadow tee, not at a cold start whose shadow is off."""
    from cutover_runtime.compare import CompareRules, compile_paths

    return compile_paths(CompareRules.from_json(settings.compare_rules).redact_paths)


def _direct_reader(settings: RouterSettings) -> DirectFlagReader | None:
    """The data-plane reader of the same flags, for when the agent fails (flag_direct):
    built here, cheap (boto3 loads on its first read, which a working agent never needs)."""
    if not (settings.flags_direct_read and settings.canary_flag and settings.appconfig_application):
        return None
    return DirectFlagReader(settings.appconfig_application, settings.appconfig_environment,
                            settings.appconfig_profile, settings.flags_poll_interval_s,
                            DIRECT_READ_TIMEOUT_S)


# connect and read timeout of each data-plane call: a cold start's first request waits at
# most this (twice per call) when the agent and AppConfig both fail, once a poll interval
DIRECT_READ_TIMEOUT_S = 0.5


def _exchange(client: Any, candidate_arn: str, user_id: str) -> dict[str, Any]:
    """One synchronous invoke, read to the end and checked against the read model."""
    response = client.invoke(FunctionName=candidate_arn, InvocationType="RequestResponse",
                             Payload=json.dumps({"userId": user_id}).encode())
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise CanaryFailure(f"FunctionError:{response['FunctionError']}")
    try:
        return validate_profile(json.loads(payload, parse_constant=_not_json), user_id)
    except WrongUser:
        raise CanaryFailure("wrong-user") from None
    except Exception:  # noqa: BLE001 - not JSON, NaN, too deep (RecursionError), off-contract
        raise CanaryFailure("malformed") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"not a JSON number: {constant}")


def _ms(since: float) -> float:
    """Milliseconds since ``since``, to the microsecond (cheaper than ``round(x, 3)``)."""
    return int((_perf() - since) * 1_000_000 + 0.5) / 1000


_router: Router | None = None


def router() -> Router:
    """The execution environment's Router, built on first use from the environment."""
    global _router
    if _router is None:
        _router = Router(RouterSettings.from_env(), Identity.from_env(), Tracer.from_env())
    return _router


def reset() -> None:
    """Forget the cached Router (tests change the environment between cases)."""
    global _router
    _router = None


def _shadow_drained(timeout_s: float) -> bool:
    current = _router
    return current is None or current.shadow.drain(timeout_s)


def _shadow_pending() -> int:
    current = _router
    return 0 if current is None else current.shadow.pending


def start_extension(environ: Any = None,
                    cap_s: float = SHADOW_INVOKE_TIMEOUT_S) -> ShadowDrainExtension | None:
    """Register the shadow-drain extension; runs at import, which is Lambda's init.
    Inert outside Lambda (no ``AWS_LAMBDA_RUNTIME_API``)."""
    global _extension
    env = os.environ if environ is None else environ
    _extension = start_shadow_drain(env, Identity.from_env(env), _shadow_drained,
                                    _shadow_pending, cap_s)
    return _extension


_extension: ShadowDrainExtension | None = None
start_extension()


def lambda_handler(event: Any, context: Any) -> Any:
    try:
        return router().handle(event)
    finally:
        if _extension is not None:
            _extension.handler_returned()
