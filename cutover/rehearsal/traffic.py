"""Users → router invocations, and what each user saw.

``Traffic`` sends a minute's arrivals to the read paths' routers (through the Lambda
stand-in), in time order with everything else due (``until``); ``Tally`` counts what
the users saw: requests, errors, who the candidate served, route flips, and the last
canary user (the moment a rollback really ended).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cutover.runtime import metrics as emf

from .population import Population, user_id

if TYPE_CHECKING:
    from .ramp import Step
    from .telemetry import Telemetry
    from .world import PathRig, World


class Tally:
    def __init__(self, paths: list[str], propagating: Callable[[float], int | None]) -> None:
        self.propagating = propagating  # the flag change still propagating at t (its index), or None
        self.minute: Counter = Counter()
        self.requests = 0
        self.user_errors = 0
        self.all_candidate_users: set[int] = set()
        self.last_canary: float | None = None  # seconds: the candidate's last canary user
        self.user_route: dict[tuple[str, int], bool] = {}
        self.user_flips: Counter = Counter()
        self.user_flip_window: dict[tuple[str, int], int | None] = {}
        self.user_seen: dict[tuple[str, int], float] = {}
        self.path_counts = {name: Counter() for name in paths}
        self.path_users: dict[str, set[int]] = {name: set() for name in paths}

    def new_minute(self) -> None:
        self.minute = Counter()

    def served(self, t: float, path: str, user: int, step: Step, canary: bool, candidate_ok: bool,
               failed: bool) -> None:
        """One request of ``user`` on ``path`` at ``t``: routed to the canary or not, the
        candidate's answer good, the user's answer an error."""
        pc, mc = self.path_counts[path], self.minute
        pc["requests"] += 1
        mc["requests"] += 1
        self.requests += 1
        if failed:
            mc["user_errors"] += 1
            self.user_errors += 1
            pc["user_errors"] += 1
        step.requests += 1
        self._route(t, (path, user), canary)  # a user is sticky per path: each path has its own flag
        if canary:
            self.last_canary = t
            step.canary_requests += 1
            pc["canary_requests"] += 1
            mc["canary_routed"] += 1
            if candidate_ok:
                self.path_users[path].add(user)
                step.users.add(user)
                self.all_candidate_users.add(user)
                mc["served_by_candidate"] += 1

    def _route(self, t: float, key: tuple[str, int], canary: bool) -> None:
        previous = self.user_route.get(key)
        if previous is not None and previous != canary:
            # While a flag change propagates (each environment's agent polls on its own
            # clock) a user can meet old and new flags in turn: that is one change of
            # route, counted once per change (the user's previous request or this one
            # within its propagation); any other change counts.
            window = self.propagating(t)
            if window is None:
                window = self.propagating(self.user_seen[key])
            if window is None or self.user_flip_window.get(key) != window:
                self.user_flips[key] += 1
                self.user_flip_window[key] = window
        self.user_route[key] = canary
        self.user_seen[key] = t


class Traffic:
    def __init__(self, population: Population, world: World, telemetry: Telemetry, rng: Any,
                 shares: dict[str, float], tally: Tally) -> None:
        self.population, self.world, self.telemetry, self.rng, self.tally = population, world, telemetry, rng, tally
        self.cumulative = path_cumulative(world.paths, shares)

    def tick(self, minute: int, step: Callable[[], Step], until: Callable[[float], None]) -> None:
        """The minute's requests, each after what is due before it; then the shadow
        events queued up to the minute's end."""
        self.tally.new_minute()
        run_queued, request = self.world.lambda_.run_queued, self.request
        for t, user in self.population.arrivals(minute):
            run_queued(t)
            until(t)
            request(t, user, step())
        run_queued(float((minute + 1) * 60))

    def request(self, t: float, user: int, step: Step) -> None:
        world = self.world
        uid = user_id(user)
        event = {"version": "2.0", "routeKey": "GET /users/{userId}", "rawPath": f"/users/{uid}",
                 "requestContext": {"http": {"method": "GET"}}, "pathParameters": {"userId": uid}}
        control_rate = world.faults.control_error_rate()
        world.control_fails = bool(control_rate) and self.rng.random() < control_rate
        rig = self._rig()
        result = world.lambda_.run(rig.router, event, t, "request")
        counts = self.telemetry.last_counts if not result.function_error else {}
        failed = bool(result.function_error) or (
            isinstance(result.payload, dict) and int(result.payload.get("statusCode", 200)) >= 500)
        canary = bool(counts.get(emf.CANARY_REQUESTS))
        ok = canary and not counts.get("CanaryErrors") and not failed
        self.tally.served(t, rig.name, user, step, canary, ok, failed)

    def _rig(self) -> PathRig:
        paths = self.world.paths
        if len(paths) == 1:
            return paths[0]
        draw = self.rng.random()
        return next((r for r, c in zip(paths, self.cumulative, strict=True) if draw < c), paths[-1])


def path_cumulative(rigs: list[PathRig], shares: dict[str, float]) -> list[float]:
    """Each read path's share of the requests, cumulated (traffic.path_shares; default equal)."""
    unknown = sorted(set(shares) - {rig.name for rig in rigs})
    if unknown:
        raise ValueError(f"traffic.path_shares names no read path of the spec: {', '.join(unknown)}")
    weights = [shares.get(rig.name, 0.0) if shares else 1.0 for rig in rigs]
    total = sum(weights)
    return [sum(weights[: i + 1]) / total for i in range(len(rigs))]
