"""cutover_runtime.http1: the minimal HTTP/1.1 client of the flag read and the shadow-drain
extension, against a socket that answers canned bytes (what a peer may send)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from cutover_runtime import http1


class Peer:
    """Accepts one connection, keeps what it was sent, answers ``answer`` and closes
    (or, with ``hold``, keeps the connection open without answering)."""

    def __init__(self, answer: bytes, hold: bool = False) -> None:
        self.answer, self.hold = answer, hold
        self.received = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while b"\r\n\r\n" not in self.received:
                self.received += conn.recv(4096)
            if self.hold:
                self.release.wait(30)
                return
            for byte in range(0, len(self.answer), 7):  # in small pieces
                conn.sendall(self.answer[byte:byte + 7])

    def close(self) -> None:
        self.release.set()
        self.thread.join(5)
        self.listener.close()


def ask(answer: bytes, method: str = "GET", **kwargs) -> tuple[http1.Response, bytes]:
    peer = Peer(answer)
    try:
        return http1.request("127.0.0.1", peer.port, method, "/a%2Fb?x=1", **kwargs), peer.received
    finally:
        peer.close()


def test_a_content_length_body_and_the_request_sent():
    response, sent = ask(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Lambda-Extension-Identifier: abc\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
                         method="POST", body=b"{}", headers={"Lambda-Extension-Name": "n"})
    assert response == (200, {"content-type": "application/json",
                              "lambda-extension-identifier": "abc", "content-length": "7"}, b'{"a":1}')
    head = sent.partition(b"\r\n\r\n")[0]
    assert head.split(b"\r\n")[0] == b"POST /a%2Fb?x=1 HTTP/1.1"
    assert b"Connection: close" in head and b"Lambda-Extension-Name: n" in head
    assert b"Content-Length: 2" in head


def test_a_chunked_body_and_one_delimited_by_the_close():
    chunked, _ = ask(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: t\r\n\r\n")
    assert chunked.body == b'{"a":1}'
    closed, _ = ask(b"HTTP/1.0 500 Oops\r\n\r\nbody to the end")
    assert (closed.status, closed.body) == (500, b"body to the end")


@pytest.mark.parametrize("answer,problem", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "incomplete body"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
    (b"HTTP/1.1 200 OK\r\nContent-", "connection closed before the response head"),
    (b"", "connection closed before the response head"),
], ids=["truncated", "not-http", "bad-header", "bad-length", "bad-chunk", "cut-head", "nothing"])
def test_an_answer_it_cannot_read_is_an_http_error(answer, problem):
    with pytest.raises(http1.HttpError, match=problem):
        ask(answer)


def test_the_deadline_bounds_the_exchange():
    with pytest.raises(TimeoutError):  # already past: nothing is attempted
        http1.request("127.0.0.1", 9, "GET", "/", deadline=time.monotonic() - 1)
    peer = Peer(b"", hold=True)  # a peer that never answers
    try:
        with pytest.raises(TimeoutError):
            http1.request("127.0.0.1", peer.port, "GET", "/", deadline=time.monotonic() + 0.2)
    finally:
        peer.close()
