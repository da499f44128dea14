"""The alarms of a release: what rolls back, what only notifies, over which windows, by which rule.

Decided here as plain data and rendered to `terraform/envs/<env>/alarms.json`
(format `cutover.alarms/1`). The alarms module creates exactly what that file says
(no per-alarm logic in HCL), and `cutover.rehearsal.cloudwatch` evaluates the same file, so
the tests judge the alarms that ship. Adding an alarm is one `RateSignal` in
`_path_signals`.

What rolls back (role "rollback", members of the composite `<prefix>-rollback`) judges
the candidate on the canary route only (the router's CanaryErrors / CanaryRequests and
the candidate's CanaryReadErrors / CanaryReads), and the router's code by its alias's
crashes (AWS/Lambda Errors / Invocations). The answers served as errors over all
requests (mostly the control's) only notify: the control's own errors never roll the
canary back. Shadow rates only notify too (no user is served by the shadow). Each alarm
says whose code or route its breach blames (`judges`: router, candidate or control).
Latency, shadow diffs and canary share feed the go/no-go analysis, never alarms.

The rule: Wald's sequential probability ratio test of a Bernoulli error rate, healthy
p0 against failing p1 (`guardrails.sequential`). Its log-likelihood ratio after n
samples with e errors is e ln(p1/p0) + (n - e) ln((1 - p1)/(1 - p0)); it decides
"failing" once that reaches ln((1 - beta)/alpha), a straight line in (n, e):

    ALARM when  e >= a + b n,   a = ln((1 - beta)/alpha) / (g1 + g2),   b = g2 / (g1 + g2),
    g1 = ln(p1/p0),  g2 = ln((1 - p0)/(1 - p1))

plus at least `guardrails.min_errors` errors. CloudWatch runs the test again every
minute over a sliding window, so alpha is `false_rollback_per_hour` / 60 (Bonferroni
over the hour's evaluations; each one's false alarm is at most e^-A by Ville's
inequality). In metric math, over FILL(m, 0) sums (a missing value is 0 and a division
by zero would drop the point: there is no division here, so every period has a value):

    IF(errors >= min_errors, errors - b * samples, 0)  >=  a

Windows. CloudWatch evaluates an alarm whose period x evaluation periods is at most a
day every minute, over a window that slides by a minute ("Using Amazon CloudWatch
alarms", Evaluating an alarm). A window must hold, with three standard deviations to
spare, the samples in which a canary failing at p1 is expected to reach the line
(`decision_samples`). Canary rates get two alarms: a fast window sized for the current
step and a slow one sized for the first step, the lowest percent that can be live after
a rollback or a ramp's apply (multi-window alerting); at the first step they are one.
At the shortest period the spec's M of N applies; a longer period is 1 of 1: its one
datapoint already sums the whole window, and CloudWatch recomputes it each minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cutover.generator.spec.model import ReleaseSpec
from cutover.generator.spec.traffic import (  # noqa: F401 (the alarm plan's vocabulary)
    MAX_WINDOW_SECONDS,
    SequentialRule,
    Speed,
    _round,
    canary_per_minute,
    expected_samples_for,
    shadow_per_minute,
    window_samples,
    window_seconds,
)
from cutover.runtime import metrics as emf

FORMAT = "cutover.alarms/1"
ROLLBACK = "rollback"
NOTIFY = "notify"
LAMBDA = "AWS/Lambda"
MAX_EXPRESSION_CHARS = 1024
MAX_METRICS = 10

Role = Literal["rollback", "notify"]
Judges = Literal["router", "candidate", "control"]
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
    key: str  # "<path>/<kind>[-slow]": the Terraform for_each key
    name: str
    description: str
    role: Role
    judges: Judges
    speed: Speed
    sized_for: str
    rule: SequentialRule
    window: Window
    treat_missing_data: MissingData
    missing_data_reason: str
    metrics: tuple[Metric, ...]
    expressions: tuple[Expression, ...]

    @property
    def threshold(self) -> float:
        return self.rule.intercept

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "role": self.role,
            "judges": self.judges,
            "window": self.speed,
            "window_sized_for": self.sized_for,
            "threshold": self.threshold,
            "comparison": "GreaterThanOrEqualToThreshold",
            "period": self.window.period,
            "evaluation_periods": self.window.evaluation_periods,
            "datapoints_to_alarm": self.window.datapoints_to_alarm,
            "expected_samples_per_period": round(self.window.expected_samples, 3),
            "sequential_test": self.rule.document(),
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
    """An errors-over-samples rate and what it is for: one alarm, or a fast and a slow one."""

    kind: str
    role: Role
    judges: Judges
    what: str
    errors: tuple[Metric, ...]
    samples: tuple[Metric, ...]
    samples_per_minute: float
    sized_for: str
    missing_data_reason: str
    slow_per_minute: float | None = None  # the first step's traffic, for the slow window
    slow_sized_for: str = ""


# --- windows ----------------------------------------------------------------------------


def window(samples_per_minute: float, spec: ReleaseSpec, speed: Speed = "slow") -> Window:
    g = spec.guardrails
    period = window_seconds(samples_per_minute, spec, speed)
    if period > MAX_WINDOW_SECONDS:
        raise ValueError(f"a window of {period} s exceeds a day; the spec rules reject this")
    expected = samples_per_minute * period / 60
    if period == g.period_seconds:
        return Window(period, g.evaluation_periods, g.datapoints_to_alarm, expected)
    return Window(period, 1, 1, expected)


# --- the signals of one read path ---------------------------------------------------------

IDLE_IS_FINE = (
    "notBreaching: the sums are FILLed, so every period has a value; a period without one "
    "means no traffic to judge, and an idle path must not block deployments"
)
ROUTER_CRASH_SEEN = (
    "notBreaching: the sums are FILLed; a router too broken to emit its EMF still shows in "
    "router-error-rate (AWS/Lambda, published by Lambda itself)"
)
SHADOW_QUIET = (
    "notBreaching: notify only; no shadow traffic (sampling off, all users on the canary) "
    "is not a failure"
)


def _emf(spec: ReleaseSpec, path: str, ident: str, metric: str) -> Metric:
    dims = {emf.RELEASE: spec.release.name, emf.PATH: path}
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
    every = "all requests"
    return [
        RateSignal(
            kind="served-error-rate", role=NOTIFY, judges="control",
            what="answers served as errors over all requests (router EMF Errors / Requests), mostly the control's",
            errors=(_emf(spec, path.name, "err", emf.ERRORS),),
            samples=(_emf(spec, path.name, "req", emf.REQUESTS),),
            samples_per_minute=rpm, sized_for=every, missing_data_reason=ROUTER_CRASH_SEEN,
        ),
        RateSignal(
            kind="router-error-rate", role=ROLLBACK, judges="router",
            what="router alias crashes and timeouts (AWS/Lambda Errors / Invocations)",
            errors=(_lambda("err", path.control.name, path.alias, "Errors"),),
            samples=(_lambda("inv", path.control.name, path.alias, "Invocations"),),
            samples_per_minute=rpm, sized_for=every, missing_data_reason=IDLE_IS_FINE,
        ),
    ]


def _canary_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    path = spec.read_paths[index]
    percent, first = path.canary.percent, path.canary.steps[0]
    canary_rpm = canary_per_minute(spec, percent)
    if canary_rpm <= 0:
        return []
    lowest = min(first, percent)
    common = {
        "samples_per_minute": canary_rpm, "sized_for": f"the {percent:g}% step (current)",
        "slow_per_minute": canary_per_minute(spec, lowest), "slow_sized_for": f"the {lowest:g}% step (first)",
    }
    return [
        RateSignal(
            kind="canary-error-rate", role=ROLLBACK, judges="candidate",
            what="canary requests that failed (router EMF CanaryErrors / CanaryRequests: the canary route only)",
            errors=(_emf(spec, path.name, "err", emf.CANARY_ERRORS),),
            samples=(_emf(spec, path.name, "req", emf.CANARY_REQUESTS),),
            missing_data_reason=ROUTER_CRASH_SEEN, **common,
        ),
        RateSignal(
            kind="candidate-canary-error-rate", role=ROLLBACK, judges="candidate",
            what="canary reads the candidate failed (EMF CanaryReadErrors / CanaryReads)",
            errors=(_emf(spec, path.name, "err", emf.CANARY_READ_ERRORS),),
            samples=(_emf(spec, path.name, "req", emf.CANARY_READS),),
            missing_data_reason=IDLE_IS_FINE, **common,
        ),
    ]


def _shadow_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    name = spec.read_paths[index].name
    shadow_rpm = shadow_per_minute(spec, index)
    if shadow_rpm <= 0:
        return []
    sent, failed = _emf(spec, name, "sent", emf.SHADOW_DISPATCHED), _emf(spec, name, "fail", emf.SHADOW_DISPATCH_FAILURES)
    sample = "the shadow sample"
    return [
        RateSignal(
            kind="shadow-error-rate", role=NOTIFY, judges="candidate",
            what="shadow events the candidate failed or timed out on (EMF ShadowErrors + ShadowTimeouts / ShadowDispatched)",
            errors=(_emf(spec, name, "err", emf.SHADOW_ERRORS), _emf(spec, name, "tmo", emf.SHADOW_TIMEOUTS)),
            samples=(sent,),
            samples_per_minute=shadow_rpm, sized_for=sample, missing_data_reason=SHADOW_QUIET,
        ),
        RateSignal(
            kind="shadow-dispatch-failure-rate", role=NOTIFY, judges="router",
            what="shadow events the router could not send (EMF ShadowDispatchFailures / ShadowDispatched + ShadowDispatchFailures)",
            errors=(failed,),
            samples=(sent, failed),
            samples_per_minute=shadow_rpm, sized_for=sample, missing_data_reason=SHADOW_QUIET,
        ),
    ]


def _complete_signals(spec: ReleaseSpec, index: int) -> list[RateSignal]:
    """Complete: the entry clients call (the control's name and alias) runs the candidate's code."""
    path = spec.read_paths[index]
    rpm = spec.guardrails.expected_requests_per_minute
    every = "all requests"
    return [
        RateSignal(
            kind="candidate-error-rate", role=ROLLBACK, judges="candidate",
            what="entry alias crashes and timeouts, candidate code (AWS/Lambda Errors / Invocations)",
            errors=(_lambda("err", path.control.name, path.alias, "Errors"),),
            samples=(_lambda("inv", path.control.name, path.alias, "Invocations"),),
            samples_per_minute=rpm, sized_for=every, missing_data_reason=IDLE_IS_FINE,
        ),
        RateSignal(
            kind="candidate-canary-error-rate", role=ROLLBACK, judges="candidate",
            what="answers the candidate failed (EMF CanaryReadErrors / CanaryReads)",
            errors=(_emf(spec, path.name, "err", emf.CANARY_READ_ERRORS),),
            samples=(_emf(spec, path.name, "req", emf.CANARY_READS),),
            samples_per_minute=rpm, sized_for=every, missing_data_reason=IDLE_IS_FINE,
        ),
    ]


# --- signal -> alarms ---------------------------------------------------------------------


def _sum(metrics: tuple[Metric, ...]) -> str:
    return " + ".join(f"FILL({m.id}, 0)" for m in metrics)


def _alarm(spec: ReleaseSpec, path: str, signal: RateSignal, speed: Speed, per_minute: float,
           sized_for: str) -> MetricAlarm:
    rule = SequentialRule.of(spec)
    win = window(per_minute, spec, speed)
    metrics = tuple({m.id: m for m in (*signal.errors, *signal.samples)}.values())
    evidence = f"IF(errors >= {rule.min_errors}, errors - {rule.slope:g} * samples, 0)"
    expressions = (
        Expression("samples", _sum(signal.samples), "samples", False),
        Expression("errors", _sum(signal.errors), "errors", False),
        Expression("evidence", evidence, f"{signal.kind}: errors above the sequential test's slope", True),
    )
    key = f"{path}/{signal.kind}" + ("-slow" if speed == "slow" else "")
    if len(metrics) > MAX_METRICS:
        raise ValueError(f"{key}: more than {MAX_METRICS} metrics")
    for e in expressions:
        if len(e.expression) > MAX_EXPRESSION_CHARS:
            raise ValueError(f"{key}: expression longer than {MAX_EXPRESSION_CHARS} characters")
    s = spec.guardrails.sequential
    action = "Rolls back" if signal.role == ROLLBACK else "Notifies"
    description = (
        f"{path}: {signal.what}. ALARM when a {win.period / 60:g} min window ({win.datapoints_to_alarm} of "
        f"{win.evaluation_periods}, {speed}, sized for {sized_for}: about {win.expected_samples:.0f} samples) "
        f"holds errors >= {rule.intercept:g} + {rule.slope:g} x samples and at least {rule.min_errors}: "
        f"Wald's sequential test of {s.healthy_error_rate_pct:g}% healthy against {s.failing_error_rate_pct:g}% "
        f"failing, {s.false_rollback_per_hour:g} false per hour, {s.missed_rollback:g} missed. "
        f"Judges the {signal.judges}. {action}. Generated by cutover."
    )
    return MetricAlarm(
        key=key,
        name=f"{spec.release.name}-{spec.release.environment}-{key.replace('/', '-')}",
        description=description,
        role=signal.role,
        judges=signal.judges,
        speed=speed,
        sized_for=sized_for,
        rule=rule,
        window=win,
        treat_missing_data="notBreaching",
        missing_data_reason=signal.missing_data_reason,
        metrics=metrics,
        expressions=expressions,
    )


def _rate_alarms(spec: ReleaseSpec, path: str, signal: RateSignal) -> list[MetricAlarm]:
    """A canary rate: a fast window for the current step and a slow one for the first
    (one, when they are the same period). Any other rate: its only window."""
    if signal.slow_per_minute is None:
        return [_alarm(spec, path, signal, "only", signal.samples_per_minute, signal.sized_for)]
    fast = _alarm(spec, path, signal, "fast", signal.samples_per_minute, signal.sized_for)
    if window_seconds(signal.slow_per_minute, spec, "slow") == fast.window.period:
        return [fast]
    return [fast, _alarm(spec, path, signal, "slow", signal.slow_per_minute, signal.slow_sized_for)]


def build(spec: ReleaseSpec) -> AlarmSet:
    alarms = tuple(
        alarm
        for i, path in enumerate(spec.read_paths)
        for signal in _path_signals(spec, i)
        for alarm in _rate_alarms(spec, path.name, signal)
    )
    members = tuple(sorted(a.key for a in alarms if a.role == ROLLBACK))
    prefix = f"{spec.release.name}-{spec.release.environment}"
    rollback = CompositeAlarm(
        name=f"{prefix}-rollback",
        description=(
            f"Rollback signal of {spec.release.name} ({spec.release.environment}): ALARM when any "
            "rollback alarm (the canary route's errors, the router's crashes) is in ALARM. "
            "Watched by the guard, which turns the canary off. Generated by cutover."
        ),
        members=members,
    )
    return AlarmSet(tuple(sorted(alarms, key=lambda a: a.key)), rollback)
