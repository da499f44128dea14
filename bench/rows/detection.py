"""Time to detect a failing canary, and false rollbacks of a healthy one, by the alarms that ship.

The alarms are what the generator renders for the production spec held at 1% and at 5%
(`generator/plan/alarms.py`: Wald's sequential test over a fast and a slow window), evaluated
by `cutover.rehearsal.cloudwatch` each simulated minute on the synthetic traffic of
`tests/signals/traffic.py`: 100 requests a minute (Poisson), baseline errors 0.1%. The
figure: the step starts with a broken candidate (flags 0 -> 1% or 1 -> 5% all at once,
two hours in, each environment within a 45 s poll), a share of the canary requests
failing at random (Bernoulli) from then; median / p90 / max minutes to the composite
rollback alarm's ALARM over SEEDS seeds (1..SEEDS). The note: the same when a healthy
step's candidate starts failing two hours in. False rollbacks: the composite's ALARM
transitions over 100 healthy step-hours (one seed each).

Baseline, same traffic and seeds, same run: the rule this replaced (a 50-sample floor):
`IF(samples >= 50 AND errors >= 3, 100 * errors / samples, 0) > 2` over one window sized
so that the expected samples reach the floor (77 min at 1%, 16 min at 5%), with the
served error rate as a rollback member. Nothing is timed: minutes are simulated.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, Row

sys.path.insert(0, str(ROOT / "tests" / "signals"))  # the traffic the signal tests use

ORDER = 65
SEEDS = 30
TARGETS = {1.0: 10.0, 0.3: 20.0, 0.1: 45.0}  # minutes at 1%; half at 5%
FALSE_SEEDS = {1: 101, 5: 102}
PREVIOUS_STEP = {1: 0, 5: 1}
OLD_FLOOR = 50


def _document(percent: float) -> dict:
    from cutover.generator.plan import alarms
    from cutover.generator.spec.loader import load_spec

    text = (ROOT / "config" / "production.release.yaml").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "production.release.yaml"
        spec.write_text(text.replace("      percent: 1\n", f"      percent: {percent:g}\n"))
        return alarms.build(load_spec(spec)).document()


def _fixed_floor(document: dict, percent: float) -> dict:
    """The same alarms with the rule and windows this change replaced."""
    from cutover.generator.plan import alarms

    minutes = math.ceil(alarms.expected_samples_for(OLD_FLOOR) / percent)  # 1 canary request/min at 1%
    old = {}
    for key, alarm in document["alarms"].items():
        if key.endswith("-slow"):
            continue
        alarm = {**alarm, "threshold": 2.0, "comparison": "GreaterThanThreshold", "expressions": [
            *alarm["expressions"][:2],
            {"id": "rate", "expression": f"IF(samples >= {OLD_FLOOR} AND errors >= 3, 100 * errors / samples, 0)",
             "label": "rate", "return_data": True}]}
        if "canary" in key:
            alarm.update(period=60 * minutes, evaluation_periods=1, datapoints_to_alarm=1)
        if key.endswith("served-error-rate"):
            alarm["role"] = "rollback"
        old[key] = alarm
    members = sorted(k for k, a in old.items() if a["role"] == "rollback")
    return {**document, "alarms": old, "rollback": {**document["rollback"], "members": members}}


def _spread(minutes: list[float | None]) -> tuple[str, dict]:
    seen = sorted(m for m in minutes if m is not None)
    missed = len(minutes) - len(seen)
    med = statistics.median(seen) if seen else math.inf
    p90 = seen[max(math.ceil(0.9 * len(seen)) - 1, 0)] if seen else math.inf
    text = f"{med:g} / {p90:g} / {seen[-1]:g} min" if seen else "never"
    if missed:
        text += f" ({missed} not within 3 h)"
    return text, {"median_min": med, "p90_min": p90, "max_min": seen[-1] if seen else None,
                  "missed": missed, "minutes": minutes}


def run(ctx) -> list[Row]:
    from traffic import false_rollbacks, time_to_detect

    seeds = range(1, 4) if ctx.quick else range(1, SEEDS + 1)
    hours = 5 if ctx.quick else 100
    rows = []
    for percent in (1, 5):
        new = _document(percent)
        old = _fixed_floor(new, percent)
        for failing, target_1 in TARGETS.items():
            target = target_1 if percent == 1 else target_1 / 2
            start = PREVIOUS_STEP[percent]
            ours = [time_to_detect(new, percent, failing, s, from_percent=start) for s in seeds]
            before = [time_to_detect(old, percent, failing, s, from_percent=start) for s in seeds]
            figure, values = _spread(ours)
            baseline, base_values = _spread(before)
            steady, steady_values = _spread([time_to_detect(new, percent, failing, s) for s in seeds])
            steady_before, steady_base = _spread([time_to_detect(old, percent, failing, s) for s in seeds])
            within = sum(1 for m in ours if m is not None and m <= target)
            rows.append(Row(
                name=f"detect-{percent}pct-{round(failing * 100)}",
                measure=f"time to detect, canary failing {failing:.0%} from the start of the {percent}% step "
                        f"({percent} canary request{'' if percent == 1 else 's'}/min): median / p90 / max over {len(ours)} seeds",
                figure=figure, baseline=f"fixed 50-sample floor {baseline}",
                result=f"{within}/{len(ours)} within {target:g} min",
                target=f"median ≤ {target:g} min", met=values["median_min"] <= target,
                ratio=base_values["median_min"] / values["median_min"] if values["median_min"] else None,
                ratio_of="median fixed floor / median sequential test",
                values={"ours": values, "fixed_floor": base_values, "target_min": target,
                        "hours_into_the_step": {"ours": steady_values, "fixed_floor": steady_base}},
                note=f"seeds 1..{len(ours)}, random (Bernoulli) failures; step {start}% -> {percent}% "
                     f"with the candidate failing from then, per seed (min): {values['minutes']}. "
                     f"Failing from 2 h into a healthy {percent}% step instead: {steady} "
                     f"(fixed floor {steady_before})",
            ))
        fired = false_rollbacks(new, percent, hours, FALSE_SEEDS[percent])
        fired_before = false_rollbacks(old, percent, hours, FALSE_SEEDS[percent])
        rows.append(Row(
            name=f"false-rollbacks-{percent}pct",
            measure=f"false rollbacks over {hours} healthy step-hours at a {percent}% canary "
                    f"(seed {FALSE_SEEDS[percent]}, baseline errors 0.1%)",
            figure=f"{len(fired)}", baseline=f"fixed 50-sample floor {len(fired_before)}",
            result=f"{len(fired)} composite ALARM transitions", target="0", met=not fired,
            values={"ours_s": fired, "fixed_floor_s": fired_before, "hours": hours},
            note=f"composite ALARM at (s): {fired or 'none'}; fixed floor: {fired_before or 'none'}",
        ))
    return rows
