"""Build `cutover.metrics/1` documents from a few rates, with exact whole counts per period.

Every count is spread over the periods by cumulative rounding *inside* the count it is
part of (canary errors inside canary requests, ...), so the per-period invariants of
the format (a part never exceeds its whole) hold by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

WINDOW_START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def spread(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (whole numbers, total <= sum(weights))."""
    whole = sum(weights)
    assert 0 <= total <= whole or (total == 0 and whole == 0), (total, whole)
    out, cum_w, given = [], 0, 0
    for w in weights:
        cum_w += w
        upto = total * cum_w // whole if whole else 0
        out.append(upto - given)
        given = upto
    return out


@dataclass(frozen=True)
class Scenario:
    """One read path over a window of `minutes` one-minute periods."""

    step: float = 1
    minutes: int = 120
    rpm: int = 100  # requests per minute
    share_pct: float | None = None  # actual canary share after the rollout; default = step
    share_before_pct: float = 0.0  # share before `settle_minute` (the previous step)
    settle_minute: int | None = None  # rollout finished this many minutes into the window
    deployed_minutes_before: int | None = 60  # rollout finished this long before the window (None: in flight)
    canary_error_pct: float = 0.0
    control_error_pct: float = 0.0
    fallback: bool = True
    candidate_error_pct: float | None = None  # CanaryReadErrors / CanaryReads; default = canary_error_pct
    shadow_enabled: bool = True
    shadow_pct: float = 50.0  # share of control requests shadowed
    diff_pct: float = 0.1
    shadow_error_pct: float = 0.0
    dispatch_failure_pct: float = 0.0
    p95_control: float | None = 40.0
    p95_canary: float | None = 44.0
    latency_samples: tuple[int, int] | None = None  # (control, canary); default = request counts
    path: str = "user-read"
    drop_minutes: tuple[int, ...] = ()  # periods with no datapoint at all
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Scenario:
        return replace(self, **changes)


def _pct_of(total: int, pct: float) -> int:
    return round(total * pct / 100)


def _per_minute(s: Scenario) -> tuple[list[int], list[int]]:
    requests = [0 if m in s.drop_minutes else s.rpm for m in range(s.minutes)]
    share = s.step if s.share_pct is None else s.share_pct
    canary = []
    for m, r in enumerate(requests):
        pct = s.share_before_pct if s.settle_minute is not None and m < s.settle_minute else share
        canary.append(r * pct / 100)
    # whole canary requests by cumulative rounding of the fractional ones
    cum, given, whole = 0.0, 0, []
    for c in canary:
        cum += c
        whole.append(round(cum) - given)
        given = round(cum)
    return requests, whole


def path_document(s: Scenario) -> dict[str, Any]:
    requests, canary = _per_minute(s)
    control = [r - c for r, c in zip(requests, canary)]
    c_err = spread(_pct_of(sum(canary), s.canary_error_pct), canary)
    c_fb = c_err if s.fallback else [0] * len(c_err)
    cand_pct = s.canary_error_pct if s.candidate_error_pct is None else s.candidate_error_pct
    cand_err = spread(_pct_of(sum(canary), cand_pct), canary)
    k_err = spread(_pct_of(sum(control), s.control_error_pct), control)
    shadowed = spread(_pct_of(sum(control), s.shadow_pct), control) if s.shadow_enabled and s.step < 100 else [0] * len(control)
    d_fail = spread(_pct_of(sum(shadowed), s.dispatch_failure_pct), shadowed)
    dispatched = [a - b for a, b in zip(shadowed, d_fail)]
    s_err = spread(_pct_of(sum(dispatched), s.shadow_error_pct), dispatched)
    compared = [a - b for a, b in zip(dispatched, s_err)]
    mism = spread(_pct_of(sum(compared), s.diff_pct), compared)
    series = []
    for m in range(s.minutes):
        if m in s.drop_minutes:
            continue
        series.append({
            "start": iso(WINDOW_START + timedelta(minutes=m)),
            "Requests": requests[m], "Errors": k_err[m] + c_err[m] - c_fb[m],
            "CanaryRequests": canary[m], "CanaryErrors": c_err[m], "CanaryFallbacks": c_fb[m],
            "CanaryReads": canary[m], "CanaryReadErrors": cand_err[m],
            "ShadowComparisons": compared[m], "ShadowMismatches": mism[m],
            "ShadowErrors": s_err[m], "ShadowTimeouts": 0,
            "ShadowDispatched": dispatched[m], "ShadowDispatchFailures": d_fail[m],
        })  # fmt: skip
    n_control, n_canary = s.latency_samples or (sum(control), sum(canary))
    if s.deployed_minutes_before is not None:
        deployed = iso(WINDOW_START - timedelta(minutes=s.deployed_minutes_before))
    elif s.settle_minute is not None:
        deployed = iso(WINDOW_START + timedelta(minutes=s.settle_minute, seconds=-45))
    else:
        deployed = None
    return {
        "path": s.path,
        "step_percent": s.step,
        "shadow_enabled": s.shadow_enabled,
        "window": {"start": iso(WINDOW_START), "end": iso(WINDOW_START + timedelta(minutes=s.minutes)),
                   "period_seconds": 60},
        "rollout": {"deployed_at": deployed, "poll_interval_seconds": 45},
        "series": series,
        "latency": {
            "control": {"p95_ms": s.p95_control if n_control else None, "samples": n_control},
            "canary": {"p95_ms": s.p95_canary if n_canary else None, "samples": n_canary},
        },
        **s.extra,
    }


def document(*scenarios: Scenario, environment: str = "production") -> dict[str, Any]:
    return {
        "format": "cutover.metrics/1",
        "release": "huntaze-prisma-migration",
        "environment": environment,
        "source": "tests/analysis/builders.py",
        "paths": [path_document(s) for s in scenarios or (Scenario(),)],
    }
