"""Candidate handler (``candidate.handler.lambda_handler``): PostgreSQL read path.

* direct invoke ``{"userId": ...}`` (the router's canary call) or an HTTP API v2 event:
  answers with the read model; a database failure raises, so the alias's Lambda
  ``Errors`` metric and the router's fallback both see it; a row that would break the
  response contract (e.g. a NaN price) is the data's fault: a structured error answer
  (500, ``{"error": "malformed row"}``, no traceback) and a ``CANARY-READ-MALFORMED``
  line, which the router takes as one clean canary failure; an id that cannot name a
  user is the client's fault (400), an unknown one is not found (404). Each such read
  is counted (``CanaryReads``) and so is each that raised or answered 5xx
  (``CanaryReadErrors``): the candidate's own error rate on the canary path, without
  the shadow events;
* shadow event (``{"cutover": "shadow", ...}``, async): reads, compares with the
  control's answer carried in the event, reports once per event id, never raises.
* deploy probe read (``{"cutover": "probe", "userId": ...}``, CodeDeploy's hook reading
  this version before it serves anyone): answers and raises as a canary read, counts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cutover_runtime import env as env_keys
from cutover_runtime import metrics as emf
from cutover_runtime.request import answer, parse_request
from cutover_runtime.telemetry import Identity, MetricBatch, Tracer, log_event
from user_profile.read_model import MalformedResponse, validate_profile

from .db import MalformedRow, ProfileStore, UserNotFound, load_drivers
from .event_ledger import EventLedger
from .settings import DatabaseSettings

if TYPE_CHECKING:
    from .shadow_report import ShadowReporter


class Candidate:
    """``reporter``: the ShadowReporter, or a function making it on the first shadow event
    (the comparator is not imported by a cold start whose first request is a canary read)."""

    def __init__(self, store: ProfileStore, reporter: ShadowReporter | Callable[[], ShadowReporter],
                 tracer: Tracer, identity: Identity | None = None) -> None:
        self.store = store
        self._reporter = reporter
        self.identity = identity if identity is not None else reporter.identity
        self.tracer = tracer

    @property
    def reporter(self) -> ShadowReporter:
        if not hasattr(self._reporter, "report"):
            self._reporter = self._reporter()
        return self._reporter

    def read_or_none(self, user_id: str) -> Any:
        """For shadow comparison a missing row is an answer (``null``), not an error."""
        try:
            return self.store.profile(user_id)
        except UserNotFound:
            return None

    def handle(self, event: Any) -> Any:
        if isinstance(event, dict) and event.get("cutover") == "shadow":
            result = self.reporter.report(event, self.read_or_none)
            self.tracer.annotate("cutover-shadow", {
                "canary": False, "path": self.identity.path,
                "release": self.identity.release, "shadow": True},
                user_hash=str(event.get("userHash", "")))
            return result
        if isinstance(event, dict) and event.get("cutover") == "probe":
            # the deploy probe reads this version before it serves anyone (docs/functions.md,
            # "Deploy probe"): judged by the probe, never counted as a canary read, or a
            # version CodeDeploy stops would still move the candidate's rollback alarms
            return self.read(event)[0]
        metrics = MetricBatch(self.identity)
        metrics.add(emf.CANARY_READS)
        try:
            response, status = self.read(event)
        except BaseException:
            metrics.add(emf.CANARY_READ_ERRORS)
            metrics.flush()
            raise
        if status >= 500:
            metrics.add(emf.CANARY_READ_ERRORS)
        metrics.flush()
        return response

    def read(self, event: Any) -> tuple[Any, int]:
        """A read's answer and its status; a 404 or 400 is an answer, not an error."""
        request = parse_request(event)
        if request.user_id is None:
            return answer(request, 400, {"error": request.problem}), 400
        try:
            body = validate_profile(self.store.profile(request.user_id), request.user_id)
        except UserNotFound:
            return answer(request, 404, {"error": "not found"}), 404
        except (MalformedRow, MalformedResponse) as exc:
            # what is wrong names fields and indexes, never values (contracts.md §6)
            log_event(self.identity, "CANARY-READ-MALFORMED", "ERROR", error=str(exc))
            return answer(request, 500, MALFORMED_ROW), 500
        return answer(request, 200, body), 200


MALFORMED_ROW = {"error": "malformed row"}

# Our own modules this handler imports on first use, not at init (a canary read needs none
# of them). The rehearsal loads them into each execution environment's module set with the
# handler (cutover/rehearsal/functions.py).
FIRST_USE_MODULES = ("cutover_runtime.compare", "cutover_runtime.xray", "candidate.shadow_report")

# Lambda's init: every invocation reads the database, so the first one should find the
# driver (and, with IAM auth, the token signer) loaded (docs/functions.md, "Cold path").
load_drivers(DatabaseSettings.iam_auth_from_env())

_candidate: Candidate | None = None


def candidate() -> Candidate:
    global _candidate
    if _candidate is None:
        identity = Identity.from_env()
        # the environment is read here, at init; the comparator is built by the first
        # shadow event from what was read
        rules, ledger = os.environ.get(env_keys.COMPARE_RULES), EventLedger.from_env()
        _candidate = Candidate(ProfileStore(DatabaseSettings.from_env()),
                               lambda: _shadow_reporter(identity, rules, ledger),
                               Tracer.from_env(), identity)
    return _candidate


def _shadow_reporter(identity: Identity, rules: str | None, ledger: EventLedger | None) -> ShadowReporter:
    """The comparator with its rules (CUTOVER_COMPARE_RULES as read at init), the ledger."""
    from cutover_runtime.compare import CompareRules, ShadowComparator

    from .shadow_report import ShadowReporter

    return ShadowReporter(ShadowComparator(CompareRules.from_json(rules)), identity, ledger)


def reset() -> None:
    global _candidate
    if _candidate is not None:
        _candidate.store.close()
    _candidate = None


def lambda_handler(event: Any, context: Any) -> Any:
    return candidate().handle(event)
