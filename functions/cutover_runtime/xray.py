"""X-Ray subsegments sent straight to the X-Ray daemon over UDP, as aws-xray-sdk sends
them in Lambda, without importing the SDK: its import loads botocore (for its sampling
rules, which Lambda's facade segment never uses) and costs a cold start's first sampled
request about 250 ms.

The same three calls as the SDK's recorder (``begin_subsegment``, ``put_annotation`` on
what it returns, ``end_subsegment``), so ``telemetry.Tracer`` drives either. In Lambda
the trace header (``_X_AMZN_TRACE_ID``: ``Root``, ``Parent``, ``Sampled``) names the
facade segment that Lambda records; a subsegment is one datagram, the header
``{"format":"json","version":1}``, a newline and the subsegment document (X-Ray Developer
Guide, "Sending segment documents to the X-Ray daemon"), to ``AWS_XRAY_DAEMON_ADDRESS``.
Without a trace context nothing is sent (the SDK's ``context_missing=IGNORE_ERROR``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

HEADER = b'{"format":"json","version":1}\n'
DEFAULT_DAEMON = ("127.0.0.1", 2000)
_KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def daemon_address(value: str | None) -> tuple[str, int]:
    """``host:port`` or ``tcp:host:port udp:host:port`` (the UDP one is used)."""
    if not value:
        return DEFAULT_DAEMON
    for part in value.split():
        if part.startswith("udp:"):
            value = part[4:]
            break
    else:
        if value.startswith("tcp:"):
            return DEFAULT_DAEMON
    host, _, port = value.rpartition(":")
    return (host or DEFAULT_DAEMON[0], int(port)) if port.isdigit() else DEFAULT_DAEMON


def trace_context(header: str) -> tuple[str, str] | None:
    """(trace id, parent segment id) from the trace header, or None."""
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    return (root, parent) if root and parent else None


class Subsegment:
    __slots__ = ("annotations", "name", "parent_id", "start_time", "trace_id")

    def __init__(self, name: str, trace_id: str, parent_id: str) -> None:
        self.name = name
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.start_time = time.time()
        self.annotations: dict[str, Any] = {}

    def put_annotation(self, key: str, value: Any) -> None:
        """As the SDK: a key of letters, digits and underscores; a string, number or
        boolean value; anything else is left out."""
        if isinstance(key, str) and key and set(key) <= _KEY_CHARACTERS \
                and isinstance(value, (str, int, float, bool)):
            self.annotations[key] = value

    def document(self) -> bytes:
        return HEADER + _dumps({
            "id": os.urandom(8).hex(), "name": self.name, "start_time": self.start_time,
            "parent_id": self.parent_id, "in_progress": False, "annotations": self.annotations,
            "trace_id": self.trace_id, "type": "subsegment", "namespace": "local",
            "end_time": time.time()}).encode()


class UdpRecorder:
    """One subsegment at a time (the handler's thread), sent when it ends."""

    def __init__(self) -> None:
        self._current: Subsegment | None = None
        self._sock: socket.socket | None = None
        self._address = daemon_address(os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))

    def begin_subsegment(self, name: str) -> Subsegment | None:
        context = trace_context(os.environ.get("_X_AMZN_TRACE_ID", ""))
        self._current = None if context is None else Subsegment(name, *context)
        return self._current

    def end_subsegment(self) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.sendto(current.document(), self._address)
