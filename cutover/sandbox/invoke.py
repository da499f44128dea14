"""Lambda Invoke of the simulated release's functions, for the operators' calls through the
front door (``cutover preflight`` invokes the router's alias): the AWS stand-ins answer an
Invoke of a function the simulation registers with its runner, since moto runs code only
in Docker. The runner is the simulation's own function (the real handler, its execution
environments, its telemetry), run at the sandbox's current time between two minutes of
traffic; the caller's request is not user traffic and is not counted as such."""

from __future__ import annotations

import json
from typing import Any


class Invoker:
    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def register(self, aws: Any) -> list[str]:
        """Register every read path's router and candidate; returns their names."""
        service = getattr(aws, "lambda_", None)
        if service is None:
            return []
        names = []
        for rig in self.sim.world.paths:
            for fn in (rig.router, rig.candidate):
                service.register(fn.name, self._runner(fn))
                names.append(fn.name)
        return names

    def _runner(self, fn: Any) -> Any:
        def run(invocation: Any) -> Any:
            return self.run(fn, invocation)

        return run

    def run(self, fn: Any, invocation: Any) -> Any:
        from .services.lambda_invoke import Outcome

        result = run_now(self.sim, invocation, lambda event, now: self.sim.world.lambda_.run(fn, event, now, "invoke"))
        if isinstance(result, Outcome):
            return result
        error = result.function_error
        return Outcome(json.dumps(result.payload).encode(), "Unhandled" if error else None)


def run_now(sim: Any, invocation: Any, call: Any) -> Any:
    """`call(event, now)` on the invocation's JSON payload, under the simulation's lock at its
    current time (which the run leaves where it was: the sandbox's time moves with the
    minutes only); Lambda's Runtime.InvalidPayload answer (an Outcome) when it is not JSON."""
    from .services.lambda_invoke import Outcome

    try:
        event = json.loads(invocation.payload or b"{}")
    except ValueError:
        return Outcome(json.dumps({"errorType": "Runtime.InvalidPayload",
                                   "errorMessage": "the payload is not JSON"}).encode(), "Unhandled")
    with sim._lock:
        now = sim.clock.now
        try:
            return call(event, now)
        finally:
            sim.clock.set(now)
