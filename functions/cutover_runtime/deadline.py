"""Run a blocking exchange under a deadline for the whole of it.

botocore's timeouts bound each socket operation, so a peer that trickles its answer a
byte at a time can hold a call for as long as it likes. ``DeadlineRunner`` runs the
exchange on a small pool of worker threads and gives the caller the result, or
``TimeoutError`` once the deadline has passed, whatever the exchange is doing. A
late exchange finishes (or times out on its own socket timeouts) in the background
and its result is dropped; at most ``max_workers`` can be in flight, and an exchange
that has not started before its deadline never starts.

``concurrent.futures`` is imported on first use: the control path never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class DeadlineRunner:
    def __init__(self, max_workers: int = 4, name: str = "deadline") -> None:
        self._max_workers = max_workers
        self._name = name
        self._pool: Any = None
        self._lock = threading.Lock()

    def _executor(self) -> Any:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(self._max_workers,
                                                    thread_name_prefix=self._name)
        return self._pool

    def run(self, exchange: Callable[[], Any], timeout_s: float) -> Any:
        """``exchange()``'s result or exception; TimeoutError after ``timeout_s``."""
        future = self._executor().submit(exchange)
        try:
            return future.result(timeout=max(timeout_s, 0.0))
        except TimeoutError:
            future.cancel()  # not started yet: it never will
            raise
