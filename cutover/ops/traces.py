"""`cutover traces`: X-Ray traces found with filter expressions built from the
annotations the functions write (functions/router/handler.py: release, path, canary as
a boolean, route, step, userId hashed like functions/cutover_runtime/assignment.py)."""

from __future__ import annotations

import json
import time

from rich.console import Console

from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.names import PathNames, ReleaseNames
from cutover.ops.output import OK, Result, table
from cutover.runtime.assignment import user_hash


def _quote(value: str) -> str:
    return json.dumps(value)


def filter_expression(names: ReleaseNames, path: PathNames, *, canary: bool = False, errors: bool = False,
                      slow: float | None = None, user: str | None = None) -> str:
    parts = [f"annotation.release = {_quote(names.release)}", f"annotation.path = {_quote(path.name)}"]
    if canary:
        parts.append("annotation.canary = true")  # the router writes a boolean (tests/functions)
    if errors:
        parts.append("(error = true OR fault = true)")
    if slow is not None:
        parts.append(f"duration >= {slow:g}")
    if user is not None:
        if names.user_id_mode == "off":
            raise OpsError("the functions write no userId annotation (observability.tracing.user_id: off)")
        value = user if names.user_id_mode == "raw" else user_hash(path.salt, user)
        parts.append(f"annotation.userId = {_quote(value)}")
    return " AND ".join(parts)


def console_link(region: str, trace_id: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#xray:traces/{trace_id}"


def run(ctx: Context, since: int, path_name: str | None, limit: int = 50, **filters) -> Result:
    names = ctx.names
    path = names.path(path_name)
    expression = filter_expression(names, path, **filters)
    end = time.time()
    found = []
    with aws_errors("find X-Ray traces (xray:GetTraceSummaries)"):
        client, token = ctx.clients("xray"), None
        while len(found) < limit:
            kwargs = {"StartTime": end - since, "EndTime": end, "FilterExpression": expression, "Sampling": False}
            page = client.get_trace_summaries(**kwargs, **({"NextToken": token} if token else {}))
            found += page.get("TraceSummaries", [])
            token = page.get("NextToken")
            if not token:
                break
    traces = [{"id": t["Id"], "durationSeconds": t.get("Duration"), "responseTime": t.get("ResponseTime"),
               "error": bool(t.get("HasError") or t.get("HasFault")),
               "annotations": {k: [v.get("AnnotationValue", {}) for v in vs] for k, vs in t.get("Annotations", {}).items()},
               "link": console_link(names.region, t["Id"])} for t in found[:limit]]

    def view(out: Console) -> None:
        out.print(f"filter: {expression}")
        out.print(table(f"{len(traces)} trace(s)", ["trace", "duration (s)", "error", "console"],
                        [[t["id"], t["durationSeconds"], "yes" if t["error"] else "", t["link"]] for t in traces]))

    return Result("traces", OK, {"env": ctx.env, "filterExpression": expression, "traces": traces}, view)
