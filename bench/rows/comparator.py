"""Comparator vs DeepDiff (equivalent options) on 2 KB and 50 KB payloads."""

from __future__ import annotations

import json

from common import Row, time_per_call
from payloads import RULES, profile_pair

ORDER = 10
SIZES = (("2 KB", 2 * 1024), ("50 KB", 50 * 1024))
TARGETS = {"2 KB": 20, "50 KB": 50}  # DeepDiff time / ours, at least


def _deepdiff(control, candidate):
    from deepdiff import DeepDiff

    return DeepDiff(control, candidate,
                    exclude_regex_paths=[r"root\['meta'\]\['requestId'\]",
                                         r"root\['items'\]\[\d+\]\['etag'\]"],
                    ignore_order_func=lambda level: level.path() == "root['items']",
                    significant_digits=4)  # math_epsilon is ignored under ignore_order


def _ours():
    from cutover_runtime.compare import CompareRules, ShadowComparator

    return ShadowComparator(CompareRules.from_json(json.dumps(RULES)))


def run(ctx) -> list[Row]:
    ours = _ours()
    rows = []
    for label, size in SIZES:
        control, candidate = profile_pair(size)
        ours_paths = sorted(d["path"] for d in ours.compare(control, candidate))
        theirs = _deepdiff(control, candidate)
        t_ours = time_per_call(lambda c=control, d=candidate: ours.compare(c, d),
                               5 if ctx.quick else 20, 0.2 if ctx.quick else 1.0)
        t_deep = time_per_call(lambda c=control, d=candidate: _deepdiff(c, d),
                               3 if ctx.quick else 5, 0.2 if ctx.quick else 1.0)
        rows.append(Row(
            name=f"comparator-{label.replace(' ', '').lower()}",
            measure=f"comparator, {label} payload ({len(json.dumps(control))} B), median/call",
            figure=f"{t_ours * 1e6:,.0f} µs", baseline=f"DeepDiff {t_deep * 1e6:,.0f} µs",
            result=f"{t_deep / t_ours:,.0f}× faster", target=f"≥ {TARGETS[label]}×",
            met=t_deep / t_ours >= TARGETS[label],
            ratio=t_deep / t_ours, ratio_of="DeepDiff time / ours",
            values={"ours_s": t_ours, "deepdiff_s": t_deep},
            note=f"differences found: ours={len(ours_paths)} {ours_paths}; DeepDiff="
                 f"{sum(len(v) for v in theirs.values())} "
                 f"{sorted(p for v in theirs.values() for p in v)}"))
    return rows


def workload(ctx, name: str):
    ours = _ours()
    size = dict(SIZES)["50 KB" if name.endswith("50kb") else "2 KB"]
    control, candidate = profile_pair(size)
    return lambda: [ours.compare(control, candidate) for _ in range(200)]
