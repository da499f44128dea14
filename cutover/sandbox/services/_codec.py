"""The wire formats the stand-ins answer in, driven by botocore's service models.

CloudWatch is called two ways: boto3 1.44 speaks its JSON protocol (``X-Amz-Target:
GraniteServiceVersion20100801.<Op>``, ``application/x-amz-json-1.0``) and the Terraform
provider the query protocol (a form with ``Action=<Op>``, answered in XML). One
implementation takes the request as a plain dict and returns a plain dict; this module
turns a query form into that dict (``member.N`` lists, ``entry.N`` maps) and the dict into
the XML answer by the operation's output shape, so both callers get the same answers.

Timestamps inside the dicts are epoch seconds (floats) on the caller's clock: JSON
protocols send them as numbers, the query protocol as ISO 8601.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ..wire import Request, Response


class AwsError(Exception):
    """An error AWS would answer with: its code, HTTP status and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


@functools.cache
def service_model(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(name)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(value: Any) -> float:
    """A timestamp as the SDKs send it (epoch number or ISO 8601) in epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text).timestamp()


# --- the JSON protocols ---------------------------------------------------------------------


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise AwsError("SerializationException", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise AwsError("SerializationException", "the request body is not a JSON object")
    return body


def json_answer(data: Any, status: int = 200, content_type: str = "application/x-amz-json-1.1") -> Response:
    return Response(status, json.dumps(data, default=str).encode(), {"Content-Type": content_type})


def json_error(error: AwsError, content_type: str = "application/x-amz-json-1.1") -> Response:
    body = {"__type": error.code, "message": error.message, "Message": error.message}
    return Response(error.status, json.dumps(body).encode(),
                    {"Content-Type": content_type, "x-amzn-ErrorType": error.code,
                     "x-amzn-query-error": f"{error.code};Sender"})


def rest_error(error: AwsError) -> Response:
    return Response(error.status, json.dumps({"Message": error.message, "message": error.message}).encode(),
                    {"Content-Type": "application/json", "x-amzn-ErrorType": error.code})


# --- the query protocol ---------------------------------------------------------------------


def query_form(request: Request) -> dict[str, str]:
    form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    merged = {k: v[0] for k, v in request.query.items()}
    merged.update({k: v[0] for k, v in form.items()})
    return merged


def from_query(form: dict[str, str], shape: Any, prefix: str = "") -> Any:
    """The value of ``shape`` under ``prefix`` in a flattened query form (None if absent)."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{name}" if prefix else name
            value = from_query(form, member, key)
            if value is not None:
                out[name] = value
        return out if out or not prefix else None
    if kind == "list":
        items, n = [], 1
        while True:
            value = from_query(form, shape.member, f"{prefix}.member.{n}")
            if value is None:
                break
            items.append(value)
            n += 1
        return items if items or f"{prefix}" in form else None
    if kind == "map":
        out, n = {}, 1
        while f"{prefix}.entry.{n}.key" in form:
            out[form[f"{prefix}.entry.{n}.key"]] = from_query(form, shape.value, f"{prefix}.entry.{n}.value")
            n += 1
        return out or None
    if prefix not in form:
        return None
    raw = form[prefix]
    if kind in ("integer", "long"):
        return int(raw)
    if kind in ("double", "float"):
        return float(raw)
    if kind == "boolean":
        return raw.lower() == "true"
    if kind == "timestamp":
        return epoch(raw)
    return raw


def to_xml(shape: Any, value: Any, tag: str) -> str:
    kind = shape.type_name
    if value is None:
        return ""
    if kind == "structure":
        inner = "".join(to_xml(m, value.get(n), n) for n, m in shape.members.items() if n in value)
        return f"<{tag}>{inner}</{tag}>"
    if kind == "list":
        inner = "".join(to_xml(shape.member, v, "member") for v in value)
        return f"<{tag}>{inner}</{tag}>"
    if kind == "map":
        inner = "".join(f"<entry>{to_xml(shape.key, k, 'key')}{to_xml(shape.value, v, 'value')}</entry>"
                        for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if kind == "timestamp":
        text = iso(epoch(value))
    elif kind == "boolean":
        text = "true" if value else "false"
    else:
        text = str(value)
    return f"<{tag}>{escape(text)}</{tag}>"


def query_answer(service: str, operation: str, data: dict[str, Any]) -> Response:
    model = service_model(service)
    op = model.operation_model(operation)
    namespace = model.metadata.get("xmlNamespace", "")
    result = ""
    if op.output_shape is not None:
        result = to_xml(op.output_shape, data, f"{operation}Result")
    body = (f'<{operation}Response xmlns="{namespace}">{result}'
            f"<ResponseMetadata><RequestId>sandbox</RequestId></ResponseMetadata></{operation}Response>")
    return Response(200, body.encode(), {"Content-Type": "text/xml"})


def query_error(error: AwsError) -> Response:
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>")
    return Response(error.status, body.encode(), {"Content-Type": "text/xml"})


def query_input(service: str, operation: str, form: dict[str, str]) -> dict[str, Any]:
    op = service_model(service).operation_model(operation)
    if op.input_shape is None:
        return {}
    return from_query(form, op.input_shape) or {}
