"""CloudWatch alarms and metrics (signing name ``monitoring``), evaluated over the sandbox's
metric store with the rehearsal's evaluation (``AlarmDefinition``, the metric-math parser).

Answered in both protocols its callers use: the query protocol (form ``Action=...``,
answers in XML: the Terraform provider) and the JSON protocol (``X-Amz-Target:
GraniteServiceVersion20100801.<Op>``: boto3 1.44). Dashboards are left to moto.

As AWS does: a new alarm is INSUFFICIENT_DATA until evaluated; each whole simulated minute
(``tick``) every metric alarm is evaluated over what its PutMetricAlarm stored, then the
composites over their rules; DescribeAlarms without AlarmTypes returns metric alarms only;
SetAlarmState holds until the next evaluation; an unknown alarm in a composite rule or in
SetAlarmState is refused. Alarm actions are not run here: transitions are returned by
``tick`` (the simulation delivers them to EventBridge).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from cutover.rehearsal.cloudwatch import (
    COMPARISONS,
    INSUFFICIENT,
    RESOLUTION,
    AlarmDefinition,
    Parser,
    dims_key,
    evaluate_math,
    evaluate_rule,
)

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

TARGET_PREFIX = "GraniteServiceVersion20100801"
DASHBOARD_OPS = {"PutDashboard", "GetDashboard", "ListDashboards", "DeleteDashboards"}
MAX_NAMES = 100


@dataclass(frozen=True)
class Transition:
    """An alarm's state change, for EventBridge delivery."""

    name: str
    arn: str
    old: str
    new: str
    at_s: int  # simulated seconds since start
    kind: str  # "Metric" | "Composite"


@dataclass
class Alarm:
    kind: str  # MetricAlarm | CompositeAlarm
    spec: dict[str, Any]  # what Put*Alarm stored (without Tags)
    arn: str
    updated: float  # sandbox epoch seconds
    state: str = INSUFFICIENT
    reason: str = "Unchecked: Initial alarm creation"
    state_updated: float = 0.0
    definition: AlarmDefinition | None = None
    rule: tuple | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.spec["AlarmName"])


def definition_of(spec: dict[str, Any]) -> AlarmDefinition:
    """The rehearsal's alarm definition of a PutMetricAlarm request."""
    metrics, expressions, period = [], [], spec.get("Period")
    for query in spec.get("Metrics") or []:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            metrics.append({"id": query["Id"], "namespace": metric["Namespace"], "metric_name": metric["MetricName"],
                            "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []},
                            "stat": stat["Stat"]})
            period = period or stat["Period"]
            if query.get("ReturnData", False):
                expressions.append({"id": f"{query['Id']}_returned", "expression": query["Id"], "return_data": True})
        else:
            expressions.append({"id": query["Id"], "expression": query["Expression"],
                                "return_data": query.get("ReturnData", True)})
            period = period or query.get("Period")
    expressions = _in_dependency_order(expressions, {m["id"] for m in metrics})
    if not spec.get("Metrics"):
        metrics.append({"id": "m", "namespace": spec["Namespace"], "metric_name": spec["MetricName"],
                        "dimensions": {d["Name"]: d["Value"] for d in spec.get("Dimensions") or []},
                        "stat": spec.get("Statistic") or spec.get("ExtendedStatistic")})
        expressions.append({"id": "e", "expression": "m", "return_data": True})
    evaluation_periods = int(spec["EvaluationPeriods"])
    return AlarmDefinition.from_document(spec["AlarmName"], {
        "name": spec["AlarmName"], "role": "", "threshold": float(spec.get("Threshold", 0.0)),
        "comparison": spec["ComparisonOperator"], "period": int(period or RESOLUTION),
        "evaluation_periods": evaluation_periods,
        "datapoints_to_alarm": int(spec.get("DatapointsToAlarm") or evaluation_periods),
        "treat_missing_data": spec.get("TreatMissingData") or "missing",
        "metrics": metrics, "expressions": expressions})


def _ids_in(tree: Any) -> set[str]:
    if not isinstance(tree, tuple):
        return set()
    if tree[0] == "id":
        return {tree[1]}
    return set().union(*(_ids_in(x) for x in tree[1:] if isinstance(x, (tuple, list))),
                       *(_ids_in(a) for x in tree[1:] if isinstance(x, list) for a in x))


def _in_dependency_order(expressions: list[dict[str, Any]], known: set[str]) -> list[dict[str, Any]]:
    """The expressions, each after the ids it reads: Metrics is a set to AWS (the Terraform
    provider sends its metric_query blocks in no particular order)."""
    ordered, waiting, known = [], list(expressions), set(known)
    while waiting:
        ready = [e for e in waiting if _ids_in(Parser(e["expression"]).parse()) <= known]
        if not ready:
            missing = sorted(set().union(*(_ids_in(Parser(e["expression"]).parse()) for e in waiting)) - known)
            raise ValueError(f"the expressions read ids that are not defined (or form a cycle): {', '.join(missing)}")
        for e in ready:
            ordered.append(e)
            known.add(e["id"])
            waiting.remove(e)
    return ordered


def _rule_names(rule: str) -> list[str]:
    return [m.split(":alarm:")[-1] for m in re.findall(r'\(\s*"([^"]+)"\s*\)', rule)]


def _parse_rule(rule: str) -> tuple:
    names = re.sub(r'"arn:[^"]*:alarm:([^"]+)"', r'"\1"', rule)
    try:
        tree = Parser(names).parse()
        evaluate_rule(tree, {})
        return tree
    except (ValueError, IndexError, KeyError) as exc:
        raise AwsError("ValidationError", f"AlarmRule is not valid: {exc}") from None


class Monitoring:
    signing_name = "monitoring"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.alarms: dict[str, Alarm] = {}
        self.history: list[dict[str, Any]] = []
        self.evaluated_s: int | None = None

    # --- the wire ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        if request.target:
            operation, query = request.target, False
        elif request.action:
            operation, query = request.action, True
        else:
            return None
        if operation in DASHBOARD_OPS:
            return None
        method = getattr(self, f"op_{operation}", None)
        if method is None:
            error = AwsError("InvalidAction", f"{operation} is not served by the sandbox", 400)
            return codec.query_error(error) if query else codec.json_error(error, "application/x-amz-json-1.0")
        try:
            params = (codec.query_input("cloudwatch", operation, codec.query_form(request)) if query
                      else codec.json_body(request))
            with self.state.lock:
                result = method(params) or {}
        except AwsError as error:
            return codec.query_error(error) if query else codec.json_error(error, "application/x-amz-json-1.0")
        except (KeyError, TypeError, ValueError) as exc:
            error = AwsError("ValidationError", f"{operation}: invalid or missing parameter: {exc}")
            return codec.query_error(error) if query else codec.json_error(error, "application/x-amz-json-1.0")
        if query:
            return codec.query_answer("cloudwatch", operation, result)
        return codec.json_answer(result, content_type="application/x-amz-json-1.0")

    # --- time ---------------------------------------------------------------------------------
    def _sim_epoch(self) -> float:
        return self.state.clock.time()

    def _wall(self, sim_epoch: float) -> float:
        return self.state.clock.to_wall(sim_epoch)

    def _since_start(self, wall_epoch: float) -> float:
        """A caller's timestamp as metric-store seconds (since the sandbox started)."""
        return self.state.clock.to_sim(wall_epoch) - self.state.clock.start_epoch

    # --- alarms --------------------------------------------------------------------------------
    def _arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.state.region}:{self.state.account_id}:alarm:{name}"

    def _put(self, kind: str, params: dict[str, Any], definition: Any, rule: Any) -> None:
        name = str(params["AlarmName"])
        if not 1 <= len(name) <= 255:
            raise AwsError("ValidationError", "AlarmName must be 1-255 characters")
        spec = {k: v for k, v in params.items() if k != "Tags"}
        existing = self.alarms.get(name)
        now = self._sim_epoch()
        if existing is not None and existing.kind != kind:
            raise AwsError("ValidationError", f"{name} is a {existing.kind}: it cannot be replaced by a {kind}")
        if existing is None:
            existing = self.alarms[name] = Alarm(kind, spec, self._arn(name), now, state_updated=now)
            existing.tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
            self._history(existing, "ConfigurationUpdate", f'Alarm "{name}" created')
        else:
            existing.spec, existing.updated = spec, now
            self._history(existing, "ConfigurationUpdate", f'Alarm "{name}" updated')
        existing.definition, existing.rule = definition, rule

    def op_PutMetricAlarm(self, params: dict[str, Any]) -> None:
        if params.get("ComparisonOperator") not in COMPARISONS:
            raise AwsError("ValidationError", f"ComparisonOperator {params.get('ComparisonOperator')!r} is not "
                           f"supported here (one of {', '.join(COMPARISONS)})")
        if bool(params.get("Metrics")) == bool(params.get("MetricName")):
            raise AwsError("ValidationError", "give either MetricName (with Namespace) or Metrics, not both")
        if int(params.get("EvaluationPeriods", 0)) < 1:
            raise AwsError("ValidationError", "EvaluationPeriods must be at least 1")
        try:
            definition = definition_of(params)
        except (KeyError, ValueError) as exc:
            raise AwsError("ValidationError", f"the alarm's metrics are not valid: {exc}") from None
        self._put("MetricAlarm", params, definition, None)

    def op_PutCompositeAlarm(self, params: dict[str, Any]) -> None:
        rule = str(params["AlarmRule"])
        missing = [n for n in _rule_names(rule) if n not in self.alarms]
        if missing:
            raise AwsError("ValidationError", f"AlarmRule names alarms that do not exist: {', '.join(missing)}")
        self._put("CompositeAlarm", params, None, _parse_rule(rule))

    def op_DeleteAlarms(self, params: dict[str, Any]) -> None:
        names = params.get("AlarmNames") or []
        missing = [n for n in names if n not in self.alarms]
        if missing:
            raise AwsError("ResourceNotFound", f"alarms not found: {', '.join(missing)}", 404)
        for name in names:
            parents = [a.name for a in self.alarms.values() if a.kind == "CompositeAlarm" and a.name not in names
                       and name in _rule_names(str(a.spec["AlarmRule"]))]
            if parents:
                raise AwsError("ValidationError", f"{name} is used by composite alarm {parents[0]}")
        for name in names:
            del self.alarms[name]

    def describe(self, alarm: Alarm) -> dict[str, Any]:
        out = dict(alarm.spec)
        out.update({"AlarmArn": alarm.arn, "StateValue": alarm.state, "StateReason": alarm.reason,
                    "StateUpdatedTimestamp": self._wall(alarm.state_updated),
                    "StateTransitionedTimestamp": self._wall(alarm.state_updated),
                    "AlarmConfigurationUpdatedTimestamp": self._wall(alarm.updated),
                    "ActionsEnabled": alarm.spec.get("ActionsEnabled", True)})
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            out.setdefault(key, [])
        return out

    def op_DescribeAlarms(self, params: dict[str, Any]) -> dict[str, Any]:
        names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
        if names and prefix:
            raise AwsError("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be used together")
        if names and len(names) > MAX_NAMES:
            raise AwsError("ValidationError", f"at most {MAX_NAMES} AlarmNames")
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        found = [a for a in sorted(self.alarms.values(), key=lambda a: a.name)
                 if a.kind in types and (not names or a.name in names)
                 and (not prefix or a.name.startswith(prefix))
                 and (not params.get("StateValue") or a.state == params["StateValue"])
                 and (not params.get("ActionPrefix")
                      or any(x.startswith(params["ActionPrefix"]) for x in a.spec.get("AlarmActions") or []))]
        return {"MetricAlarms": [self.describe(a) for a in found if a.kind == "MetricAlarm"],
                "CompositeAlarms": [self.describe(a) for a in found if a.kind == "CompositeAlarm"]}

    def op_DescribeAlarmsForMetric(self, params: dict[str, Any]) -> dict[str, Any]:
        dims = dims_key({d["Name"]: d["Value"] for d in params.get("Dimensions") or []})
        found = [a for a in self.alarms.values() if a.kind == "MetricAlarm"
                 and a.spec.get("MetricName") == params["MetricName"] and a.spec.get("Namespace") == params["Namespace"]
                 and (not params.get("Dimensions")
                      or dims_key({d["Name"]: d["Value"] for d in a.spec.get("Dimensions") or []}) == dims)]
        return {"MetricAlarms": [self.describe(a) for a in found]}

    def _alarm(self, name: str) -> Alarm:
        alarm = self.alarms.get(name)
        if alarm is None:
            raise AwsError("ResourceNotFound", f"alarm {name} does not exist", 404)
        return alarm

    def op_SetAlarmState(self, params: dict[str, Any]) -> None:
        alarm = self._alarm(str(params["AlarmName"]))
        if params["StateValue"] not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            raise AwsError("ValidationError", "StateValue must be OK, ALARM or INSUFFICIENT_DATA")
        self._set(alarm, params["StateValue"], str(params["StateReason"]), int(self.state.clock.now))

    def _actions(self, params: dict[str, Any], enabled: bool) -> None:
        for name in params["AlarmNames"]:
            alarm = self.alarms.get(name)
            if alarm is not None:
                alarm.spec["ActionsEnabled"] = enabled

    def op_EnableAlarmActions(self, params: dict[str, Any]) -> None:
        self._actions(params, True)

    def op_DisableAlarmActions(self, params: dict[str, Any]) -> None:
        self._actions(params, False)

    def _by_arn(self, arn: str) -> Alarm:
        name = arn.split(":alarm:", 1)[-1]
        alarm = self.alarms.get(name)
        if alarm is None or alarm.arn != arn:
            raise AwsError("ResourceNotFoundException", f"no resource {arn}", 404)
        return alarm

    def op_TagResource(self, params: dict[str, Any]) -> None:
        self._by_arn(params["ResourceARN"]).tags.update({t["Key"]: t["Value"] for t in params["Tags"]})

    def op_UntagResource(self, params: dict[str, Any]) -> None:
        tags = self._by_arn(params["ResourceARN"]).tags
        for key in params["TagKeys"]:
            tags.pop(key, None)

    def op_ListTagsForResource(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._by_arn(params["ResourceARN"]).tags
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def _history(self, alarm: Alarm, kind: str, summary: str) -> None:
        self.history.append({"AlarmName": alarm.name, "AlarmType": alarm.kind, "Timestamp": self._sim_epoch(),
                             "HistoryItemType": kind, "HistorySummary": summary, "HistoryData": "{}"})

    def op_DescribeAlarmHistory(self, params: dict[str, Any]) -> dict[str, Any]:
        start = self.state.clock.to_sim(params["StartDate"]) if params.get("StartDate") else float("-inf")
        end = self.state.clock.to_sim(params["EndDate"]) if params.get("EndDate") else float("inf")
        items = [dict(h, Timestamp=self._wall(h["Timestamp"])) for h in self.history
                 if (not params.get("AlarmName") or h["AlarmName"] == params["AlarmName"])
                 and h["AlarmType"] in (params.get("AlarmTypes") or ["MetricAlarm"])
                 and (not params.get("HistoryItemType") or h["HistoryItemType"] == params["HistoryItemType"])
                 and start <= h["Timestamp"] <= end]
        if params.get("ScanBy") != "TimestampAscending":
            items.reverse()
        return {"AlarmHistoryItems": items[: int(params.get("MaxRecords") or 100)]}

    # --- evaluation -----------------------------------------------------------------------------
    def _set(self, alarm: Alarm, new: str, reason: str, at_s: int) -> Transition | None:
        old = alarm.state
        if new == old:
            return None
        alarm.state, alarm.reason = new, reason
        alarm.state_updated = self.state.clock.start_epoch + at_s
        self.history.append({"AlarmName": alarm.name, "AlarmType": alarm.kind, "Timestamp": alarm.state_updated,
                             "HistoryItemType": "StateUpdate",
                             "HistorySummary": f"Alarm updated from {old} to {new}", "HistoryData": "{}"})
        return Transition(alarm.name, alarm.arn, old, new, at_s, alarm.kind.removesuffix("Alarm"))

    def evaluate(self, at_s: int) -> list[Transition]:
        """One evaluation at a whole minute: the metric alarms, then the composites."""
        out = []
        for alarm in list(self.alarms.values()):
            if alarm.definition is not None:
                new = alarm.definition.state_at(self.state.metrics, at_s, alarm.state)
                out.append(self._set(alarm, new, f"Threshold evaluated at {at_s}s", at_s))
        for _ in range(2):  # a composite may name a composite
            states = {a.name: a.state for a in self.alarms.values()}
            for alarm in list(self.alarms.values()):
                if alarm.rule is not None:
                    new = "ALARM" if evaluate_rule(alarm.rule, states) else "OK"
                    out.append(self._set(alarm, new, "Composite rule evaluated", at_s))
        return [t for t in out if t is not None]

    def tick(self, now_s: float) -> list[Transition]:
        """Evaluate every whole minute after the last one, up to ``now_s``."""
        out: list[Transition] = []
        end = int(now_s // RESOLUTION) * RESOLUTION
        t = (self.evaluated_s + RESOLUTION) if self.evaluated_s is not None else max(0, end)
        while t <= end:
            out += self.evaluate(t)
            self.evaluated_s = t
            t += RESOLUTION
        return out

    # --- metrics ----------------------------------------------------------------------------------
    def op_PutMetricData(self, params: dict[str, Any]) -> None:
        namespace = str(params["Namespace"])
        if namespace.startswith("AWS/"):
            raise AwsError("InvalidParameterValue", "the namespace AWS/ is reserved for AWS services")
        for datum in params.get("MetricData") or []:
            dims = {d["Name"]: d["Value"] for d in datum.get("Dimensions") or []}
            at = (self._since_start(codec.epoch(datum["Timestamp"])) if datum.get("Timestamp")
                  else self.state.clock.now)
            values = datum.get("Values") or ([datum["Value"]] if "Value" in datum else [])
            counts = datum.get("Counts") or [1] * len(values)
            for value, count in zip(values, counts, strict=False):
                for _ in range(int(count)):
                    self.state.metrics.put(namespace, datum["MetricName"], dims, at, float(value))

    def _slots(self, params: dict[str, Any], period: int) -> list[tuple[float, int]]:
        """(the caller's timestamp, the store's second) of each period of [StartTime, EndTime):
        aligned on the caller's clock, as the caller asked, then shifted onto the store's."""
        if period <= 0 or period % RESOLUTION and period not in (1, 5, 10, 30):
            raise AwsError("InvalidParameterValue", "Period must be 1, 5, 10, 30 or a multiple of 60")
        start, end = codec.epoch(params["StartTime"]), codec.epoch(params["EndTime"])
        if end <= start:
            raise AwsError("InvalidParameterValue", "EndTime must be after StartTime")
        shift = self.state.clock.offset() - self.state.clock.start_epoch
        first = math.floor(start / period) * period
        return [(t, round(t + shift)) for t in range(int(first), math.ceil(end), period)]

    def _series(self, query: dict[str, Any], params: dict[str, Any]) -> dict[float, float]:
        stat = query["MetricStat"]
        metric, period = stat["Metric"], int(stat["Period"])
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
        out = {}
        for wall, t in self._slots(params, period):
            value = self.state.metrics.statistic(metric["Namespace"], metric["MetricName"], dims, t, t + period,
                                                 stat["Stat"])
            if value is not None:
                out[wall] = value
        return out

    def op_GetMetricData(self, params: dict[str, Any]) -> dict[str, Any]:
        queries = params["MetricDataQueries"]
        periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q]
        slots = [wall for wall, _ in self._slots(params, min(periods) if periods else RESOLUTION)]
        env: dict[str, Any] = {}
        results = []
        for query in queries:
            if "MetricStat" in query:
                env[query["Id"]] = self._series(query, params)
            else:
                env[query["Id"]] = self._expression(query, env, slots)
            if query.get("ReturnData", True):
                series = sorted(env[query["Id"]].items(), reverse=params.get("ScanBy") != "TimestampAscending")
                results.append({"Id": query["Id"], "Label": query.get("Label", query["Id"]),
                                "Timestamps": [t for t, _ in series], "Values": [v for _, v in series],
                                "StatusCode": "Complete"})
        return {"MetricDataResults": results, "Messages": []}

    def _expression(self, query: dict[str, Any], env: dict[str, Any], slots: list[float]) -> dict[float, float]:
        try:
            value = evaluate_math(Parser(query["Expression"]).parse(), env, slots)  # type: ignore[arg-type]
        except (ValueError, IndexError, KeyError) as exc:
            raise AwsError("ValidationError", f"{query['Id']}: the expression is not valid: {exc}") from None
        if isinstance(value, dict):
            return value
        return {t: value for t in slots} if value is not None else {}

    def op_GetMetricStatistics(self, params: dict[str, Any]) -> dict[str, Any]:
        period = int(params["Period"])
        stats = list(params.get("Statistics") or []) + list(params.get("ExtendedStatistics") or [])
        if not stats:
            raise AwsError("InvalidParameterCombination", "give Statistics or ExtendedStatistics")
        dims = {d["Name"]: d["Value"] for d in params.get("Dimensions") or []}
        points = []
        for wall, t in self._slots(params, period):
            values = {s: self.state.metrics.statistic(params["Namespace"], params["MetricName"], dims, t, t + period, s)
                      for s in stats}
            if all(v is None for v in values.values()):
                continue
            point: dict[str, Any] = {"Timestamp": wall, "Unit": params.get("Unit", "None")}
            point.update({s: v for s, v in values.items() if s in (params.get("Statistics") or [])})
            extended = {s: v for s, v in values.items() if s in (params.get("ExtendedStatistics") or [])}
            if extended:
                point["ExtendedStatistics"] = extended
            points.append(point)
        return {"Label": params["MetricName"], "Datapoints": points}
