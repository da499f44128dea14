"""What every benchmark row shares: the result type, timing helpers, the router's
environment, and the machine description written next to the figures."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
EXAMPLE = ROOT / "example" / "user-profile"  # the example's user_profile, vendored into the zips
BENCH = ROOT / "bench"
DATA = BENCH / "data"
for _path in (str(ROOT), str(FUNCTIONS), str(EXAMPLE), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:huntaze-prisma-read:live"
FLAGS_OFF = {"prisma-adapter": {"enabled": True, "percent": 0, "salt": "bench",
                                "stickyKey": "userId", "step": 0},
             "prisma-shadow": {"enabled": False, "sampleRate": 0, "timeoutMs": 500}}
FLAGS_SHADOW = {**FLAGS_OFF, "prisma-shadow": {"enabled": True, "sampleRate": 1.0,
                                                "timeoutMs": 500}}


@dataclass
class Row:
    """One line of the table: our figure beside its baseline measured in the same run.

    ``ratio`` is a number whose meaning ``ratio_of`` states (e.g. "DeepDiff time / ours");
    ``values`` holds the raw numbers (seconds, counts) the strings were made from.
    """

    name: str
    measure: str
    figure: str
    baseline: str
    result: str
    target: str
    met: bool
    ratio: float | None = None
    ratio_of: str = ""
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None
    analysis: str = ""  # when not met: what the profile shows, in words

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What a row's ``run`` gets: the mode and the local stand-ins, built on first use."""

    quick: bool
    _fakes: tuple[Any, Any] | None = None

    def fakes(self) -> tuple[Any, Any]:
        """(AppConfig extension, Lambda Invoke API), local HTTP servers, one per run."""
        if self._fakes is None:
            from cutover.rehearsal.fakes import AppConfigExtension, LambdaInvokeApi

            self._fakes = (AppConfigExtension(), LambdaInvokeApi())
        return self._fakes

    def close(self) -> None:
        if self._fakes is not None:
            for server in self._fakes:
                server.close()
            self._fakes = None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def time_per_call(fn: Callable[[], Any], min_runs: int, min_seconds: float) -> float:
    """Median of single calls after one warm-up call, at least ``min_runs`` and
    ``min_seconds``."""
    fn()
    times = []
    started = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - started < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int, per_round: int,
                warmup: int = 200) -> dict[str, list[float]]:
    """Per-call times of each function, run in alternating blocks so that the machine's
    noise falls on every side alike."""
    perf = time.perf_counter_ns
    samples: dict[str, list[float]] = {label: [] for label in fns}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for label, fn in fns.items():
            sink = samples[label]
            for _ in range(per_round):
                t = perf()
                fn()
                sink.append((perf() - t) / 1e9)
    return samples


@contextlib.contextmanager
def quiet_stdout():
    """Log lines go to /dev/null while timing (in Lambda they go to a pipe)."""
    saved = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


@contextlib.contextmanager
def saved_environ():
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def base_env(extension_url: str, lambda_url: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
        "CUTOVER_RELEASE": "bench", "CUTOVER_PATH": "user-read",
        "CUTOVER_TRACING": "Active", "CUTOVER_TRACE_USER_ID": "hashed",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                            "Sampled=0",
        # as in Lambda: the X-Ray SDK then uses the facade segment and its local sampler
        "LAMBDA_TASK_ROOT": str(FUNCTIONS), "AWS_LAMBDA_FUNCTION_NAME": "huntaze-mock-read",
        "CUTOVER_APPCONFIG_URL": extension_url, "CUTOVER_APPCONFIG_APPLICATION": "huntaze-flags",
        "CUTOVER_APPCONFIG_ENVIRONMENT": "production", "CUTOVER_APPCONFIG_PROFILE": "feature-flags",
        "CUTOVER_CANARY_FLAG": "prisma-adapter", "CUTOVER_SHADOW_FLAG": "prisma-shadow",
        "CUTOVER_FLAGS_TTL_MS": "60000", "CUTOVER_FLAGS_BUDGET_MS": "50",
        "CUTOVER_CANDIDATE_ARN": ARN, "CUTOVER_CANARY_TIMEOUT_MS": "1500",
        "CUTOVER_SHADOW_DISPATCH_BUDGET_MS": "5",
    }


def fresh_router(env: dict[str, str]):
    """The router module with a new Router built from ``env`` on its next request."""
    os.environ.update(env)
    from cutover_runtime import aws
    from router import handler

    aws.reset()
    handler.reset()
    return handler


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        if match:
            cpu = match.group(1).strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "system": f"{platform.system()} {platform.release()}",
            "load_average_at_start": round(load, 2) if load is not None else None}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f} ms"
