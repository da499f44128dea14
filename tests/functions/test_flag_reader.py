from __future__ import annotations

import pytest
from cutover_runtime.flag_reader import SAFE_DEFAULTS, FlagCache, FlagsError, parse_flags
from cutover_runtime.telemetry import Identity

from .conftest import events, flag_values


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_cache(extension, clock, ttl_ms=5000, budget_ms=60000):  # wall time never decides a test
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
    # The extension answers, with a canary on, only after 2 s: a read that honoured its
    # 50 ms budget gave up before and served the defaults; one that waited serves the
    # answer. No wall-clock bound is asserted (the budget's cost is measured by bench/).
    extension.document = flag_values(percent=50, shadow=True)
    extension.mode, extension.hang_s = "hang", 2.0
    cache = make_cache(extension, Clock(), budget_ms=50)
    assert cache.get() == SAFE_DEFAULTS


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


# -- an attribute of the wrong type invalidates the document -----------

def _with(flag: str, **attributes) -> dict:
    document = flag_values(percent=50, shadow=True, sample_rate=0.5)
    document[flag] = {**document[flag], **attributes}
    return document


WRONG_TYPES = [
    ("prisma-adapter", {"enabled": "false"}, "attribute=enabled"),
    ("prisma-adapter", {"enabled": "true"}, "attribute=enabled"),
    ("prisma-adapter", {"enabled": 1}, "attribute=enabled"),
    ("prisma-adapter", {"enabled": None}, "attribute=enabled"),
    ("prisma-shadow", {"enabled": "false"}, "attribute=enabled"),
    ("prisma-adapter", {"percent": "50"}, "attribute=percent"),
    ("prisma-adapter", {"percent": True}, "attribute=percent"),
    ("prisma-adapter", {"percent": float("nan")}, "attribute=percent"),
    ("prisma-adapter", {"enabled": False, "percent": "x"}, "attribute=percent"),  # off, still checked
    ("prisma-adapter", {"salt": 7}, "attribute=salt"),
    ("prisma-adapter", {"salt": "s" * 1025}, "attribute=salt"),
    ("prisma-adapter", {"stickyKey": ["userId"]}, "attribute=stickyKey"),
    ("prisma-adapter", {"stickyKey": ""}, "attribute=stickyKey"),
    ("prisma-adapter", {"step": "1"}, "attribute=step"),
    ("prisma-shadow", {"sampleRate": "0.5"}, "attribute=sampleRate"),
    ("prisma-shadow", {"enabled": False, "sampleRate": 2}, "attribute=sampleRate"),
    ("prisma-shadow", {"timeoutMs": float("inf")}, "attribute=timeoutMs"),
    ("prisma-shadow", {"timeoutMs": 0}, "attribute=timeoutMs"),
]


@pytest.mark.parametrize("flag,attributes,message", WRONG_TYPES,
                         ids=[f"{f}-{min(a)}={a[min(a)]!r}"[:60] for f, a, _ in WRONG_TYPES])
def test_an_attribute_of_the_wrong_type_makes_the_document_invalid(flag, attributes, message):
    with pytest.raises(FlagsError, match=message):
        parse_flags(_with(flag, **attributes), "prisma-adapter", "prisma-shadow")


@pytest.mark.parametrize("flag_value", [None, "on", [], 0, False])
def test_a_flag_that_is_not_an_object_makes_the_document_invalid(flag_value):
    with pytest.raises(FlagsError, match="not an object"):
        parse_flags({"prisma-adapter": flag_value}, "prisma-adapter", "prisma-shadow")


def test_a_string_false_keeps_the_last_good_flags_and_says_why(extension, capsys):
    # GIVEN good flags with the canary at 5%
    clock = Clock()
    cache = make_cache(extension, clock)
    extension.document = flag_values(percent=5)
    assert cache.get().percent == 5
    # WHEN the canary is "disabled" with a string and the percent raised
    extension.document = _with("prisma-adapter", enabled="false", percent=100)
    clock.now += 10
    flags = cache.get()
    # THEN the document is refused: still 5 %, FLAGS-STALE names the attribute
    assert flags.percent == 5
    [stale] = events(capsys.readouterr().out, "FLAGS-STALE")
    assert "attribute=enabled" in stale["error"] and "value='false'" in stale["error"]


def test_a_string_false_on_a_cold_start_gives_the_safe_defaults(extension, capsys):
    extension.document = _with("prisma-shadow", enabled="false")
    assert make_cache(extension, Clock()).get() == SAFE_DEFAULTS
    assert "attribute=enabled" in events(capsys.readouterr().out, "FLAGS-DEFAULT")[0]["error"]


def test_unknown_attributes_and_flags_are_ignored():
    document = flag_values(percent=5)
    document["prisma-adapter"]["owner"] = "team-a"
    document["another-flag"] = {"enabled": "yes"}
    assert parse_flags(document, "prisma-adapter", "prisma-shadow").percent == 5


# -- the budget is a deadline for the whole exchange -------------------

def test_a_trickling_extension_is_cut_off_at_the_budget(extension, capsys):
    # GIVEN an extension that sends its (valid) answer one byte every 20 ms: ~10 s in all
    extension.document = flag_values(percent=50)
    extension.mode, extension.trickle_s = "trickle", 0.02
    cache = make_cache(extension, Clock(), budget_ms=100)
    # WHEN the flags are read with a 100 ms budget
    flags = cache.get()
    # THEN the read gave up (the client hung up before the answer was complete), and the
    # safe defaults apply, the log line saying it was the budget
    assert flags == SAFE_DEFAULTS
    assert extension.completed == 0
    assert events(capsys.readouterr().out, "FLAGS-DEFAULT")[0]["error"] == "timeout"
