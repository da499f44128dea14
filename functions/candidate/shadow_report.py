"""Shadow comparison, candidate side: compute our answer, compare, report once per event.

A comparison that runs past the comparator's time budget is reported as inconclusive
(``SHADOW-INCONCLUSIVE``, ``ShadowInconclusive``): it is neither a comparison nor a
mismatch, so the diff rate ``ShadowMismatches / ShadowComparisons`` does not move.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cutover_runtime import metrics as emf
from cutover_runtime.compare import CompareBudgetExceeded, Differences, ShadowComparator, digest
from cutover_runtime.telemetry import Identity, MetricBatch, log_event

from .event_ledger import EventLedger, LedgerUnavailable

MAX_LOGGED_DIFFS = 20  # at most the comparator's RECORDED_DIFFERENCES (a test holds it)
SEEN_EVENTS = 4096


class SeenEvents:
    """Event ids already reported by this execution environment (bounded, oldest out)."""

    def __init__(self, size: int = SEEN_EVENTS) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class ShadowReporter:
    def __init__(self, comparator: ShadowComparator, identity: Identity,
                 ledger: EventLedger | None = None) -> None:
        self.comparator = comparator
        self.identity = identity
        self.seen = SeenEvents()
        self.ledger = ledger

    def first_delivery(self, event_id: str, user_hash: str) -> bool:
        """This environment's memory first (free), then the ledger shared by all of them."""
        if not event_id or not self.seen.first_time(event_id):
            return False
        if self.ledger is None:
            return True
        try:
            return self.ledger.claim(event_id)
        except LedgerUnavailable as exc:
            log_event(self.identity, "SHADOW-LEDGER-UNAVAILABLE", "WARN", error=str(exc),
                      eventId=event_id, userHash=user_hash)
            return True

    def report(self, event: dict[str, Any], read: Callable[[str], Any]) -> dict[str, Any]:
        """Never raises: the async invoke must not be retried because of us."""
        event_id = str(event.get("eventId") or "")
        user_hash = str(event.get("userHash", ""))
        if not event_id:  # cannot be reported once: a malformed event, not a duplicate
            metrics = MetricBatch(self.identity)
            metrics.add(emf.SHADOW_ERRORS)
            log_event(self.identity, "SHADOW-ERROR", "ERROR", durationMs=0,
                      error="eventId missing", userHash=user_hash, eventId="")
            metrics.flush()
            return {"status": "error"}
        if not self.first_delivery(event_id, user_hash):
            log_event(self.identity, "SHADOW-DUPLICATE", eventId=event_id, userHash=user_hash)
            return {"status": "duplicate"}
        metrics = MetricBatch(self.identity)
        started = time.perf_counter()
        try:
            control = event["control"]
            request = event["request"]
            timeout_ms = float(event.get("timeoutMs", 500))
            candidate_body = read(request["userId"])
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if duration_ms > timeout_ms:
                metrics.add(emf.SHADOW_TIMEOUTS)
                log_event(self.identity, "SHADOW-TIMEOUT", "WARN", durationMs=duration_ms,
                          error="timeout", userHash=user_hash, eventId=event_id)
                return {"status": "timeout"}
            diffs = self._compare(control, self.comparator.redacted(candidate_body, event_id))
        except CompareBudgetExceeded:
            metrics.add(emf.SHADOW_INCONCLUSIVE)
            log_event(self.identity, "SHADOW-INCONCLUSIVE", "WARN",
                      durationMs=round((time.perf_counter() - started) * 1000, 3),
                      budgetMs=self.comparator.budget_ms, userHash=user_hash, eventId=event_id)
            return {"status": "inconclusive"}
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            metrics.add(emf.SHADOW_ERRORS)
            log_event(self.identity, "SHADOW-ERROR", "ERROR",
                      durationMs=round((time.perf_counter() - started) * 1000, 3),
                      error=exc.__class__.__name__, userHash=user_hash, eventId=event_id)
            return {"status": "error"}
        finally:
            metrics.flush()
        metrics.add(emf.SHADOW_COMPARISONS)
        if diffs:
            metrics.add(emf.SHADOW_MISMATCHES)
        log_event(self.identity, "SHADOW-DIFF" if diffs else "SHADOW-OK",
                  "WARN" if diffs else "INFO", match=int(not diffs), diffCount=diffs.total,
                  diffs=diffs[:MAX_LOGGED_DIFFS], durationMs=duration_ms,
                  controlMs=control.get("durationMs"), userHash=user_hash, eventId=event_id)
        metrics.flush()
        return {"status": "diff" if diffs else "ok", "diffCount": diffs.total}

    def _compare(self, control: dict[str, Any], candidate_body: Any) -> Differences:
        """``candidate_body`` is redacted like the control's (§7): digests meet digests.
        The differences' records stop at the comparator's bound; ``total`` counts them all."""
        if control.get("digest") and digest(candidate_body) == control["digest"]:
            return Differences()
        if control.get("body") is not None:
            return self.comparator.compare(control["body"], candidate_body)
        return self.comparator.compare_fields(control.get("fields") or {},
                                              control.get("fieldDigests") or {}, candidate_body)
