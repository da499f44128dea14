"""Did the run end as the scenario expects? Each miss is one sentence in the report.

Times are the users' times: "rolled back" is the moment the candidate served its last
canary user (the record's ``rolled_back_at``), not the moment something decided to roll back.
"""

from __future__ import annotations

from .record import RunRecord
from .scenario import Bounds, Expect


def judge(r: RunRecord, expect: Expect) -> tuple[bool, list[str]]:
    outcome = r.outcome
    misses: list[str] = []
    if outcome.result != expect.outcome or (expect.step is not None and outcome.step != expect.step):
        where = f" at step {expect.step:g}%" if expect.step is not None else ""
        got = f" at step {outcome.step:g}%" if outcome.step is not None else ""
        misses.append(f"expected {expect.outcome}{where}, got {outcome.result.value}{got}")
    bounds = expect.bounds
    if bounds.max_user_visible_errors is not None and r.user_errors > bounds.max_user_visible_errors:
        misses.append(f"{r.user_errors} user-visible errors, more than the {bounds.max_user_visible_errors} allowed")
    misses += _rollback_times(r, bounds)
    if bounds.code_deployment is not None and r.code_deployment.value != bounds.code_deployment:
        misses.append(f"expected the code deployment {bounds.code_deployment}, got {r.code_deployment.value}")
    if bounds.max_route_flips is not None:
        worst = r.max_route_flips
        if worst > bounds.max_route_flips:
            over = sum(1 for n in r.route_flips if n > bounds.max_route_flips)
            misses.append(f"{over} users flipped route more than {bounds.max_route_flips} times (at most {worst})")
    if bounds.top_divergent_field is not None:
        fields = r.divergent_fields
        top = min(fields.items(), key=lambda kv: (-kv[1], kv[0]))[0] if fields else None
        if top != bounds.top_divergent_field:
            misses.append(f"the top diverging field is {top or 'none'}, expected {bounds.top_divergent_field}")
    if bounds.notification_sent is not None:
        sent = r.notifications
        if bool(sent) != bounds.notification_sent:
            misses.append("no notification was sent" if bounds.notification_sent
                          else f"{len(sent)} notifications were sent, expected none")
    ended = getattr(expect, "ended", None)
    if ended is not None:
        got = _controller_end(r)
        if got != ended:
            misses.append(f"expected the controller to end with {ended}, it ended with {got}")
    for step, verdict in sorted(bounds.verdicts.items()):
        made = [d.verdict.value for d in r.decisions if d.step == step]
        if not made or made[-1] != verdict:
            misses.append(f"the verdict at step {step:g}% is {made[-1] if made else 'none'}, expected {verdict}")
    return not misses, misses


def _controller_end(r: RunRecord) -> str:
    """The controller's end: its Fail state's error, its Succeed state's name, or its status."""
    c = r.controller or {}
    if c.get("status") == "FAILED":
        return str(c.get("error"))
    if c.get("status") == "SUCCEEDED":
        return str(c.get("last_state"))
    return f"nothing (its execution is {c.get('status', 'not run')})"


def _rollback_times(r: RunRecord, bounds: Bounds) -> list[str]:
    misses = []
    if bounds.rollback_within_minutes is not None:
        fault = r.first_fault
        if r.rolled_back_at is None or fault is None:
            misses.append(f"the candidate did not stop serving canary users after a fault "
                          f"(bound: within {bounds.rollback_within_minutes:g} min)")
        elif (r.rolled_back_at - fault) / 60 > bounds.rollback_within_minutes:
            misses.append(f"the candidate served its last canary user {(r.rolled_back_at - fault) / 60:.1f} min "
                          f"after the fault, more than {bounds.rollback_within_minutes:g}")
    if bounds.candidate_stops_within_minutes is not None:
        limit = bounds.candidate_stops_within_minutes
        if r.rollback_decided is None:
            misses.append(f"no rollback decision (bound: the candidate stops within {limit:g} min of it)")
        elif r.rolled_back_at is None:
            misses.append(f"the candidate still served canary users at the end, "
                          f"{(r.end_minute * 60 - r.rollback_decided) / 60:.1f} min after the rollback decision")
        elif (r.rolled_back_at - r.rollback_decided) / 60 > limit:
            misses.append(f"the candidate served a canary user {(r.rolled_back_at - r.rollback_decided) / 60:.1f} min "
                          f"after the rollback decision, more than {limit:g}")
    return misses
