"""Read requests as both functions receive them: a direct invoke or an HTTP API v2 event.

A user id (and any sticky key value) is 1 to ``MAX_ID_CHARS`` printable characters
(``str.isprintable``: no NUL or other control character, no lone surrogate, no
unassigned or format character). Anything else cannot name a user: the request is the
client's fault (400), never an error of ours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

MAX_ID_CHARS = 256
USER_ID = "userId"
REQUIRED = "userId is required"
INVALID = "userId is invalid"
NO_HEADERS: Mapping[str, Any] = MappingProxyType({})

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def usable_id(value: Any) -> bool:
    """True for a string that can name a user (or a sticky key value)."""
    return type(value) is str and 0 < len(value) <= MAX_ID_CHARS and value.isprintable()


class ReadRequest(NamedTuple):
    """Immutable; a tuple because one is made per request (a frozen dataclass costs
    twice as much to build)."""

    user_id: str | None
    http: bool
    fields: Mapping[str, Any]  # direct: the event; HTTP: query string, then path parameters
    headers: Mapping[str, Any] = NO_HEADERS  # HTTP only, names lowercased
    problem: str | None = None  # why user_id is None: REQUIRED or INVALID

    def sticky_value(self, sticky_key: str) -> str | None:
        """The sticky key's value; header names match in any case. None if unusable."""
        if sticky_key == USER_ID:  # looked up as the user id was: the same value
            return self.user_id
        value = self.fields.get(sticky_key)
        if value is None and self.headers:
            value = self.headers.get(sticky_key.lower())
        return value if usable_id(value) else None


def parse_request(event: Any) -> ReadRequest:
    """``{"userId": ...}`` or an API Gateway HTTP API (payload 2.0) proxy event.

    HTTP: path parameters win over the query string, which wins over headers. API
    Gateway lowercases header names in payload 2.0, so headers are looked up by the
    lowercased name."""
    if not isinstance(event, dict):
        return ReadRequest(None, False, NO_HEADERS, NO_HEADERS, REQUIRED)
    if event.get("version") == "2.0" and "requestContext" in event:
        fields: dict[str, Any] = {}
        for source in (event.get("queryStringParameters"), event.get("pathParameters")):
            if isinstance(source, dict):
                fields.update(source)
        raw_headers = event.get("headers")
        headers = ({str(k).lower(): v for k, v in raw_headers.items()}
                   if isinstance(raw_headers, dict) else {})
        value = fields.get(USER_ID)
        if value is None:
            value = headers.get("userid")
        return _request(value, True, fields, headers)
    return _request(event.get(USER_ID), False, event, NO_HEADERS)


def _request(value: Any, http: bool, fields: Mapping[str, Any],
             headers: Mapping[str, Any]) -> ReadRequest:
    if usable_id(value):
        return ReadRequest(value, http, fields, headers)
    problem = REQUIRED if value is None or value == "" else INVALID
    return ReadRequest(None, http, fields, headers, problem)


def http_response(status: int, body: Any) -> dict[str, Any]:
    """JSON body without NaN or Infinity (not JSON: RFC 8259 section 6)."""
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": _dumps(body)}


def answer(request: ReadRequest, status: int, body: Any) -> Any:
    """The response in the shape the caller asked in: HTTP API proxy or direct."""
    if request.http:
        return http_response(status, body)
    return body
