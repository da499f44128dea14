"""CloudWatch Logs (signing name ``logs``, JSON 1.1, ``Logs_20140328.<Op>``): what moto
lacks. Query definitions (Put/Describe/DeleteQueryDefinition), Logs Insights queries
(StartQuery / GetQueryResults / StopQuery, over the sandbox's log store with the subset
of the query language in ``insights``), and FilterLogEvents / GetLogEvents over the same
store. Log groups themselves (create, retention, tags) stay with moto: a query or a read
of a group moto does not know is refused with ResourceNotFoundException, as AWS does.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from . import insights
from ._codec import AwsError

OPERATIONS = {"PutQueryDefinition", "DescribeQueryDefinitions", "DeleteQueryDefinition", "StartQuery",
              "GetQueryResults", "StopQuery", "FilterLogEvents", "GetLogEvents", "DescribeQueries"}
MAX_GROUPS_PER_QUERY = 50
MAX_QUERY_LIMIT = 10_000


class Logs:
    signing_name = "logs"

    def __init__(self, state: SandboxState, group_exists: Callable[[str], bool]) -> None:
        self.state = state
        self.group_exists = group_exists
        self.definitions: dict[str, dict[str, Any]] = {}
        self.queries: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Response | None:
        operation = request.target
        if operation not in OPERATIONS:
            return None
        try:
            params = codec.json_body(request)
            with self.state.lock:
                return codec.json_answer(getattr(self, f"op_{operation}")(params) or {})
        except AwsError as error:
            return codec.json_error(error)
        except (KeyError, TypeError, ValueError) as exc:
            return codec.json_error(AwsError("InvalidParameterException", f"{operation}: {exc}"))

    # --- query definitions ------------------------------------------------------------------
    def op_PutQueryDefinition(self, params: dict[str, Any]) -> dict[str, Any]:
        name, text = str(params["name"]), str(params["queryString"])
        if not 1 <= len(name) <= 255 or not 1 <= len(text) <= 10_000:
            raise AwsError("InvalidParameterException", "name must be 1-255 and queryString 1-10000 characters")
        ident = params.get("queryDefinitionId")
        if ident and ident not in self.definitions:
            raise AwsError("ResourceNotFoundException", f"query definition {ident} not found")
        ident = ident or str(uuid.UUID(int=next(self._ids) + (1 << 64)))
        self.definitions[ident] = {"queryDefinitionId": ident, "name": name, "queryString": text,
                                   "logGroupNames": params.get("logGroupNames") or [],
                                   "lastModified": int(self.state.clock.to_wall(self.state.clock.time()) * 1000),
                                   "queryLanguage": params.get("queryLanguage", "CWLI")}
        return {"queryDefinitionId": ident}

    def op_DescribeQueryDefinitions(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("queryDefinitionNamePrefix") or ""
        found = [d for d in self.definitions.values() if d["name"].startswith(prefix)]
        found.sort(key=lambda d: d["name"])
        start = int(params.get("nextToken") or 0)
        limit = int(params.get("maxResults") or 1000)
        out: dict[str, Any] = {"queryDefinitions": found[start:start + limit]}
        if start + limit < len(found):
            out["nextToken"] = str(start + limit)
        return out

    def op_DeleteQueryDefinition(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.definitions.pop(params["queryDefinitionId"], None) is None:
            raise AwsError("ResourceNotFoundException", f"query definition {params['queryDefinitionId']} not found")
        return {"success": True}

    # --- events -----------------------------------------------------------------------------------
    def _group(self, name: str) -> str:
        if not self.group_exists(name):
            raise AwsError("ResourceNotFoundException", "The specified log group does not exist.")
        return name

    def _window(self, params: dict[str, Any], start_key: str, end_key: str) -> tuple[float, float]:
        clock = self.state.clock
        start = clock.to_sim(params[start_key] / 1000.0) if params.get(start_key) is not None else float("-inf")
        end = clock.to_sim(params[end_key] / 1000.0) if params.get(end_key) is not None else float("inf")
        return start, end

    def _event(self, event: Any) -> dict[str, Any]:
        ms = int(self.state.clock.to_wall(event.timestamp) * 1000)
        return {"logStreamName": event.stream, "timestamp": ms, "message": event.message, "ingestionTime": ms,
                "eventId": f"{ms}-{abs(hash((event.stream, event.message))) % 10**9}"}

    def op_FilterLogEvents(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(str(params.get("logGroupName") or params.get("logGroupIdentifier", "")).split(":")[-1])
        start, end = self._window(params, "startTime", "endTime")
        pattern = str(params.get("filterPattern") or "")
        streams = params.get("logStreamNames")
        events = [e for e in self.state.logs.events(group, start, end)
                  if (not streams or e.stream in streams) and insights.matches_pattern(pattern, e.message)]
        offset = int(params.get("nextToken") or 0)
        limit = int(params.get("limit") or 10_000)
        out: dict[str, Any] = {"events": [self._event(e) for e in events[offset:offset + limit]],
                               "searchedLogStreams": []}
        if offset + limit < len(events):
            out["nextToken"] = str(offset + limit)
        return out

    def op_GetLogEvents(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(str(params.get("logGroupName") or params.get("logGroupIdentifier", "")).split(":")[-1])
        start, end = self._window(params, "startTime", "endTime")
        events = [self._event(e) for e in self.state.logs.events(group, start, end)
                  if e.stream == params["logStreamName"]]
        limit = int(params.get("limit") or 10_000)
        events = events[-limit:] if not params.get("startFromHead") else events[:limit]
        return {"events": events, "nextForwardToken": "f/end", "nextBackwardToken": "b/start"}

    # --- Logs Insights ----------------------------------------------------------------------------
    def op_StartQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = list(params.get("logGroupNames") or [])
        if params.get("logGroupName"):
            groups.append(params["logGroupName"])
        groups += [str(g).split(":log-group:")[-1].removesuffix(":*") for g in params.get("logGroupIdentifiers") or []]
        if not groups or len(groups) > MAX_GROUPS_PER_QUERY:
            raise AwsError("InvalidParameterException", f"name 1-{MAX_GROUPS_PER_QUERY} log groups")
        for group in groups:
            self._group(group)
        start, end = (self.state.clock.to_sim(float(params[k])) for k in ("startTime", "endTime"))
        if end < start:
            raise AwsError("InvalidParameterException", "endTime is before startTime")
        try:
            query = insights.parse(str(params["queryString"]))
        except insights.QueryError as exc:
            raise AwsError("MalformedQueryException", str(exc)) from None
        limit = int(params.get("limit") or query.limit or 10_000)
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise AwsError("InvalidParameterException", f"limit must be 1-{MAX_QUERY_LIMIT}")
        events = [e for g in groups for e in self.state.logs.events(g, start, end + 1)]
        ident = str(uuid.UUID(int=next(self._ids)))
        rows, scanned = insights.run(query, events, self.state.clock.to_wall)
        self.queries[ident] = {"status": "Complete", "rows": rows[:limit], "scanned": scanned,
                               "queryString": params["queryString"], "groups": groups}
        return {"queryId": ident}

    def op_GetQueryResults(self, params: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(params["queryId"])
        if query is None:
            raise AwsError("ResourceNotFoundException", f"query {params['queryId']} not found")
        results = [[{"field": k, "value": v} for k, v in row.items()] for row in query["rows"]]
        return {"status": query["status"], "results": results,
                "statistics": {"recordsMatched": float(len(query["rows"])), "recordsScanned": float(query["scanned"]),
                               "bytesScanned": 0.0}}

    def op_StopQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(params["queryId"])
        if query is None:
            raise AwsError("ResourceNotFoundException", f"query {params['queryId']} not found")
        if query["status"] not in ("Scheduled", "Running"):
            raise AwsError("InvalidParameterException", f"query {params['queryId']} is {query['status']}")
        query["status"] = "Cancelled"
        return {"success": True}

    def op_DescribeQueries(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"queries": [{"queryId": k, "queryString": q["queryString"], "status": q["status"],
                             "logGroupName": q["groups"][0]} for k, q in self.queries.items()]}
