"""X-Ray (signing name ``xray``, rest-json: ``POST /<Operation path>``): groups, sampling
rules and tags as the Terraform provider manages them, and GetTraceSummaries /
BatchGetTraces over the sandbox's trace store.

Filter expressions: the subset ``cutover traces`` and the tracing module write, joined by
``AND`` (``and``/``&&``): ``annotation.KEY = VALUE`` (typed: a quoted string, a number or
``true``/``false``; a value of another type never matches, as AWS documents),
``service("name")``, ``duration >= N`` (``>``, ``<``, ``<=``, ``=``), ``error``, ``fault``,
``ok``. Anything else is refused with InvalidRequestException, never ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..state import SandboxState, TraceSummary
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

MAX_SUMMARY_WINDOW_S = 24 * 3600.0
CLAUSE = re.compile(
    r'^(?:annotation\.(?P<key>[A-Za-z0-9_]+)\s*(?P<aop>=|!=)\s*(?P<value>"[^"]*"|true|false|-?\d+(?:\.\d+)?)'
    r'|service\(\s*"(?P<service>[^"]*)"\s*\)'
    r'|duration\s*(?P<dop>>=|<=|>|<|=)\s*(?P<duration>\d+(?:\.\d+)?)'
    r'|(?P<flag>error|fault|ok))$')


def _typed(text: str) -> str | float | bool:
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text)


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (a boolean is not a number here)."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else \
        (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)) or \
        (isinstance(a, str) and isinstance(b, str) and a == b)


def compile_filter(expression: str) -> list[Any]:
    """The clauses of an expression, each a predicate over a TraceSummary."""
    text = expression.strip()
    if not text:
        return []
    predicates = []
    for clause in re.split(r"\s+(?:AND|and)\s+|\s*&&\s*", text):
        match = CLAUSE.match(clause.strip().strip("()").strip())
        if match is None:
            raise AwsError("InvalidRequestException", f"the filter expression {clause!r} is not supported "
                           "by the sandbox's X-Ray")
        predicates.append(_predicate(match))
    return predicates


def _predicate(match: re.Match[str]) -> Any:
    if match["key"]:
        key, wanted, negate = match["key"], _typed(match["value"]), match["aop"] == "!="
        return lambda t: (key in t.annotations and _same(t.annotations[key], wanted)) != negate
    if match["service"] is not None:
        return lambda t: t.service == match["service"]
    if match["duration"]:
        ops = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__, "=": float.__eq__}
        op, limit = ops[match["dop"]], float(match["duration"])
        return lambda t: op(float(t.duration_s), limit)
    flag = match["flag"]
    return {"error": lambda t: t.has_error, "fault": lambda t: t.has_fault,
            "ok": lambda t: not t.has_error and not t.has_fault}[flag]


class XRay:
    signing_name = "xray"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.groups: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}

    def handle(self, request: Request) -> Response | None:
        operation = codec.service_model("xray").operation_names
        by_path = {codec.service_model("xray").operation_model(o).http["requestUri"]: o for o in operation}
        name = by_path.get(request.path)
        method = getattr(self, f"op_{name}", None) if name else None
        if method is None:
            return None
        try:
            with self.state.lock:
                return codec.json_answer(method(codec.json_body(request)) or {}, content_type="application/json")
        except AwsError as error:
            return codec.rest_error(error)
        except (KeyError, TypeError, ValueError) as exc:
            return codec.rest_error(AwsError("InvalidRequestException", f"{name}: invalid request: {exc}"))

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:xray:{self.state.region}:{self.state.account_id}:{kind}/{name}"

    # --- groups ---------------------------------------------------------------------------------
    def _group(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("GroupName") or str(params.get("GroupARN", "")).rsplit("/", 2)[-2:][0]
        group = self.groups.get(name) or next((g for g in self.groups.values()
                                               if g["GroupARN"] == params.get("GroupARN")), None)
        if group is None:
            raise AwsError("InvalidRequestException", f"Group {name} not found")
        return group

    def op_CreateGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["GroupName"]
        if name in self.groups:
            raise AwsError("InvalidRequestException", f"Group {name} already exists")
        if params.get("FilterExpression"):
            compile_filter(params["FilterExpression"])
        group = {"GroupName": name, "GroupARN": self._arn("group", f"{name}/{len(self.groups) + 1:08x}"),
                 "FilterExpression": params.get("FilterExpression", ""),
                 "InsightsConfiguration": params.get("InsightsConfiguration")
                 or {"InsightsEnabled": False, "NotificationsEnabled": False}}
        self.groups[name] = group
        self.tags[group["GroupARN"]] = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        return {"Group": group}

    def op_GetGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Group": self._group(params)}

    def op_GetGroups(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Groups": list(self.groups.values())}

    def op_UpdateGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(params)
        if "FilterExpression" in params:
            compile_filter(params["FilterExpression"])
            group["FilterExpression"] = params["FilterExpression"]
        if "InsightsConfiguration" in params:
            group["InsightsConfiguration"] = params["InsightsConfiguration"]
        return {"Group": group}

    def op_DeleteGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        del self.groups[self._group(params)["GroupName"]]
        return {}

    # --- sampling rules -------------------------------------------------------------------------
    def _record(self, rule: dict[str, Any]) -> dict[str, Any]:
        now = self.state.clock.to_wall(self.state.clock.time())
        return {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}

    def op_CreateSamplingRule(self, params: dict[str, Any]) -> dict[str, Any]:
        rule = dict(params["SamplingRule"])
        name = rule["RuleName"]
        if name in self.rules:
            raise AwsError("InvalidRequestException", f"Sampling rule {name} already exists")
        if not 1 <= len(name) <= 32:
            raise AwsError("InvalidRequestException", "RuleName must be 1-32 characters")
        rule["RuleARN"] = self._arn("sampling-rule", name)
        self.rules[name] = rule
        self.tags[rule["RuleARN"]] = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        return {"SamplingRuleRecord": self._record(rule)}

    def _rule(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("RuleName") or str(params.get("RuleARN", "")).rsplit("/", 1)[-1]
        if name not in self.rules:
            raise AwsError("InvalidRequestException", f"Sampling rule {name} not found")
        return self.rules[name]

    def op_GetSamplingRules(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"SamplingRuleRecords": [self._record(r) for r in self.rules.values()]}

    def op_UpdateSamplingRule(self, params: dict[str, Any]) -> dict[str, Any]:
        update = params["SamplingRuleUpdate"]
        rule = self._rule(update)
        rule.update({k: v for k, v in update.items() if k not in ("RuleName", "RuleARN")})
        return {"SamplingRuleRecord": self._record(rule)}

    def op_DeleteSamplingRule(self, params: dict[str, Any]) -> dict[str, Any]:
        rule = self._rule(params)
        del self.rules[rule["RuleName"]]
        return {"SamplingRuleRecord": self._record(rule)}

    # --- tags -------------------------------------------------------------------------------------
    def _tags(self, arn: str) -> dict[str, str]:
        if arn not in self.tags:
            raise AwsError("ResourceNotFoundException", f"no resource {arn}", 404)
        return self.tags[arn]

    def op_ListTagsForResource(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(self._tags(params["ResourceARN"]).items())]}

    def op_TagResource(self, params: dict[str, Any]) -> dict[str, Any]:
        self._tags(params["ResourceARN"]).update({t["Key"]: t["Value"] for t in params["Tags"]})
        return {}

    def op_UntagResource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags(params["ResourceARN"])
        for key in params["TagKeys"]:
            tags.pop(key, None)
        return {}

    # --- traces -------------------------------------------------------------------------------------
    def _summary(self, t: TraceSummary) -> dict[str, Any]:
        annotations = {k: [{"AnnotationValue": {"BooleanValue" if isinstance(v, bool) else
                                                "NumberValue" if isinstance(v, (int, float)) else "StringValue": v}}]
                       for k, v in t.annotations.items()}
        return {"Id": t.trace_id, "StartTime": self.state.clock.to_wall(t.start), "Duration": t.duration_s,
                "ResponseTime": t.duration_s, "HasError": t.has_error, "HasFault": t.has_fault,
                "HasThrottle": False, "IsPartial": False, "Annotations": annotations,
                "ServiceIds": [{"Name": t.service, "Names": [t.service], "Type": "AWS::Lambda::Function"}]}

    def op_GetTraceSummaries(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = codec.epoch(params["StartTime"]), codec.epoch(params["EndTime"])
        if end <= start or end - start > MAX_SUMMARY_WINDOW_S:
            raise AwsError("InvalidRequestException", "the time range must be positive and at most 24 hours")
        predicates = compile_filter(params.get("FilterExpression") or "")
        clock = self.state.clock
        found = [t for t in self.state.traces.between(clock.to_sim(start), clock.to_sim(end))
                 if all(p(t) for p in predicates)]
        offset = int(params.get("NextToken") or 0)
        page = found[offset: offset + 100]
        out: dict[str, Any] = {"TraceSummaries": [self._summary(t) for t in page],
                               "ApproximateTime": end, "TracesProcessedCount": len(found)}
        if offset + 100 < len(found):
            out["NextToken"] = str(offset + 100)
        return out

    def op_BatchGetTraces(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = set(params["TraceIds"])
        found = {t.trace_id: t for t in self.state.traces.between(float("-inf"), float("inf")) if t.trace_id in wanted}
        traces = [{"Id": t.trace_id, "Duration": t.duration_s, "Segments": [
            {"Id": t.trace_id[-16:], "Document": json.dumps({
                "name": t.service, "id": t.trace_id[-16:], "trace_id": t.trace_id,
                "start_time": self.state.clock.to_wall(t.start),
                "end_time": self.state.clock.to_wall(t.start + t.duration_s),
                "error": t.has_error, "fault": t.has_fault, "annotations": t.annotations})}]}
            for t in found.values()]
        return {"Traces": traces, "UnprocessedTraceIds": sorted(wanted - set(found))}
