from __future__ import annotations

import time

import pytest
from cutover_runtime.flags import SAFE_DEFAULTS, FlagCache, FlagsError, parse_flags
from cutover_runtime.telemetry import Identity

from .conftest import events, flag_values


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_cache(extension, clock, ttl_ms=5000, budget_ms=1000):
    return FlagCache(extension.url, "huntaze flags", "production", "feature-flags",
                     "prisma-adapter", "prisma-shadow", ttl_ms, budget_ms,
                     Identity("rel", "user-read", "Cutover"), clock=clock)


def test_reads_the_extension_path_for_the_configured_names(extension):
    extension.document = flag_values(percent=5, shadow=True, sample_rate=0.1)
    flags = make_cache(extension, Clock()).get()
    assert extension.paths == [("/applications/huntaze%20flags/environments/production"
                               "/configurations/feature-flags")]
    assert (flags.percent, flags.shadow_enabled, flags.sample_rate) == (5.0, True, 0.1)
    assert flags.salt == "test-salt" and flags.sticky_key == "userId"


def test_flags_are_cached_for_the_ttl_then_refreshed(extension):
    clock = Clock()
    cache = make_cache(extension, clock, ttl_ms=5000)
    extension.document = flag_values(percent=1)
    assert cache.get().percent == 1
    extension.document = flag_values(percent=25)
    clock.now += 4.9
    assert cache.get().percent == 1
    assert len(extension.paths) == 1
    clock.now += 0.2
    assert cache.get().percent == 25


@pytest.mark.parametrize("mode", ["down", "malformed", "hang"])
def test_a_failed_read_keeps_the_last_good_flags(extension, capsys, mode):
    clock = Clock()
    cache = make_cache(extension, clock, budget_ms=100)
    extension.document = flag_values(percent=50, shadow=True)
    assert cache.get().percent == 50
    extension.mode, extension.hang_s = mode, 0.5
    clock.now += 10
    assert cache.get().percent == 50
    stale = events(capsys.readouterr().out, "FLAGS-STALE")
    assert stale and stale[0]["percent"] == 50 and stale[0]["ageMs"] == 10_000
    assert stale[0]["error"]


@pytest.mark.parametrize("mode", ["down", "malformed", "hang"])
def test_safe_defaults_when_nothing_was_ever_read(extension, capsys, mode):
    extension.mode, extension.hang_s = mode, 0.5
    flags = make_cache(extension, Clock(), budget_ms=100).get()
    assert flags == SAFE_DEFAULTS
    assert flags.percent == 0 and flags.shadow_enabled is False
    assert events(capsys.readouterr().out, "FLAGS-DEFAULT")


def test_a_stuck_extension_holds_a_read_no_longer_than_the_budget(extension):
    extension.mode, extension.hang_s = "hang", 2.0
    cache = make_cache(extension, Clock(), budget_ms=50)
    started = time.monotonic()
    assert cache.get() == SAFE_DEFAULTS
    # generous bound (CI noise); the budget itself is measured by bench/, not here
    assert time.monotonic() - started < 1.0


def test_after_a_failure_the_extension_is_not_asked_on_every_request(extension):
    clock = Clock()
    extension.mode = "down"
    cache = make_cache(extension, clock)
    for _ in range(20):
        cache.get()
    assert len(extension.paths) == 1
    clock.now += 1.01
    extension.mode = "ok"
    extension.document = flag_values(percent=5)
    assert cache.get().percent == 5


def test_an_unreachable_extension_gives_defaults(capsys):
    cache = FlagCache("http://127.0.0.1:9", "a", "e", "p", "prisma-adapter", "prisma-shadow",
                      5000, 50, Identity("rel", "p", "Cutover"))
    assert cache.get() == SAFE_DEFAULTS


def test_disabled_canary_or_zero_percent_is_zero_and_invalid_values_are_errors():
    assert parse_flags(flag_values(percent=30, enabled=False), "prisma-adapter",
                       "prisma-shadow").percent == 0
    assert parse_flags({}, "prisma-adapter", "prisma-shadow") == SAFE_DEFAULTS
    with pytest.raises(FlagsError, match="attribute=percent"):
        parse_flags(flag_values(percent=150), "prisma-adapter", "prisma-shadow")
    with pytest.raises(FlagsError, match="attribute=sampleRate"):
        parse_flags(flag_values(shadow=True, sample_rate=2), "prisma-adapter", "prisma-shadow")
    with pytest.raises(FlagsError):
        parse_flags([], "prisma-adapter", "prisma-shadow")
