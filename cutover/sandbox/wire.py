"""An AWS API request as the sandbox's front door sees it, and what a stand-in service is.

The front door reads the SigV4 ``Authorization`` header's credential scope
(``Credential=AKID/20260105/eu-west-1/appconfig/aws4_request``) to know the service, as AWS's
own front ends route by endpoint. For JSON protocols the operation is in ``X-Amz-Target``
(``Logs_20140328.StartQuery``); for the query protocol it is the ``Action`` form field;
for REST protocols (AppConfig, X-Ray) it is the method and path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # header names lower-cased
    body: bytes

    @property
    def service(self) -> str:
        """The SigV4 signing name (``appconfig``, ``monitoring``, ``logs``, ``xray``...), '' unsigned."""
        found = _SCOPE.search(self.headers.get("authorization", ""))
        return found.group(2) if found else ""

    @property
    def region(self) -> str:
        found = _SCOPE.search(self.headers.get("authorization", ""))
        return found.group(1) if found else ""

    @property
    def target(self) -> str:
        """The JSON protocols' operation: the part of X-Amz-Target after the dot."""
        return self.headers.get("x-amz-target", "").rpartition(".")[2]

    @property
    def action(self) -> str:
        """The query protocol's operation (``Action=DescribeAlarms``), '' otherwise."""
        if "x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return (self.query.get("Action") or [""])[0]
        form = parse_qs(self.body.decode("utf-8", "replace"))
        return (form.get("Action") or self.query.get("Action") or [""])[0]


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Service(Protocol):
    """A stand-in for (part of) one AWS service, mounted on the front door."""

    signing_name: str  # the SigV4 service name it answers for

    def handle(self, request: Request) -> Response | None:
        """The answer, or None when this operation is not the stand-in's (moto answers it)."""
        ...
