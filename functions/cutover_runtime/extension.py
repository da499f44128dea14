"""An internal Lambda extension that keeps the execution environment running after the
response until the invocation's shadow invokes are sent.

Lambda freezes the execution environment once the runtime *and every registered
extension* have called ``next`` (Lambda Developer Guide, "Understanding the Lambda
execution environment lifecycle"); a worker thread of the handler alone is frozen
mid-invoke. This is the way AWS documents to run code after the response (AWS Compute
Blog, "Running code after returning a response from an AWS Lambda function"): register
an internal extension during init for ``INVOKE`` events (Extensions API, ``POST
/2020-01-01/extension/register`` with ``Lambda-Extension-Name``), and call ``GET
/2020-01-01/extension/event/next`` again only when the work is done.

Here: on each ``INVOKE`` the extension waits until the handler has returned, then until
the shadow dispatcher is idle, at most ``cap_s`` (the shadow invoke's own timeout) and
never past the invocation's deadline, so a stuck invoke cannot hold the environment (nor
turn into a function timeout). Outside Lambda (no ``AWS_LAMBDA_RUNTIME_API``) nothing
is started. Standard library only: it is loaded at init, on the cold-start path, and
speaks HTTP through ``http1`` (``http.client`` would cost that init ~20 ms of imports).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import http1
from .telemetry import Identity, log_event

API = "/2020-01-01/extension"
NAME = "cutover-shadow-drain"
DEADLINE_MARGIN_S = 0.1  # leave the runtime this much of the invocation's timeout


class ShadowDrainExtension:
    """Registered with the Extensions API; one thread looping on ``event/next``."""

    def __init__(self, runtime_api: str, identity: Identity, drained: Callable[[float], bool],
                 pending: Callable[[], int], cap_s: float) -> None:
        host, _, port = runtime_api.partition(":")
        self._address = (host, int(port or 80))
        self._identity = identity
        self._drained = drained
        self._pending = pending
        self._cap_s = cap_s
        self._returned = 0  # invocations whose handler has returned
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self.extension_id = ""
        self.thread: threading.Thread | None = None

    # -- handler side ----------------------------------------------------------------
    def handler_returned(self) -> None:
        with self._cond:
            self._returned += 1
            self._cond.notify_all()

    # -- Extensions API --------------------------------------------------------------
    def _request(self, method: str, path: str, body: bytes | None,
                 headers: dict[str, str]) -> tuple[int, Any, bytes]:
        answer = http1.request(*self._address, method, API + path, body=body or b"",
                               headers=headers)
        return answer.status, answer.headers, answer.body

    def register(self) -> bool:
        status, headers, _ = self._request(
            "POST", "/register", json.dumps({"events": ["INVOKE"]}).encode(),
            {"Lambda-Extension-Name": NAME, "Content-Type": "application/json"})
        self.extension_id = headers.get("lambda-extension-identifier", "") if status == 200 else ""
        if not self.extension_id:
            raise RuntimeError(f"register status={status}")
        return True

    def _next(self) -> dict[str, Any]:
        status, _, body = self._request("GET", "/event/next", None,
                                        {"Lambda-Extension-Identifier": self.extension_id})
        if status != 200:
            raise RuntimeError(f"next status={status}")
        return json.loads(body)

    # -- the loop ----------------------------------------------------------------------
    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name=NAME, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Tests only: end the loop at its next turn."""
        self._stopped.set()

    def _loop(self) -> None:
        invocations = 0
        while not self._stopped.is_set():
            try:
                event = self._next()
            except Exception as exc:  # noqa: BLE001 - never let the loop die: Lambda waits on it
                if self._stopped.is_set():
                    break
                log_event(self._identity, "SHADOW-EXTENSION-UNAVAILABLE", "WARN", stage="next",
                          error=exc.__class__.__name__)
                self._stopped.wait(0.1)
                continue
            if event.get("eventType") == "INVOKE":
                invocations += 1
                self._hold(invocations, event.get("deadlineMs"))

    def _hold(self, invocation: int, deadline_ms: Any) -> None:
        """Return when the handler of ``invocation`` has returned and the dispatcher is
        idle, or when the cap or the deadline is reached."""
        started = time.perf_counter()
        left = self._cap_s
        if isinstance(deadline_ms, (int, float)) and deadline_ms > 0:
            left = deadline_ms / 1000.0 - time.time() - DEADLINE_MARGIN_S
        with self._cond:
            self._cond.wait_for(lambda: self._returned >= invocation, max(left, 0.0))
        left = min(self._cap_s, left - (time.perf_counter() - started))
        if not self._drained(max(left, 0.0)):
            log_event(self._identity, "SHADOW-HOLD-EXPIRED", "WARN", pending=self._pending(),
                      heldMs=round((time.perf_counter() - started) * 1000, 3))


def start_shadow_drain(environ: Mapping[str, str], identity: Identity,
                       drained: Callable[[float], bool], pending: Callable[[], int],
                       cap_s: float) -> ShadowDrainExtension | None:
    """Register and start the extension when running in Lambda; ``None`` elsewhere, or
    when registration fails (shadow dispatch then works as without it)."""
    runtime_api = environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if not runtime_api:
        return None
    extension = ShadowDrainExtension(runtime_api, identity, drained, pending, cap_s)
    try:
        extension.register()
    except Exception as exc:  # noqa: BLE001 - without it the router still serves
        log_event(identity, "SHADOW-EXTENSION-UNAVAILABLE", "WARN", stage="register",
                  error=f"{exc.__class__.__name__}: {exc}")
        return None
    extension.start()
    return extension
