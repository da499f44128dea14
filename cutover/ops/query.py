"""`cutover query NAME`: run one of the generated Logs Insights queries and print it.

The query text and its log groups are the plan's (the same files Terraform saves as
query definitions), so what an operator runs is what the dashboard's queries say.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

from cutover.generator.render.files import render_files
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.names import module_args
from cutover.ops.output import FAILED, OK, Result, table

POLL_SECONDS = 1.0
DONE = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")


def resolve(ctx: Context, name: str, plan) -> tuple[str, str, list[str]]:
    """(slug, query text, log group names) for a slug or a template name (first path)."""
    queries = {q.slug: q for q in ctx.names.queries}
    query = queries.get(name) or next((q for q in ctx.names.queries if q.template == name), None)
    if query is None:
        raise OpsError(f"no query '{name}' in {ctx.env}; known: {', '.join(sorted(queries))}")
    text = render_files(plan)[f"queries/{query.slug}.logsinsights"].decode()
    groups = [f"/aws/lambda/{module_args(plan, m.name)['name']}" for m in query.modules]
    return query.slug, text, groups


def run(ctx: Context, plan, name: str, since: int, sleep: Callable[[float], None] = time.sleep) -> Result:
    slug, text, groups = resolve(ctx, name, plan)
    end = int(time.time())
    logs = ctx.clients("logs")
    with aws_errors(f"run the Logs Insights query {slug} (logs:StartQuery)"):
        query_id = logs.start_query(logGroupNames=groups, startTime=end - since, endTime=end,
                                    queryString=text, limit=1000)["queryId"]
        while True:
            answer = logs.get_query_results(queryId=query_id)
            if answer["status"] in DONE:
                break
            sleep(POLL_SECONDS)
    rows = [{f["field"]: f["value"] for f in row if not f["field"].startswith("@ptr")} for row in answer.get("results", [])]
    columns = list(dict.fromkeys(k for r in rows for k in r))

    def view(out: Console) -> None:
        window = f"the last {_window(since)}"
        if answer["status"] != "Complete":
            out.print(f"query {slug} ended {answer['status']} (Logs Insights, log groups {', '.join(groups)}): "
                      f"{_why(answer['status'])}", markup=False)
        elif not rows:
            out.print(f"query {slug}: no rows in the window ({window}, log groups {', '.join(groups)}); "
                      "try a longer --since, or check that the functions were invoked", markup=False)
        else:
            out.print(table(f"{slug} — {window} — {len(rows)} row(s)", columns,
                            [[r.get(c) for c in columns] for r in rows]))
        stats = answer.get("statistics") or {}
        if stats:
            out.print(f"scanned {stats.get('recordsScanned', 0):g} records, {stats.get('bytesScanned', 0):g} bytes")

    return Result("query", OK if answer["status"] == "Complete" else FAILED,
                  {"env": ctx.env, "query": slug, "logGroups": groups, "status": answer["status"],
                   "rows": rows, "statistics": answer.get("statistics", {})}, view)


def _window(since: int) -> str:
    if since % 3600 == 0:
        return f"{since // 3600} h"
    return f"{since // 60} min" if since % 60 == 0 else f"{since} s"


def _why(status: str) -> str:
    return {
        "Failed": "the query failed; run it in the CloudWatch console (Logs Insights) to see the error",
        "Cancelled": "someone cancelled it; run the command again",
        "Timeout": "it ran past Logs Insights' 60-minute limit; try a shorter --since",
    }.get(status, "Logs Insights gave no result; run the command again")
