"""A minimal HTTP/1.1 client for the local APIs a function calls on its cold path: the
AppConfig agent (``localhost:2772``) and Lambda's Extensions API.

``http.client`` costs a cold start about 20 ms to import (it loads ``email.parser`` and
``ssl``), more than the rest of the router's imports together, for exchanges that need
one request on a fresh connection (``Connection: close``) and a body delimited by
``Content-Length``, chunked transfer coding or the end of the connection. Plain HTTP
only: both peers are local.

``deadline`` (a ``time.monotonic`` value) bounds the whole exchange: connect, every send
and every receive may only use what is left of it, so a peer that trickles bytes cannot
stretch the exchange (``TimeoutError`` past it).
"""

from __future__ import annotations

import socket
import time
from typing import NamedTuple

MAX_HEAD_BYTES = 64 * 1024  # status line and headers
_CHUNK = 65536


class HttpError(Exception):
    """The peer's answer is not an HTTP/1.x response this client can read."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # names lowercased; a repeated name keeps its last value
    body: bytes


def request(host: str, port: int, method: str, target: str, *, body: bytes = b"",
            headers: dict[str, str] | None = None, deadline: float | None = None) -> Response:
    """One request on a new connection, read to the end of its answer."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    sock = socket.create_connection((host, port), timeout=_left(deadline))
    try:
        _arm(sock, deadline)
        sock.sendall(wire)
        return _Reader(sock, deadline).response(method)
    finally:
        sock.close()


def _left(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("request exceeded its budget")
    return left


def _arm(sock: socket.socket, deadline: float | None) -> None:
    if deadline is not None:
        sock.settimeout(_left(deadline))


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float | None) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""
        self.closed = False

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end of the connection."""
        if self.closed:
            return False
        _arm(self.sock, self.deadline)
        data = self.sock.recv(_CHUNK)
        if not data:
            self.closed = True
            return False
        self.buffer += data
        return True

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES or not self._fill():
                raise HttpError("incomplete line")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise HttpError(f"incomplete body: {len(self.buffer)} of {size} bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise HttpError("response head too long")
            if not self._fill():
                raise HttpError("connection closed before the response head")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP/1.x status line: {status_line[:40]!r}")
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError("malformed header line")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    def _chunked(self) -> bytes:
        chunks = []
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpError("malformed chunk size") from None
            if size == 0:
                while self._line():  # trailers, up to the empty line
                    pass
                return b"".join(chunks)
            chunks.append(self._exactly(size))
            if self._exactly(2) != b"\r\n":
                raise HttpError("malformed chunk end")

    def response(self, method: str) -> Response:
        status, headers = self._head()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Response(status, headers, self._chunked())
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise HttpError("malformed Content-Length")
            return Response(status, headers, self._exactly(int(length)))
        while self._fill():
            pass
        return Response(status, headers, self.buffer)
