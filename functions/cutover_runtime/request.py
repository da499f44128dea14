"""Read requests as both functions receive them: a direct invoke or an HTTP API v2 event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ReadRequest:
    user_id: str | None
    http: bool
    fields: dict[str, str]  # where a sticky key is looked up

    def sticky_value(self, sticky_key: str) -> str | None:
        value = self.fields.get(sticky_key)
        return value if isinstance(value, str) and value else None


def parse_request(event: Any) -> ReadRequest:
    """``{"userId": ...}`` or an API Gateway HTTP API (payload 2.0) proxy event."""
    if not isinstance(event, dict):
        return ReadRequest(user_id=None, http=False, fields={})
    if event.get("version") == "2.0" and "requestContext" in event:
        fields: dict[str, str] = {}
        for source in (event.get("headers"), event.get("queryStringParameters"),
                       event.get("pathParameters")):
            if isinstance(source, dict):
                fields.update({k: v for k, v in source.items() if isinstance(v, str)})
        user_id = fields.get("userId")
        return ReadRequest(user_id=user_id or None, http=True, fields=fields)
    fields = {k: v for k, v in event.items() if isinstance(v, str)}
    user_id = event.get("userId")
    return ReadRequest(user_id=user_id if isinstance(user_id, str) and user_id else None,
                       http=False, fields=fields)


def http_response(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}


def answer(request: ReadRequest, status: int, body: Any) -> Any:
    """The response in the shape the caller asked in: HTTP API proxy or direct."""
    if request.http:
        return http_response(status, body)
    return body
