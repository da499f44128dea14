"""CloudWatch alarms, evaluated locally over simulated time, from the rendered alarms.json.

`MetricStore` takes datapoints as the functions and Lambda publish them; `Evaluator`
reads `terraform/envs/<env>/alarms.json` (format `cutover.alarms/1`, the file the
alarms module creates its alarms from) and evaluates every alarm each simulated
minute, as CloudWatch would, then the composite rollback alarm; it keeps each
alarm's state history with transition times.

What is implemented, and the CloudWatch documentation each behaviour follows
(user guide "Using Amazon CloudWatch alarms", AlarmThatSendsEmail; "Using metric
math", using-metric-math):

- Storage at one-minute resolution (standard-resolution metrics); statistics Sum,
  SampleCount, Average, Minimum, Maximum and percentiles pNN (nearest rank over the
  raw values, kept only for the metrics named in `keep_values_for`; CloudWatch
  approximates them).
- Evaluation "for any period of one minute or longer ... every minute", on "the
  window of time defined by the Period and Evaluation Periods": at minute t, datapoint
  k covers [t - (k+1) * period, t - k * period). Alarms whose period x evaluation
  periods exceed a day are evaluated hourly by CloudWatch; they are refused here (the
  generator never makes one). Metric publication delay is not modelled.
- The evaluation range: CloudWatch "attempts to retrieve a higher number of data points
  than ... Evaluation Periods"; its example retrieves 5 for 3. Here: N + 2.
- M of N ("Datapoints to Alarm ... within the Evaluation Periods"), and missing data:
  with at least N real datapoints in the range, the N most recent decide and
  treat_missing_data is not used; with fewer, missing ones are filled per
  treat_missing_data: notBreaching (good), breaching (bad), ignore (the current state
  is kept unless the real points decide: M breaching -> ALARM, one non-breaching -> OK),
  missing (INSUFFICIENT_DATA when all are missing). The "premature alarm state" rule
  (the oldest breaching datapoint at least M old and all other points breaching or
  missing -> ALARM) applies with missing. The docs' two example tables are tests (tests/signals/test_cloudwatch.py).
- For a metric-math alarm "the data point is considered missing if the math expression
  doesn't return a value for that data point".
- Metric math: "Missing values in a time series are treated as 0. If the value of a
  data point causes a function to attempt to divide by zero, the data point is
  dropped"; comparisons give 1/0 and treat a missing value in the other series as 0;
  AND/OR; unary minus; IF(condition, true, false) per the documented table (false with
  no false value -> dropped; true with a missing true series -> 0); FILL(m, S) fills
  every datapoint of the evaluation range; TIME_SERIES(S).
- Composite alarms: rules of ALARM("name"), OK("name"), INSUFFICIENT_DATA("name"),
  TRUE, FALSE, AND, OR, NOT and parentheses; ALARM when the rule is true, else OK.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
RESOLUTION = 60
DAY = 86400
EXTRA_RANGE = 2

Dims = tuple[tuple[str, str], ...]
Series = dict[int, float]
Value = float | Series


def dims_key(dimensions: Mapping[str, str] | Dims) -> Dims:
    return dimensions if isinstance(dimensions, tuple) else tuple(sorted(dimensions.items()))


# --- the metric store ---------------------------------------------------------------------


class MetricStore:
    """Datapoints in one-minute buckets: [sum, count, min, max] (+ raw values if kept)."""

    def __init__(self, keep_values_for: Iterable[tuple[str, str]] = ()) -> None:
        self._series: dict[tuple[str, str, Dims], dict[int, list]] = {}
        self._keep = frozenset(keep_values_for)

    def put(self, namespace: str, metric_name: str, dimensions: Mapping[str, str] | Dims,
            timestamp_s: float, value: float) -> None:
        key = (namespace, metric_name, dims_key(dimensions))
        buckets = self._series.get(key)
        if buckets is None:
            buckets = self._series[key] = {}
        minute = int(timestamp_s // RESOLUTION)
        b = buckets.get(minute)
        if b is None:
            keep = [] if (namespace, metric_name) in self._keep else None
            buckets[minute] = [value, 1, value, value, keep]
            if keep is not None:
                keep.append(value)
            return
        b[0] += value
        b[1] += 1
        if value < b[2]:  # noqa: PLR1730 (cheaper than a call, on the hot path)
            b[2] = value
        if value > b[3]:  # noqa: PLR1730
            b[3] = value
        if b[4] is not None:
            b[4].append(value)

    def statistic(self, namespace: str, metric_name: str, dimensions: Mapping[str, str] | Dims,
                  start_s: int, end_s: int, stat: str) -> float | None:
        """The statistic over [start_s, end_s), or None when no datapoint falls in it."""
        buckets = self._series.get((namespace, metric_name, dims_key(dimensions)))
        if not buckets:
            return None
        found = [buckets[m] for m in range(start_s // RESOLUTION, end_s // RESOLUTION) if m in buckets]
        if not found:
            return None
        return _aggregate(found, stat, (namespace, metric_name))

    def prune(self, before_s: int) -> None:
        """Forget buckets older than before_s (a long rehearsal keeps memory flat)."""
        limit = before_s // RESOLUTION
        for buckets in self._series.values():
            for minute in [m for m in buckets if m < limit]:
                del buckets[minute]


def _aggregate(found: list[list], stat: str, metric: tuple[str, str]) -> float:
    if stat == "Sum":
        return sum(b[0] for b in found)
    if stat == "SampleCount":
        return float(sum(b[1] for b in found))
    if stat == "Average":
        return sum(b[0] for b in found) / sum(b[1] for b in found)
    if stat == "Minimum":
        return min(b[2] for b in found)
    if stat == "Maximum":
        return max(b[3] for b in found)
    match = re.fullmatch(r"p(\d{1,2}(?:\.\d+)?)", stat)
    if not match:
        raise ValueError(f"statistic {stat!r} is not supported")
    if any(b[4] is None for b in found):
        raise ValueError(f"{stat} of {metric}: raw values are not kept (MetricStore keep_values_for)")
    values = sorted(v for b in found for v in b[4])
    rank = math.ceil(float(match.group(1)) / 100 * len(values))
    return values[max(rank, 1) - 1]


# --- expressions: metric math and composite rules -------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<str>\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()<>,]))"
)
PRECEDENCE = [("OR", "||"), ("AND", "&&"), ("==", "!=", "<=", ">=", "<", ">"), ("+", "-"), ("*", "/"), ("^",)]


def tokenize(text: str) -> list[str]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read {text[pos:]!r} in {text!r}")
        tokens.append(match.group(match.lastgroup or ""))
        pos = match.end()
    return tokens


class Parser:
    """Precedence climbing to tuples: ("num", x) ("str", s) ("id", x) ("call", F, args)
    ("neg", a) ("not", a) (op, a, b)."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.pos = text, tokenize(text), 0

    def parse(self) -> tuple:
        tree = self._binary(0)
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos]!r} in {self.text!r}")
        return tree

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'more'} in {self.text!r}")
        self.pos += 1
        return token

    def _binary(self, level: int) -> tuple:
        if level == len(PRECEDENCE):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek() in PRECEDENCE[level]:
            op = {"||": "OR", "&&": "AND"}.get(self._take(), self.tokens[self.pos - 1])
            left = (op, left, self._binary(level + 1))
        return left

    def _unary(self) -> tuple:
        token = self._take()
        if token == "-":
            return ("neg", self._unary())
        if token == "NOT":
            return ("not", self._unary())
        if token == "(":
            inner = self._binary(0)
            self._take(")")
            return inner
        if token[0].isdigit():
            return ("num", float(token))
        if token[0] == '"':
            return ("str", token[1:-1])
        if self._peek() == "(":
            self._take("(")
            args = [] if self._peek() == ")" else [self._binary(0)]
            while self._peek() == ",":
                self._take(",")
                args.append(self._binary(0))
            self._take(")")
            return ("call", token, args)
        return ("id", token)


ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": operator.pow,
    "==": lambda a, b: float(a == b), "!=": lambda a, b: float(a != b), "<=": lambda a, b: float(a <= b),
    ">=": lambda a, b: float(a >= b), "<": lambda a, b: float(a < b), ">": lambda a, b: float(a > b),
    "AND": lambda a, b: float(bool(a) and bool(b)), "OR": lambda a, b: float(bool(a) or bool(b)),
}


def _apply(op: str, a: Value | None, b: Value | None) -> Value | None:
    """Pointwise; a missing value counts as 0; a division by zero drops the point."""
    fn = ARITHMETIC[op]
    a = {} if a is None else a
    b = {} if b is None else b
    if not isinstance(a, dict) and not isinstance(b, dict):
        return None if op == "/" and b == 0 else fn(a, b)
    keys = (a.keys() | b.keys()) if isinstance(a, dict) and isinstance(b, dict) else (
        a.keys() if isinstance(a, dict) else b.keys())  # type: ignore[union-attr]
    out: Series = {}
    for t in keys:
        x = a.get(t, 0.0) if isinstance(a, dict) else a
        y = b.get(t, 0.0) if isinstance(b, dict) else b
        if op == "/" and y == 0:
            continue
        out[t] = fn(x, y)
    return out


def _if(cond: Value, yes: Value, no: Value | None, slots: list[int]) -> Value | None:
    if not isinstance(cond, dict):
        return yes if cond else no
    out: Series = {}
    for t, c in cond.items():
        if c:
            out[t] = yes.get(t, 0.0) if isinstance(yes, dict) else yes
        elif no is not None and (not isinstance(no, dict) or t in no):
            out[t] = no[t] if isinstance(no, dict) else no
    return out


def evaluate_math(tree: tuple, env: Mapping[str, Value], slots: list[int]) -> Value | None:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "id":
        if tree[1] not in env:
            raise ValueError(f"unknown id {tree[1]!r}")
        return env[tree[1]]
    if kind == "neg":
        return _apply("-", 0.0, evaluate_math(tree[1], env, slots))  # type: ignore[arg-type]
    if kind == "call":
        return _call(tree[1], [evaluate_math(a, env, slots) for a in tree[2]], slots)
    return _apply(kind, evaluate_math(tree[1], env, slots), evaluate_math(tree[2], env, slots))  # type: ignore[arg-type]


def _call(name: str, args: list, slots: list[int]) -> Value | None:
    if name == "IF" and len(args) in (2, 3):
        return _if(args[0], args[1], args[2] if len(args) == 3 else None, slots)
    if name == "FILL" and len(args) == 2 and not isinstance(args[1], dict):
        series = args[0] if isinstance(args[0], dict) else {}
        return {t: series.get(t, args[1]) for t in slots}
    if name == "TIME_SERIES" and len(args) == 1:
        return {t: args[0] for t in slots}
    raise ValueError(f"metric math function {name}/{len(args)} is not supported here")


def evaluate_rule(tree: tuple, states: Mapping[str, str]) -> bool:
    kind = tree[0]
    if kind == "id" and tree[1] in ("TRUE", "FALSE"):
        return tree[1] == "TRUE"
    if kind == "call" and tree[1] in (ALARM, OK, INSUFFICIENT) and tree[2][0][0] == "str":
        return states.get(tree[2][0][1], INSUFFICIENT) == tree[1]
    if kind == "not":
        return not evaluate_rule(tree[1], states)
    if kind in ("AND", "OR"):
        left, right = evaluate_rule(tree[1], states), evaluate_rule(tree[2], states)
        return (left and right) if kind == "AND" else (left or right)
    raise ValueError(f"not a composite alarm rule: {tree!r}")


# --- alarm state ------------------------------------------------------------------------------

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def decide(points: list[bool | None], n: int, m: int, missing: str, current: str) -> str:
    """Alarm state from the evaluation range, oldest first: True breaching, False not, None missing."""
    real = [p for p in points if p is not None]
    if len(real) >= n:
        return ALARM if sum(real[-n:]) >= m else OK
    breaching, fill = sum(real), n - len(real)
    if missing == "notBreaching":
        return ALARM if breaching >= m else OK
    if missing == "breaching":
        return ALARM if breaching + fill >= m else OK
    if missing == "ignore":
        return ALARM if breaching >= m else (OK if len(real) > breaching else current)
    if not real:
        return INSUFFICIENT
    return ALARM if breaching >= m or _premature(points, n, m) else OK


def _premature(points: list[bool | None], n: int, m: int) -> bool:
    """The oldest breaching point of the last N is at least M old, and no real point
    of the range is non-breaching (all others breaching or missing)."""
    window = points[-n:]
    oldest = next((i for i, p in enumerate(window) if p is True), None)
    return oldest is not None and len(window) - oldest >= m and False not in points


@dataclass(frozen=True)
class MetricQuery:
    id: str
    namespace: str
    metric_name: str
    dimensions: Dims
    stat: str


@dataclass(frozen=True)
class AlarmDefinition:
    key: str
    name: str
    role: str
    threshold: float
    comparison: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    metrics: tuple[MetricQuery, ...]
    expressions: tuple[tuple[str, tuple, bool], ...]  # (id, parsed, return_data)
    judges: str = ""  # router | candidate | control: whose code or route a breach blames

    @classmethod
    def from_document(cls, key: str, doc: Mapping[str, Any]) -> AlarmDefinition:
        if doc["period"] * doc["evaluation_periods"] > DAY:
            raise ValueError(f"{key}: over a day, CloudWatch evaluates hourly; not modelled")
        if doc["period"] % RESOLUTION:
            raise ValueError(f"{key}: period {doc['period']} is not a whole number of minutes")
        metrics = tuple(
            MetricQuery(m["id"], m["namespace"], m["metric_name"], dims_key(m["dimensions"]), m["stat"])
            for m in doc["metrics"]
        )
        expressions = tuple((e["id"], Parser(e["expression"]).parse(), e["return_data"]) for e in doc["expressions"])
        if sum(1 for e in expressions if e[2]) != 1:
            raise ValueError(f"{key}: an alarm returns exactly one expression")
        return cls(key, doc["name"], doc["role"], float(doc["threshold"]), doc["comparison"], doc["period"],
                   doc["evaluation_periods"], doc["datapoints_to_alarm"], doc["treat_missing_data"],
                   metrics, expressions, doc.get("judges", ""))

    def datapoints(self, store: MetricStore, now_s: int) -> list[float | None]:
        """Values of the evaluation range at now_s, oldest first (None: missing)."""
        size = self.evaluation_periods + EXTRA_RANGE
        slots = [now_s - (k + 1) * self.period for k in reversed(range(size))]
        env: dict[str, Value] = {}
        for q in self.metrics:
            env[q.id] = {
                t: v for t in slots
                if (v := store.statistic(q.namespace, q.metric_name, q.dimensions, t, t + self.period, q.stat)) is not None
            }
        result: Value | None = None
        for ident, tree, returned in self.expressions:
            value = evaluate_math(tree, env, slots)
            env[ident] = value if value is not None else {}
            if returned:
                result = env[ident]
        if not isinstance(result, dict):
            result = {t: result for t in slots} if result is not None else {}
        return [result.get(t) for t in slots]

    def state_at(self, store: MetricStore, now_s: int, current: str) -> str:
        compare = COMPARISONS[self.comparison]
        points = [None if v is None else compare(v, self.threshold) for v in self.datapoints(store, now_s)]
        return decide(points, self.evaluation_periods, self.datapoints_to_alarm, self.treat_missing_data, current)


@dataclass(frozen=True)
class Transition:
    time_s: int
    name: str
    old: str
    new: str


@dataclass
class Evaluator:
    """Every alarm of one alarms.json, evaluated each simulated minute."""

    alarms: dict[str, AlarmDefinition]
    composite_name: str
    composite_rule: tuple
    store: MetricStore
    states: dict[str, str] = field(default_factory=dict)
    history: list[Transition] = field(default_factory=list)
    clock_s: int | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any], store: MetricStore) -> Evaluator:
        alarms = {k: AlarmDefinition.from_document(k, a) for k, a in document["alarms"].items()}
        rollback = document["rollback"]
        rule = rollback_rule([alarms[k].name for k in rollback["members"]])
        return cls(alarms, rollback["name"], Parser(rule).parse(), store)

    @classmethod
    def from_file(cls, path: Path | str, store: MetricStore) -> Evaluator:
        return cls.from_document(json.loads(Path(path).read_text(encoding="utf-8")), store)

    def state(self, name: str) -> str:
        return self.states.get(name, INSUFFICIENT)

    def evaluate(self, now_s: int) -> None:
        """One evaluation at now_s (a whole minute): every metric alarm, then the composite."""
        if now_s % RESOLUTION:
            raise ValueError("alarms are evaluated on whole minutes")
        for alarm in self.alarms.values():
            self._set(alarm.name, alarm.state_at(self.store, now_s, self.state(alarm.name)), now_s)
        firing = evaluate_rule(self.composite_rule, self.states)
        self._set(self.composite_name, ALARM if firing else OK, now_s)
        self.clock_s = now_s

    def run_until(self, end_s: int) -> None:
        """Evaluate every minute after the last evaluation, up to and including end_s."""
        t = (self.clock_s + RESOLUTION) if self.clock_s is not None else 0
        while t <= end_s:
            self.evaluate(t)
            t += RESOLUTION

    def first(self, name: str, state: str) -> int | None:
        return next((t.time_s for t in self.history if t.name == name and t.new == state), None)

    def _set(self, name: str, new: str, now_s: int) -> None:
        old = self.state(name)
        if new != old:
            self.states[name] = new
            self.history.append(Transition(now_s, name, old, new))


def rollback_rule(member_names: Iterable[str]) -> str:
    """The composite rule the alarms module writes: ALARM("a") OR ALARM("b") ..."""
    return " OR ".join(f'ALARM("{name}")' for name in member_names)


class AlarmHistory:
    """Each alarm's state as seen after each minute's evaluation: (minute, state) at every
    change. The composite's actions and EventBridge events fire on its transitions only;
    before its first observation an alarm counts as INSUFFICIENT_DATA."""

    def __init__(self) -> None:
        self.changes: dict[str, list[tuple[int, str]]] = {}

    def observe(self, minute: int, states: Iterable[tuple[str, str]]) -> None:
        for name, state in states:
            history = self.changes.setdefault(name, [])
            if not history or history[-1][1] != state:
                history.append((minute, state))

    def transition(self, name: str, minute: int) -> tuple[str, str, bool]:
        """(old, new, changed at ``minute``) of an observed alarm."""
        history = self.changes[name]
        state = history[-1][1]
        changed = history[-1][0] == minute
        old = history[-2][1] if changed and len(history) > 1 else INSUFFICIENT
        return old, state, changed
