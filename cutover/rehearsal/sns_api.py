"""SNS's Publish on loopback: the notifications the guard sends, recorded.

boto3's ``sns`` client speaks the query protocol: ``POST /`` with a form body
(``Action=Publish&TopicArn=...&Subject=...&Message=...``); the answer is XML
(``PublishResponse/PublishResult/MessageId``), errors an ``ErrorResponse``. Functions
reach it with ``AWS_ENDPOINT_URL_SNS``. ``fail_next`` makes the next calls fail (e.g.
``("Throttled", 400)``), through the loopback API and through ``publish`` (the Python
API: the message id, or ``ApiError``) alike; what was published is in ``messages`` with
the simulated time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .appconfig_api import ApiError
from .cloudwatch_api import LoopbackApi

XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"


@dataclass(frozen=True)
class Notification:
    at: float
    topic: str
    subject: str
    message: str


class PublishApi:
    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.messages: list[Notification] = []
        self.fail_next: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self.api = LoopbackApi("sns-api", self.route)
        self.url = self.api.url

    def publish(self, form: dict[str, str]) -> str:
        """Publish (the query protocol's form fields): the message id, or ``ApiError``."""
        with self._lock:
            failure = self.fail_next.pop(0) if self.fail_next else None
            if failure is None and form.get("Action") != "Publish":
                failure = ("InvalidAction", 400)
            elif failure is None and not form.get("TopicArn"):
                failure = ("InvalidParameter", 400)
            if failure is None:
                self.messages.append(Notification(self.clock.now, form["TopicArn"], form.get("Subject", ""),
                                                  form.get("Message", "")))
                return f"rehearsal-{len(self.messages)}"
        code, status = failure
        raise ApiError(status, code, f"rehearsal: {code}")

    def route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        xml = {"Content-Type": "text/xml"}
        try:
            message_id = self.publish(form)
        except ApiError as exc:
            return exc.status, (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type>'
                                f"<Code>{escape(exc.kind)}</Code><Message>{escape(str(exc))}</Message></Error>"
                                "<RequestId>rehearsal</RequestId></ErrorResponse>").encode(), xml
        return 200, (f'<PublishResponse xmlns="{XMLNS}"><PublishResult><MessageId>{message_id}'
                     "</MessageId></PublishResult><ResponseMetadata><RequestId>rehearsal</RequestId>"
                     "</ResponseMetadata></PublishResponse>").encode(), xml

    def close(self) -> None:
        self.api.close()
