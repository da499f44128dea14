"""Where the simulated functions' output goes: CloudWatch metrics, CloudWatch Logs, X-Ray.

What a function prints (EMF documents and log lines) is parsed in one place, the
rehearsal's ``Telemetry``: its datapoints come here through ``emf_publish`` and land in
``state.metrics``; what Lambda itself publishes (``AWS/Lambda`` Invocations, Errors,
Duration) comes through ``lambda_publish``. Every line a function writes is also a log
event of its group ``/aws/lambda/<function name>``, as Lambda sends stdout to CloudWatch
Logs (EMF documents included). The router's X-Ray annotations (``cutover-route``: canary,
path, release, step, route, userId) are captured from its tracer and become one
``TraceSummary`` per request.

Times: ``state.metrics`` is keyed by the sandbox clock's seconds since start; the
functions stamp EMF with ``clock.time()`` (sandbox epoch), which the rehearsal's parser
reads against its own epoch: ``emf_publish`` moves it back onto the sandbox's seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cutover.rehearsal.clock import EPOCH
from cutover.rehearsal.telemetry import Telemetry

from .state import LogEvent, SandboxState, TraceSummary

LOG_GROUP = "/aws/lambda/{}"
LOG_STREAM = "{date}/[$LATEST]{env}"


class EveryMetric:
    """The parser keeps only the metrics in its ``stored`` set: the sandbox keeps all
    (operators' GetMetricData may read any of them)."""

    def __contains__(self, item: object) -> bool:
        return True


class _Subsegment:
    __slots__ = ("annotations",)

    def __init__(self) -> None:
        self.annotations: dict[str, Any] = {}

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value


class TraceCapture:
    """What the router's ``Tracer`` records through (an X-Ray recorder's two calls)."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self._open: _Subsegment | None = None

    def begin_subsegment(self, name: str) -> _Subsegment:
        self._open = _Subsegment()
        return self._open

    def end_subsegment(self) -> None:
        if self._open is not None:
            self.pending.append(self._open.annotations)
            self._open = None

    def take(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for recorded in self.pending:
            merged.update(recorded)
        self.pending.clear()
        return merged


class Sinks:
    """The simulated functions' outputs into the sandbox's shared state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.clock = state.clock
        self.telemetry = Telemetry(self.emf_publish, EveryMetric())  # type: ignore[arg-type]
        self.capture = TraceCapture()
        self.running: list[Any] = []  # the functions whose invocation runs, innermost last
        self._traces = 0
        self._shift = EPOCH - self.clock.start_epoch

    # -- metrics --------------------------------------------------------------------
    def lambda_publish(self, namespace: str, name: str, dims: Any, t: float, value: float) -> None:
        with self.state.lock:
            self.state.metrics.put(namespace, name, dims, t, value)

    def emf_publish(self, namespace: str, name: str, dims: Any, t: float, value: float) -> None:
        with self.state.lock:
            self.state.metrics.put(namespace, name, dims, t + self._shift, value)

    # -- logs -----------------------------------------------------------------------
    def ingest(self, role: str, kind: str, parts: list[str]) -> None:
        """A function's stdout after its invocation: parsed (the rehearsal's one parser),
        then every line to its log group."""
        self.telemetry.ingest(role, kind, parts)
        if not self.running:
            return
        fn = self.running[-1]
        at = self.clock.time()
        lines = [line for line in "".join(parts).splitlines() if line.strip()]
        if not lines:
            return
        group = LOG_GROUP.format(fn.name)
        stream = LOG_STREAM.format(date=_date(at), env=fn.environments[-1].id if fn.environments else fn.name)
        with self.state.lock:
            for line in lines:
                self.state.logs.append(LogEvent(group, stream, at, line))

    # -- traces ---------------------------------------------------------------------
    def trace_router(self, router: Any) -> None:
        """A new router environment: its tracer records into the capture, every request
        sampled (the sandbox keeps a bounded number of traces)."""
        tracer = getattr(router, "tracer", None)
        if tracer is None or not tracer.enabled:
            return
        tracer._recorder = self.capture
        tracer._sampled = _always

    def traced(self, fn: Any, t: float, result: Any) -> None:
        """One request's trace summary, from what the router annotated."""
        annotations = self.capture.take()
        if not annotations:
            return
        payload = result.payload if isinstance(result.payload, dict) else {}
        status = int(payload.get("statusCode", 200) or 200) if not result.function_error else 500
        start = self.clock.start_epoch + t
        self._traces += 1
        summary = TraceSummary(f"1-{int(start):08x}-{self._traces:024x}", start, result.duration_s,
                               400 <= status < 500, status >= 500, annotations, fn.name)
        with self.state.lock:
            self.state.traces.append(summary)

    def wrap_run(self, run: Callable[..., Any]) -> Callable[..., Any]:
        """The Lambda stand-in's ``run``, knowing which function prints (for its log
        group) and turning each user request of a router into a trace."""
        running, traced = self.running, self.traced

        def tracked(fn: Any, event: Any, t: float, kind: str) -> Any:
            running.append(fn)
            try:
                result = run(fn, event, t, kind)
            finally:
                running.pop()
            if fn.role == "router" and kind == "request":
                traced(fn, t, result)
            return result

        return tracked


def _always() -> bool:
    return True


def _date(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y/%m/%d")
