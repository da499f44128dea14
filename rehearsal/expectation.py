"""Did the run end as the scenario expects? Each miss is one sentence in the report."""

from __future__ import annotations

from typing import Any


def judge(r: Any) -> tuple[bool, list[str]]:
    expect = r.scenario.expect
    outcome = r.outcome
    misses: list[str] = []
    if outcome["result"] != expect.outcome or (expect.step is not None and outcome["step"] != expect.step):
        where = f" at step {expect.step:g}%" if expect.step is not None else ""
        got = f" at step {outcome['step']:g}%" if outcome["step"] is not None else ""
        misses.append(f"expected {expect.outcome}{where}, got {outcome['result']}{got}")
    bounds = expect.bounds
    if bounds.max_user_visible_errors is not None and r.user_errors > bounds.max_user_visible_errors:
        misses.append(f"{r.user_errors} user-visible errors, more than the {bounds.max_user_visible_errors} allowed")
    if bounds.rollback_within_minutes is not None:
        fault = r.world.faults.first_started()
        if r.rollback_minute is None or fault is None:
            misses.append(f"no rollback after a fault (bound: within {bounds.rollback_within_minutes:g} min)")
        elif r.rollback_minute - fault > bounds.rollback_within_minutes:
            misses.append(f"the rollback came {r.rollback_minute - fault:g} min after the fault, "
                          f"more than {bounds.rollback_within_minutes:g}")
    if bounds.code_deployment is not None:
        code = r.code
        got = "none" if code is None else "rolled_back" if code.rolled_back else (
            "succeeded" if code.done else "in progress")
        if got != bounds.code_deployment:
            misses.append(f"expected the code deployment {bounds.code_deployment}, got {got}")
    return not misses, misses
