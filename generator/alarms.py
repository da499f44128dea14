"""The alarms of a release: what rolls back, what only notifies, and over which windows.

Decided here as plain data and rendered to `terraform/envs/<env>/alarms.json`
(format `cutover.alarms/1`). The alarms module creates exactly what that file says
(no per-alarm logic in HCL), and `rehearsal.cloudwatch` evaluates the same file, so
the tests judge the alarms that ship. Adding an alarm is one `RateSignal` in
`_path_signals`.

What rolls back (role "rollback", members of the composite `<prefix>-rollback` that
CodeDeploy and AppConfig watch) is error rates only, per read path: canary errors on
canary traffic, the candidate's own errors on the canary path, the router's served
errors and the router alias's crashes. Shadow error/timeout and dispatch-failure rates
only notify (no user is served by the shadow). Latency, shadow diffs and canary share
are inputs of the go/no-go analysis and of the dashboard, never alarms.

Every rate is metric math with two floors, so that a few requests cannot roll back:
    IF(samples >= min_samples AND errors >= min_errors, 100 * errors / samples, 0)
Inputs are wrapped in FILL(m, 0): metric math treats a missing value as 0 and drops a
datapoint that divides by zero ("Using metric math"), so without FILL a quiet period
would have no datapoint at all, and treat_missing_data would decide instead.

Windows. CloudWatch evaluates an alarm whose period x evaluation periods is at most a
day every minute, over a window that slides by a minute; beyond a day, once an hour
and only on data up to the hour ("Using Amazon CloudWatch alarms", Evaluating an
alarm). So each rate's period is the shortest whole number of minutes (at least
`guardrails.period_seconds`) in which the traffic it judges is expected to reach the
sample floor with room to spare (`expected_samples_for`), and never more than a day.
At the shortest period the spec's M of N applies; a stretched period is 1 of 1: its
one datapoint already sums the whole window, and CloudWatch recomputes it each minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from generator.spec import ReleaseSpec

FORMAT = "cutover.alarms/1"
ROLLBACK = "rollback"
NOTIFY = "notify"
LAMBDA = "AWS/Lambda"
# Alarms over more than a day are evaluated once an hour: a rollback would wait.
MAX_WINDOW_SECONDS = 86400
# The sample floor must sit this many standard deviations (Poisson) below the
# expected samples of a window, so that almost every window of normal traffic has it.
FLOOR_SIGMAS = 3
MAX_EXPRESSION_CHARS = 1024

Role = Literal["rollback", "notify"]
MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]


@dataclass(frozen=True)
class Metric:
    """One metric a rate reads (a metric query with a metric, not an expression)."""

    id: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    stat: str = "Sum"


@dataclass(frozen=True)
class Expression:
    id: str
    expression: str
    label: str
    return_data: bool


@dataclass(frozen=True)
class Window:
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    expected_samples: float  # per period, at the spec's expected traffic


@dataclass(frozen=True)
class MetricAlarm:
    key: str  # "<path>/<kind>": the Terraform for_each key
    name: str
    description: str
    role: Role
    threshold: float
    comparison: str
    window: Window
    treat_missing_data: MissingData
    missing_data_reason: str
    metrics: tuple[Metric, ...]
    expressions: tuple[Expression, ...]

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "role": self.role,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "period": self.window.period,
            "evaluation_periods": self.window.evaluation_periods,
            "datapoints_to_alarm": self.window.datapoints_to_alarm,
            "expected_samples_per_period": round(self.window.expected_samples, 3),
            "treat_missing_data": self.treat_missing_data,
            "treat_missing_data_reason": self.missing_data_reason,
            "metrics": [vars(m) for m in self.metrics],
            "expressions": [vars(e) for e in self.expressions],
        }


@dataclass(frozen=True)
class CompositeAlarm:
    name: str
    description: str
    members: tuple[str, ...]  # keys of metric alarms; the rule is ALARM(a) OR ALARM(b) ...


@dataclass(frozen=True)
class AlarmSet:
    alarms: tuple[MetricAlarm, ...]
    rollback: CompositeAlarm

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "rollback": {
                "name": self.rollback.name,
                "description": self.rollback.description,
                "members": list(self.rollback.members),
            },
            "alarms": {a.key: a.document() for a in self.alarms},
        }


@dataclass(frozen=True)
class RateSignal:
    """An errors-over-samples rate and what it is for: one alarm."""

    kind: str
    role: Role
    what: str
    errors: tuple[Metric, ...]
    samples: tuple[Metric, ...]
    samples_per_minute: float
    missing_data_reason: str


# --- windows ----------------------------------------------------------------------------


def expected_samples_for(floor: int) -> float:
    """Expected samples mu with mu - FLOOR_SIGMAS * sqrt(mu) >= floor (Poisson traffic)."""
    root = (FLOOR_SIGMAS + math.sqrt(FLOOR_SIGMAS**2 + 4 * floor)) / 2
    return root * root


def window_seconds(samples_per_minute: float, spec: ReleaseSpec) -> int:
    """The period a rate needs at this traffic (may exceed a day: the caller checks)."""
    g = spec.guardrails
    needed = expected_samples_for(g.min_samples)
    if samples_per_minute * g.period_seconds / 60 >= needed:
        return g.period_seconds
    minutes = math.ceil(round(needed / samples_per_minute, 9))
    return max(g.period_seconds, 60 * minutes)


def window(samples_per_minute: float, spec: ReleaseSpec) -> Window:
    g = spec.guardrails
    period = window_seconds(samples_per_minute, spec)
    if period > MAX_WINDOW_SECONDS:
        raise ValueError(f"a window of {period} s exceeds a day; the spec rules reject this")
    expected = samples_per_minute * period / 60
    if period == g.period_seconds:
        return Window(period, g.evaluation_periods, g.datapoints_to_alarm, expected)
    return Window(period, 1, 1, expected)


def canary_per_minute(spec: ReleaseSpec, percent: float) -> float:
    return spec.guardrails.expected_requests_per_minute * percent / 100


def shadow_per_minute(spec: ReleaseSpec, index: int) -> float:
    """Shadow events a minute: a sample of the requests the control serves."""
    path = spec.read_paths[index]
    if not path.shadow.enabled or spec.phase == "complete":
        return 0.0
    control_share = (100 - path.canary.percent) / 100
    return spec.guardrails.expected_requests_per_minute * control_share * path.shadow.sample_rate


# --- the signals of one read path ---------------------------------------------------------

IDLE_IS_FINE = (
    "notBreaching: the rate is FILLed, so every period has a value; a period without one "
    "means no traffic to judge, and an idle path must not block deployments"
)
ROUTER_CRASH_SEEN = (
    "notBreaching: the rate is FILLed; a router too broken to emit its EMF still shows in "
    "router-error-rate (AWS/Lambda, published by Lambda itself)"
)
SHADOW_QUIET = (
    "notBreaching: notify only; no shadow traffic (sampling off, all users on the canary) "
    "is not a failure"
)


def _emf(spec: ReleaseSpec, path: str, ident: str, metric: str) -> Metric:
    dims = {"Release": spec.release.name, "Path": path}
    return Metric(ident, spec.observability.metrics_namespace, metric, dims)


def _lambda(ident: str, function: str, alias: str, metric: str) -> Metric:
    dims = {"FunctionName": function, "Resource": f"{function}:{alias}"}
    return Metric(ident, LAMBDA, metric, dims)


def _path_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    """Every rate alarm of one read path. Adding an alarm is adding a RateSignal here."""
    if spec.phase == "complete":
        return _complete_signals(spec, index)
    return [*_router_signals(spec, index), *_canary_signals(spec, index), *_shadow_signals(spec, index)]


def _router_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    path = spec.read_paths[index]
    rpm = spec.guardrails.expected_requests_per_minute
    return [
        RateSignal(
            kind="served-error-rate", role=ROLLBACK,
            what="answers served as errors (router EMF Errors / Requests): guards the router's code",
            errors=(_emf(spec, path.name, "err", "Errors"),),
            samples=(_emf(spec, path.name, "req", "Requests"),),
            samples_per_minute=rpm, missing_data_reason=ROUTER_CRASH_SEEN,
        ),
        RateSignal(
            kind="router-error-rate", role=ROLLBACK,
            what="router alias crashes and timeouts (AWS/Lambda Errors / Invocations)",
            errors=(_lambda("err", path.control.name, path.alias, "Errors"),),
            samples=(_lambda("inv", path.control.name, path.alias, "Invocations"),),
            samples_per_minute=rpm, missing_data_reason=IDLE_IS_FINE,
        ),
    ]


def _canary_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    path = spec.read_paths[index]
    canary_rpm = canary_per_minute(spec, path.canary.percent)
    if canary_rpm <= 0:
        return []
    return [
        RateSignal(
            kind="canary-error-rate", role=ROLLBACK,
            what="canary requests that failed (router EMF CanaryErrors / CanaryRequests)",
            errors=(_emf(spec, path.name, "err", "CanaryErrors"),),
            samples=(_emf(spec, path.name, "req", "CanaryRequests"),),
            samples_per_minute=canary_rpm, missing_data_reason=ROUTER_CRASH_SEEN,
        ),
        RateSignal(
            kind="candidate-canary-error-rate", role=ROLLBACK,
            what="canary reads the candidate failed (EMF CanaryReadErrors / CanaryReads)",
            errors=(_emf(spec, path.name, "err", "CanaryReadErrors"),),
            samples=(_emf(spec, path.name, "req", "CanaryReads"),),
            samples_per_minute=canary_rpm, missing_data_reason=IDLE_IS_FINE,
        ),
    ]


def _shadow_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    name = spec.read_paths[index].name
    shadow_rpm = shadow_per_minute(spec, index)
    if shadow_rpm <= 0:
        return []
    sent, failed = _emf(spec, name, "sent", "ShadowDispatched"), _emf(spec, name, "fail", "ShadowDispatchFailures")
    return [
        RateSignal(
            kind="shadow-error-rate", role=NOTIFY,
            what="shadow events the candidate failed or timed out on (EMF ShadowErrors + ShadowTimeouts / ShadowDispatched)",
            errors=(_emf(spec, name, "err", "ShadowErrors"), _emf(spec, name, "tmo", "ShadowTimeouts")),
            samples=(sent,),
            samples_per_minute=shadow_rpm, missing_data_reason=SHADOW_QUIET,
        ),
        RateSignal(
            kind="shadow-dispatch-failure-rate", role=NOTIFY,
            what="shadow events the router could not send (EMF ShadowDispatchFailures / ShadowDispatched + ShadowDispatchFailures)",
            errors=(failed,),
            samples=(sent, failed),
            samples_per_minute=shadow_rpm, missing_data_reason=SHADOW_QUIET,
        ),
    ]


def _complete_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    """Complete: the entry clients call (the control's name and alias) runs the candidate's code."""
    path = spec.read_paths[index]
    rpm = spec.guardrails.expected_requests_per_minute
    return [
        RateSignal(
            kind="candidate-error-rate", role=ROLLBACK,
            what="entry alias crashes and timeouts, candidate code (AWS/Lambda Errors / Invocations)",
            errors=(_lambda("err", path.control.name, path.alias, "Errors"),),
            samples=(_lambda("inv", path.control.name, path.alias, "Invocations"),),
            samples_per_minute=rpm, missing_data_reason=IDLE_IS_FINE,
        ),
        RateSignal(
            kind="candidate-canary-error-rate", role=ROLLBACK,
            what="answers the candidate failed (EMF CanaryReadErrors / CanaryReads)",
            errors=(_emf(spec, path.name, "err", "CanaryReadErrors"),),
            samples=(_emf(spec, path.name, "req", "CanaryReads"),),
            samples_per_minute=rpm, missing_data_reason=IDLE_IS_FINE,
        ),
    ]


# --- signal -> alarm ----------------------------------------------------------------------


def _sum(metrics: tuple[Metric, ...]) -> str:
    return " + ".join(f"FILL({m.id}, 0)" for m in metrics)


def _rate_alarm(spec: ReleaseSpec, path: str, signal: RateSignal) -> MetricAlarm:
    g = spec.guardrails
    win = window(signal.samples_per_minute, spec)
    metrics = tuple({m.id: m for m in (*signal.errors, *signal.samples)}.values())
    rate = (
        f"IF(samples >= {g.min_samples} AND errors >= {g.min_errors}, "
        "100 * errors / samples, 0)"
    )
    expressions = (
        Expression("samples", _sum(signal.samples), "samples", False),
        Expression("errors", _sum(signal.errors), "errors", False),
        Expression("rate", rate, f"{signal.kind} (%)", True),
    )
    for e in expressions:
        if len(e.expression) > MAX_EXPRESSION_CHARS:
            raise ValueError(f"{path}/{signal.kind}: expression longer than {MAX_EXPRESSION_CHARS} characters")
    minutes = win.period / 60
    action = "Rolls back" if signal.role == ROLLBACK else "Notifies"
    description = (
        f"{path}: {signal.what} above {g.error_rate_pct:g}% over {minutes:g} min "
        f"({win.datapoints_to_alarm} of {win.evaluation_periods}), once a window holds at least "
        f"{g.min_samples} samples and {g.min_errors} errors (about {win.expected_samples:.0f} "
        f"samples expected at {g.expected_requests_per_minute:g} requests/min). {action}. Generated by cutover."
    )
    return MetricAlarm(
        key=f"{path}/{signal.kind}",
        name=f"{spec.release.name}-{spec.release.environment}-{path}-{signal.kind}",
        description=description,
        role=signal.role,
        threshold=g.error_rate_pct,
        comparison="GreaterThanThreshold",
        window=win,
        treat_missing_data="notBreaching",
        missing_data_reason=signal.missing_data_reason,
        metrics=metrics,
        expressions=expressions,
    )


def build(spec: ReleaseSpec) -> AlarmSet:
    alarms = tuple(
        _rate_alarm(spec, path.name, signal)
        for i, path in enumerate(spec.read_paths)
        for signal in _path_signals(spec, i)
    )
    members = tuple(sorted(a.key for a in alarms if a.role == ROLLBACK))
    prefix = f"{spec.release.name}-{spec.release.environment}"
    rollback = CompositeAlarm(
        name=f"{prefix}-rollback",
        description=(
            f"Rollback signal of {spec.release.name} ({spec.release.environment}): ALARM when any "
            "error-rate alarm is in ALARM. Watched by CodeDeploy and AppConfig. Generated by cutover."
        ),
        members=members,
    )
    return AlarmSet(tuple(sorted(alarms, key=lambda a: a.key)), rollback)
