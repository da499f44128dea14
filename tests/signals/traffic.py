"""Synthetic traffic for one read path, published as the functions and Lambda publish it.

Each request emits what docs/contracts.md section 5 says the router and the candidate
emit (EMF, namespace Cutover, dimensions Release and Path; Latency also per Route),
plus the AWS/Lambda Invocations/Errors/Duration of the aliases it ran on. A request
reaches the canary when its execution environment already has the new flags and the
user's sticky bucket is below the percent: AppConfig moves execution environments, not
users, and each environment's agent polls on its own schedule.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from cutover.rehearsal.cloudwatch import Evaluator, MetricStore

NS = "Cutover"
RELEASE = "huntaze-prisma-migration"
PATH = "user-read"
ROUTER = "huntaze-mock-read"
CANDIDATE = "huntaze-prisma-read"
ALIAS = "live"

EMF = (("Path", PATH), ("Release", RELEASE))
ROUTES = {r: (("Path", PATH), ("Release", RELEASE), ("Route", r)) for r in ("control", "canary")}
ROUTER_ALIAS = (("FunctionName", ROUTER), ("Resource", f"{ROUTER}:{ALIAS}"))
CANDIDATE_ALIAS = (("FunctionName", CANDIDATE), ("Resource", f"{CANDIDATE}:{ALIAS}"))


@dataclass
class FlagRollout:
    """A percent change reaching `environments` execution environments gradually.

    AppConfig hands the new version to environments linearly over `duration_s` from
    `start_s`; each environment's agent then picks it up within one poll interval.
    """

    before: float
    after: float
    start_s: int
    environments: int = 8
    duration_s: int = 600
    poll_s: int = 45
    seed: int = 7
    switch_s: list[float] = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        step = self.duration_s / self.environments
        self.switch_s = [self.start_s + (i + 1) * step + rng.uniform(0, self.poll_s) for i in range(self.environments)]

    def percent(self, env: int, t: float) -> float:
        return self.after if t >= self.switch_s[env] else self.before


@dataclass
class Behaviour:
    """Probabilities of each failure at time t (functions of simulated seconds)."""

    control_error: Callable[[float], float] = lambda t: 0.001
    canary_error: Callable[[float], float] = lambda t: 0.001
    router_crash: Callable[[float], float] = lambda t: 0.0
    shadow_error: Callable[[float], float] = lambda t: 0.0
    dispatch_failure: Callable[[float], float] = lambda t: 0.0
    control_latency_ms: float = 8.0
    canary_latency_ms: float = 40.0
    canary_fallback: bool = True


@dataclass
class Traffic:
    store: MetricStore
    rollout: FlagRollout
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests_per_minute: float = 100.0
    shadow_sample_rate: float = 0.1
    seed: int = 1
    every_nth_canary_fails: int | None = None  # deterministic canary failures, from fail_from_s
    canary_fail_fraction: float | None = None  # deterministic: exactly this share fails, from fail_from_s
    fail_from_s: float = 0.0
    canary_seen: int = 0
    canary_seen_failing: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def run(self, start_s: float, end_s: float, evaluator: Evaluator | None = None) -> None:
        """Poisson arrivals from start_s to end_s, evaluating alarms at each whole minute."""
        t = start_s
        rate = self.requests_per_minute / 60
        while True:
            t += self.rng.expovariate(rate)
            if evaluator is not None:
                evaluator.run_until(int(min(t, end_s) // 60 * 60))
            if t >= end_s:
                return
            self.request(t)

    def request(self, t: float) -> None:
        put, rng, b = self.store.put, self.rng, self.behaviour
        put("AWS/Lambda", "Invocations", ROUTER_ALIAS, t, 1)
        if rng.random() < b.router_crash(t):
            put("AWS/Lambda", "Errors", ROUTER_ALIAS, t, 1)  # crashed before its EMF
            return
        put("AWS/Lambda", "Errors", ROUTER_ALIAS, t, 0)
        env = rng.randrange(self.rollout.environments)
        canary = rng.random() * 100 < self.rollout.percent(env, t)
        put(NS, "Requests", EMF, t, 1)
        if canary:
            self._canary(t)
        else:
            self._control(t)

    def _canary_fails(self, t: float) -> bool:
        self.canary_seen += 1
        if self.every_nth_canary_fails and t >= self.fail_from_s:
            return self.canary_seen % self.every_nth_canary_fails == 0
        if self.canary_fail_fraction is not None and t >= self.fail_from_s:
            # the k-th canary request since fail_from_s fails when floor(k f) steps up:
            # 30% fails requests 4, 7, 10, ...; 100% every one
            k = self.canary_seen_failing = self.canary_seen_failing + 1
            f = self.canary_fail_fraction
            return math.floor(k * f + 1e-9) > math.floor((k - 1) * f + 1e-9)
        return self.rng.random() < self.behaviour.canary_error(t)

    def _canary(self, t: float) -> None:
        put, b = self.store.put, self.behaviour
        failed = self._canary_fails(t)
        put(NS, "CanaryRequests", EMF, t, 1)
        put(NS, "CanaryErrors", EMF, t, int(failed))
        put(NS, "CanaryFallbacks", EMF, t, int(failed and b.canary_fallback))
        put(NS, "Errors", EMF, t, int(failed and not b.canary_fallback))
        put(NS, "Latency", ROUTES["canary"], t, b.canary_latency_ms)
        put(NS, "CanaryReads", EMF, t, 1)
        put(NS, "CanaryReadErrors", EMF, t, int(failed))
        put("AWS/Lambda", "Invocations", CANDIDATE_ALIAS, t, 1)
        put("AWS/Lambda", "Errors", CANDIDATE_ALIAS, t, int(failed))
        put("AWS/Lambda", "Duration", CANDIDATE_ALIAS, t, b.canary_latency_ms)

    def _control(self, t: float) -> None:
        put, rng, b = self.store.put, self.rng, self.behaviour
        put(NS, "Errors", EMF, t, int(rng.random() < b.control_error(t)))
        put(NS, "Latency", ROUTES["control"], t, b.control_latency_ms)
        put("AWS/Lambda", "Duration", ROUTER_ALIAS, t, b.control_latency_ms)
        if rng.random() >= self.shadow_sample_rate:
            return
        if rng.random() < b.dispatch_failure(t):
            put(NS, "ShadowDispatchFailures", EMF, t, 1)
            return
        put(NS, "ShadowDispatched", EMF, t, 1)
        put("AWS/Lambda", "Invocations", CANDIDATE_ALIAS, t, 1)
        put("AWS/Lambda", "Duration", CANDIDATE_ALIAS, t, b.canary_latency_ms * 3)
        if rng.random() < b.shadow_error(t):
            put(NS, "ShadowErrors", EMF, t, 1)
        else:
            put(NS, "ShadowComparisons", EMF, t, 1)


# --- measures over the rendered alarms ------------------------------------------------------

HOUR = 3600


def composite_name(document: dict) -> str:
    return document["rollback"]["name"]


def time_to_detect(document: dict, percent: float, failing: float, seed: int, *,
                   deterministic: bool = False, from_percent: float | None = None,
                   fault_s: int = 2 * HOUR, limit_s: int = 3 * HOUR) -> float | None:
    """Minutes from the canary starting to fail (`failing`, a fraction, from `fault_s`)
    to the composite alarm's ALARM; None when it has not fired within `limit_s`.

    The step is held at `percent` and healthy (the 0.1% baseline of Behaviour) until
    `fault_s`; or, with `from_percent`, the path serves `from_percent` until `fault_s`,
    when the flags move to `percent` all at once (each environment within one 45 s
    poll) with the candidate failing from then: a step that exposes a broken candidate.
    Failures are random (Bernoulli) unless `deterministic`."""
    store = MetricStore()
    evaluator = Evaluator.from_document(document, store)
    if from_percent is None:
        rollout = FlagRollout(before=percent, after=percent, start_s=0)
    else:
        rollout = FlagRollout(before=from_percent, after=percent, start_s=fault_s, duration_s=0, seed=seed)
    if deterministic:
        traffic = Traffic(store, rollout, seed=seed, canary_fail_fraction=failing, fail_from_s=fault_s)
    else:
        behaviour = Behaviour(canary_error=lambda t: failing if t >= fault_s else 0.001)
        traffic = Traffic(store, rollout, seed=seed, behaviour=behaviour)
    rollback = composite_name(document)
    step = 10 * 60
    t = 0
    while t < fault_s + limit_s:  # in slices, to stop once it fired
        traffic.run(t, t + step, evaluator)
        t += step
        fired = evaluator.first(rollback, "ALARM")
        if fired is not None:
            return (fired - fault_s) / 60 if fired > fault_s else 0.0
    return None


def false_rollbacks(document: dict, percent: float, hours: float, seed: int,
                    behaviour: Behaviour | None = None) -> list[int]:
    """Times (s) the composite alarm went to ALARM over `hours` of a step held at `percent`."""
    store = MetricStore()
    evaluator = Evaluator.from_document(document, store)
    traffic = Traffic(store, FlagRollout(before=percent, after=percent, start_s=0), seed=seed,
                      behaviour=behaviour or Behaviour())
    rollback = composite_name(document)
    end = int(hours * HOUR)
    reach = max(a["period"] * (a["evaluation_periods"] + 2) for a in document["alarms"].values())
    for t in range(0, end, HOUR):  # an hour at a time, forgetting what no evaluation reads
        traffic.run(t, min(t + HOUR, end), evaluator)
        store.prune(t - reach - 60)
    return [x.time_s for x in evaluator.history if x.name == rollback and x.new == "ALARM"]
