"""Simulated time: hours of a ramp rehearse in minutes, with no real sleeping.

The function modules bind their time sources at import (``_perf = time.perf_counter``,
``clock=time.monotonic`` as a default argument, ``time.time()`` through the module).
``patch_time_sources`` swaps every such reference in the loaded function modules for
the virtual clock, so the router's latency, the flag cache's TTL, the EMF timestamps
and the candidate's shadow timeout all run on simulated time. The stand-ins advance the
clock by the latencies they inject (the database, the Lambda hop, the mock backend).

Each invocation runs on its own timeline: the engine sets the clock to the request's
arrival before invoking, so a slow invocation never delays the next request's arrival
(in Lambda they would run in different execution environments at the same time).
"""

from __future__ import annotations

import datetime as _datetime
import sys
import time
import types
from collections.abc import Iterable
from typing import Any

# 2026-01-05T00:00:00Z, a Monday: simulated minute 0 (EMF timestamps are epoch based).
EPOCH = 1_767_571_200.0


class VirtualClock:
    """Seconds since the start of the run; ``time()`` is the matching epoch time."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0

    def set(self, seconds: float) -> None:
        self.now = seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def perf_counter(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return EPOCH + self.now

    def minute(self) -> int:
        return int(self.now // 60)


def time_module(clock: VirtualClock) -> types.ModuleType:
    """A stand-in for the ``time`` module: the clock's readings, everything else real."""
    shim = types.ModuleType("time")
    shim.__dict__.update({k: v for k, v in vars(time).items() if not k.startswith("__")})
    for name in ("perf_counter", "monotonic", "time"):
        setattr(shim, name, getattr(clock, name))
    shim.perf_counter_ns = lambda: int(clock.now * 1e9)
    shim.monotonic_ns = lambda: int(clock.now * 1e9)
    shim.time_ns = lambda: int(clock.time() * 1e9)
    # A sleep inside a function would stall the whole rehearsal; it advances time instead.
    shim.sleep = clock.advance
    return shim


def _replacements(clock: VirtualClock, shim: types.ModuleType) -> dict[int, Any]:
    return {id(time): shim, id(time.perf_counter): clock.perf_counter,
            id(time.monotonic): clock.monotonic, id(time.time): clock.time,
            id(time.sleep): clock.advance}


def _patch_defaults(func: Any, swap: dict[int, Any]) -> None:
    func = getattr(func, "__func__", func)
    defaults = getattr(func, "__defaults__", None)
    if defaults and any(id(d) in swap for d in defaults):
        func.__defaults__ = tuple(swap.get(id(d), d) for d in defaults)
    kwdefaults = getattr(func, "__kwdefaults__", None)
    if kwdefaults and any(id(d) in swap for d in kwdefaults.values()):
        func.__kwdefaults__ = {k: swap.get(id(v), v) for k, v in kwdefaults.items()}


def patch_time_sources(module_names: list[str], clock: VirtualClock) -> list[str]:
    """Point every time source the named modules hold at ``clock``; returns what changed."""
    shim = time_module(clock)
    swap = _replacements(clock, shim)
    patched = []
    for name in module_names:
        module = sys.modules[name]
        for attr, value in list(vars(module).items()):
            if id(value) in swap:
                setattr(module, attr, swap[id(value)])
                patched.append(f"{name}.{attr}")
            elif isinstance(value, types.FunctionType):
                _patch_defaults(value, swap)
            elif isinstance(value, type) and value.__module__ == name:
                for member in vars(value).values():
                    _patch_defaults(member, swap)
    return patched


def datetime_module(clock: VirtualClock) -> types.ModuleType:
    """A stand-in for the ``datetime`` module whose ``datetime.now()`` reads the clock."""

    class VirtualDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return cls.fromtimestamp(clock.time(), tz)

    shim = types.ModuleType("datetime")
    shim.__dict__.update({k: v for k, v in vars(_datetime).items() if not k.startswith("__")})
    shim.datetime = VirtualDatetime
    return shim


def patch_datetime(modules: Iterable[types.ModuleType], clock: VirtualClock) -> list[str]:
    """Point ``datetime.now()`` of these modules (``from datetime import datetime`` or
    ``import datetime``) at ``clock``; returns what changed. Only the functions that read the
    date to decide (the controller's window) are patched: the others keep what they had."""
    shim = datetime_module(clock)
    swap = {id(_datetime): shim, id(_datetime.datetime): shim.datetime}
    patched = []
    for module in modules:
        for attr, value in list(vars(module).items()):
            if id(value) in swap:
                setattr(module, attr, swap[id(value)])
                patched.append(f"{module.__name__}.{attr}")
    return patched
