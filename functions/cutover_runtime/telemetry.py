"""Logs, metrics and traces: every decision leaves one of each.

* ``log_event`` writes one JSON object per line (contracts.md §6).
* ``MetricBatch`` collects counts during an invocation and ``flush`` writes them as
  one CloudWatch Embedded Metric Format line (contracts.md §5); a request's latency
  goes in the same line under a second directive, with the ``Route`` dimension. Given
  a log line's members (``log_members``), the same document is that log line too: the
  router's ``REQUEST`` line rides in its EMF document (one encode, one write a request).
* ``Tracer`` puts X-Ray annotations on a subsegment, sent on the first sampled
  invocation by ``xray.UdpRecorder`` (the SDK's wire format, without its import) or by
  aws-xray-sdk when the function already loaded it; with tracing ``off`` (or an
  unsampled trace) it is a no-op.

Output goes through ``sys.stdout.write`` so tests can capture and scan every line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from . import env as env_keys
from . import metrics as emf

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


class Identity:
    """Release and path names every line carries; read once per execution environment."""

    def __init__(self, release: str, path: str, namespace: str) -> None:
        self.release = release
        self.path = path
        self.namespace = namespace

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Identity:
        env = os.environ if environ is None else environ
        return cls(release=env.get(env_keys.RELEASE, "unknown"),
                   path=env.get(env_keys.PATH, ""),
                   namespace=env.get(env_keys.METRICS_NAMESPACE, emf.DEFAULT_NAMESPACE))


def log_event(identity: Identity, event: str, level: str = "INFO", **fields: Any) -> None:
    line = {"event": event, "release": identity.release, "path": identity.path, "level": level}
    line.update(fields)
    sys.stdout.write(_dumps(line) + "\n")


def log_members(identity: Identity, event: str, level: str = "INFO", **fields: Any) -> str:
    """A log line's members as ``,"event":...,"release":...,"path":...,"level":...,...``:
    what ``MetricBatch.flush`` appends to make its document that log line too. Constant
    members can be encoded once and kept; a request appends its own values."""
    line = {"event": event, "release": identity.release, "path": identity.path, "level": level}
    line.update(fields)
    return "," + _dumps(line)[1:-1]


def number(value: float) -> str:
    """A JSON number as ``json`` writes it (``float.__repr__``), without the encoder."""
    kind = type(value)
    if kind is float and value - value == 0:  # finite (NaN and infinities are not JSON)
        return float.__repr__(value)
    if kind is int:
        return str(value)
    return _dumps(value)


class MetricBatch:
    """Counts (and at most one latency) for one invocation, written as one EMF document.

    The EMF specification makes ``CloudWatchMetrics`` an array of directives, each with
    its own dimension sets: counts go under ``[["Release", "Path"]]``, the latency under
    ``[["Release", "Path", "Route"]]`` in a second directive of the same document.
    Members that no directive names are kept in the log event and read by Logs Insights
    as fields: ``flush(log)`` makes the document carry a log line's members as well.
    """

    __slots__ = ("counts", "identity", "latency_ms", "route")

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.counts: dict[str, float] = {}
        self.latency_ms: float | None = None
        self.route = ""

    def add(self, name: str, value: float = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def latency(self, route: str, milliseconds: float) -> str:
        """The latency the caller sees, by route (``control`` / ``canary``); returns the
        value as the document writes it, for a log member that repeats it."""
        self.route = route
        self.latency_ms = milliseconds
        return number(milliseconds)

    def flush(self, log: str = "") -> None:
        """Write the document (nothing when empty); ``log`` is ``log_members`` output,
        optionally followed by more ``,"name":value`` members."""
        counts = self.counts
        latency_ms = self.latency_ms
        if not counts and latency_ms is None:
            if log:
                sys.stdout.write("{" + log[1:] + "}\n")
            return
        route = None if latency_ms is None else self.route
        key = (self.identity, tuple(counts.items()), route)
        middle = _middles.get(key) or _middle(key)
        latency = "" if latency_ms is None else number(latency_ms)
        sys.stdout.write(f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)}{middle}{latency}{log}}}\n')
        self.counts = {}
        self.latency_ms = None


# The document between its timestamp and its latency value, per (identity, counts, route):
# a request's counts are nearly always the same few, so a request pays for its latency,
# its timestamp and its log members only.
_middles: dict[tuple, str] = {}


def _middle(key: tuple) -> str:
    identity, items, route = key
    skeleton, keys = _skeleton(identity, tuple(name for name, _ in items), route is not None)
    parts = [skeleton]
    for member, (_, value) in zip(keys, items, strict=True):
        parts.append(member)
        parts.append(number(value))
    if route is not None:
        parts.append(_route_member(route))
    middle = "".join(parts)
    if len(_middles) < 256:
        _middles[key] = middle
    return middle


_skeletons: dict[tuple, tuple[str, tuple[str, ...]]] = {}


def _route_member(route: str) -> str:
    """``,"Route":"<route>","Latency":`` (the value follows)."""
    return f",{_dumps(emf.ROUTE)}:{_dumps(route)},{_dumps(emf.LATENCY)}:"


def _skeleton(ident: Identity, names: tuple[str, ...],
              with_latency: bool) -> tuple[str, tuple[str, ...]]:
    """The constant middle of an EMF line (directives, Release, Path) and the encoded
    ``,"<name>":`` of each count, made once per identity and metric set: a request
    pays for its values only."""
    key = (ident.namespace, ident.release, ident.path, names, with_latency)
    cached = _skeletons.get(key)
    if cached is None:
        directives: list[dict[str, Any]] = []
        if names:
            directives.append({"Namespace": ident.namespace, "Dimensions": [list(emf.COUNT_DIMENSIONS)],
                               "Metrics": [{"Name": n, "Unit": "Count"} for n in names]})
        if with_latency:
            directives.append({"Namespace": ident.namespace,
                               "Dimensions": [list(emf.LATENCY_DIMENSIONS)],
                               "Metrics": [{"Name": emf.LATENCY, "Unit": "Milliseconds"}]})
        middle = (f',"CloudWatchMetrics":{_dumps(directives)}}},'
                  f'{_dumps(emf.RELEASE)}:{_dumps(ident.release)},{_dumps(emf.PATH)}:{_dumps(ident.path)}')
        cached = (middle, tuple(f",{_dumps(n)}:" for n in names))
        if len(_skeletons) < 256:
            _skeletons[key] = cached
    return cached


class Tracer:
    """X-Ray annotations, loaded lazily. ``mode``: Active / PassThrough / off."""

    def __init__(self, mode: str, user_id_mode: str) -> None:
        self.enabled = mode.lower() not in ("off", "", "false", "disabled")
        self.user_id_mode = user_id_mode.lower()
        self._recorder: Any = None

    @classmethod
    def from_env(cls) -> Tracer:
        return cls(os.environ.get(env_keys.TRACING, "off"),
                   os.environ.get(env_keys.TRACE_USER_ID, "hashed"))

    def _sampled(self) -> bool:
        header = os.environ.get("_X_AMZN_TRACE_ID", "")
        return "Sampled=1" in header

    def wanted(self) -> bool:
        """Whether ``annotate`` would record now: check it before building annotations."""
        return self.enabled and self._sampled()

    def _load(self) -> Any:
        """The SDK's recorder when the function's code already loaded the SDK (the
        subsegment then nests in its context); else ``xray.UdpRecorder``, which sends
        the same subsegment to the daemon without the SDK's ~250 ms import."""
        if self._recorder is None:
            sdk = sys.modules.get("aws_xray_sdk.core")
            if sdk is not None:
                sdk.xray_recorder.configure(context_missing="IGNORE_ERROR")
                self._recorder = sdk.xray_recorder
            else:
                from .xray import UdpRecorder

                self._recorder = UdpRecorder()
        return self._recorder

    def annotate(self, name: str, annotations: dict[str, Any], *, user_id: str | None = None,
                 user_hash: str = "") -> bool:
        """Record one subsegment with annotations; returns whether anything was sent."""
        if not self.wanted():
            return False
        if self.user_id_mode == "raw" and user_id is not None:
            annotations = {**annotations, "userId": user_id}
        elif self.user_id_mode == "hashed" and user_hash:
            annotations = {**annotations, "userId": user_hash}
        try:
            recorder = self._load()
            subsegment = recorder.begin_subsegment(name)
            if subsegment is None:
                return False
            try:
                for key, value in annotations.items():
                    subsegment.put_annotation(key, value)
            finally:
                recorder.end_subsegment()
            return True
        except Exception:  # noqa: BLE001 - tracing never fails a request
            return False
