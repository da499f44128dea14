"""Shadow traffic, router side: build the event (contracts.md §7) and dispatch it.

An async invoke returns no payload, so the candidate compares and reports. Dispatch
runs on a few worker threads per execution environment, which also serialize the
event. With a dispatch budget of 0 the request never waits; in Lambda the router's
internal extension (``extension.py``) keeps the environment from freezing until the
dispatcher is idle. With a budget > 0 the request also waits, at most that long, until
the invoke has been signed and handed to the HTTP layer. Outcomes are counted when
known, never raised.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from . import metrics as emf
from .telemetry import Identity, MetricBatch, log_event

# Lambda's asynchronous Invoke takes payloads of up to 1 MB (docs/aws-rules.md, Lambda);
# 16 KiB stay free for what an on-failure record adds around the event.
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
ASYNC_EVENT_LIMIT = ASYNC_PAYLOAD_LIMIT - 16 * 1024
# Connect and read timeout of the shadow client; also the longest the execution
# environment is held after a response for shadow invokes still in flight.
SHADOW_INVOKE_TIMEOUT_S = 3.0

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def build_shadow_event(request: dict[str, Any], control_body: Any, control_ms: float,
                       user_hash: str, timeout_ms: float,
                       limit: int = ASYNC_EVENT_LIMIT,
                       redact_paths: frozenset[tuple[str, ...]] = frozenset()) -> bytes:
    """Serialized shadow event; the control body is replaced by its fields when too big.

    Values at ``redact_paths`` travel as digests salted with the event id (§7): the
    event, and the DLQ it may end in, never hold them in clear.

    The comparator's helpers and uuid load here, on the first shadow event: a router
    whose shadow is off never pays for them at a cold start."""
    import uuid

    from .compare import canonical_json, digest, redact

    event_id = str(uuid.uuid4())
    control_body = redact(control_body, redact_paths, event_id)
    canonical = canonical_json(control_body)
    control: dict[str, Any] = {"digest": digest(control_body), "body": control_body,
                               "fields": None, "fieldDigests": None,
                               "durationMs": round(control_ms, 3)}
    event = {"cutover": "shadow", "eventId": event_id, "request": request,
             "control": control, "userHash": user_hash, "timeoutMs": timeout_ms,
             "sentAt": round(time.time(), 3)}
    payload = _dumps(event).encode()
    if len(payload) <= limit:
        return payload
    control["body"] = None
    fields: dict[str, Any] = {}
    field_digests: dict[str, str] = {}
    room = limit - len(payload) + len(canonical.encode()) - 1024
    if isinstance(control_body, dict):
        for key in sorted(control_body, key=lambda k: len(canonical_json(control_body[k]))):
            size = len(canonical_json(control_body[key]).encode())
            if size <= room:
                fields[f"$.{key}"] = control_body[key]
                room -= size + len(key) + 8
            else:
                field_digests[f"$.{key}"] = digest(control_body[key])
    control["fields"] = fields
    control["fieldDigests"] = field_digests
    return _dumps(event).encode()


class ShadowDispatcher:
    """Async invokes of the candidate from a small pool of worker threads.

    A request waits for its invoke to be handed to the HTTP layer only when a worker is
    free, and never longer than the budget. When ``max_backlog`` invokes are already
    pending, the new one is dropped and counted: the user's request is never held up
    by a slow Lambda API.
    """

    def __init__(self, function_arn: str, budget_ms: float, identity: Identity,
                 client_factory: Callable[[], Any], max_workers: int = 8,
                 max_backlog: int = 32) -> None:
        self._arn = function_arn
        self._budget = budget_ms / 1000.0
        self._identity = identity
        self._client_factory = client_factory
        self._max_workers = max_workers
        self._max_backlog = max_backlog
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._hooked: set[int] = set()
        self._idle = threading.Condition()
        self._pending = 0  # queued or in flight
        self._queued = 0  # queued, not yet picked up by a worker
        self._free = 0  # workers waiting for work

    def dispatch(self, payload: bytes | Callable[[], bytes]) -> bool:
        """Queue one invoke; True if it was handed off within the budget.

        ``payload`` may be a function that builds it: the worker then serializes the
        event, off the request's path."""
        handed_off = threading.Event()
        with self._idle:
            if self._pending >= self._max_backlog:
                dropped = True
            else:
                dropped = False
                self._pending += 1
                can_wait = self._free > self._queued  # a worker will pick it up at once
                self._queued += 1
                if not can_wait and len(self._workers) < self._max_workers:
                    worker = threading.Thread(target=self._run, name="shadow-dispatch",
                                              daemon=True)
                    worker.start()
                    self._workers.append(worker)
                    can_wait = True
        if dropped:
            self._report_failure("backlog", 0.0)
            return False
        self._queue.put((payload, handed_off, time.perf_counter()))
        if not can_wait or self._budget <= 0:
            return False
        return handed_off.wait(self._budget)

    def _client(self) -> Any:
        client = self._client_factory()
        if id(client) not in self._hooked:
            # Signal the waiting request as soon as the signed request goes to the wire.
            client.meta.events.register("before-send.lambda.Invoke", _signal_handed_off)
            self._hooked.add(id(client))
        return client

    def _run(self) -> None:
        while True:
            with self._idle:
                self._free += 1
            payload, handed_off, queued_at = self._queue.get()
            with self._idle:
                self._free -= 1
                self._queued -= 1
            _current.event = handed_off
            try:
                if callable(payload):
                    payload = payload()
                response = self._client().invoke(FunctionName=self._arn, InvocationType="Event",
                                                 Payload=payload)
                if response.get("StatusCode") != 202:
                    raise RuntimeError(f"async invoke status={response.get('StatusCode')}")
                metrics = MetricBatch(self._identity)
                metrics.add(emf.SHADOW_DISPATCHED)
                metrics.flush()
            except Exception as exc:  # noqa: BLE001 - dispatch failures are counted, not raised
                self._report_failure(_error_name(exc), (time.perf_counter() - queued_at) * 1000)
            finally:
                handed_off.set()
                _current.event = None
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _report_failure(self, error: str, dispatch_ms: float) -> None:
        metrics = MetricBatch(self._identity)
        metrics.add(emf.SHADOW_DISPATCH_FAILURES)
        log_event(self._identity, "SHADOW-DISPATCH-FAILED", "WARN", error=error,
                  dispatchMs=round(dispatch_ms, 3))
        metrics.flush()

    @property
    def pending(self) -> int:
        """Invokes queued or in flight."""
        return self._pending

    def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued dispatch finished (the shadow-drain extension, tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)


class _Current(threading.local):
    event: threading.Event | None = None


_current = _Current()


def _signal_handed_off(**_: Any) -> None:
    event = _current.event
    if event is not None:
        event.set()


def _error_name(exc: BaseException) -> str:
    name = exc.__class__.__name__
    if "Timeout" in name:
        return "timeout"
    return name
