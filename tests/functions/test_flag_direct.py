"""The data-plane read of the flags (cutover_runtime.flag_direct) behind FlagCache: only
when the agent fails, at most once per poll interval, never a source older than AppConfig."""

from __future__ import annotations

import pytest
from cutover_runtime import aws, flag_direct
from cutover_runtime.flag_direct import DirectFlagReader
from cutover_runtime.flag_reader import SAFE_DEFAULTS, FlagCache
from cutover_runtime.telemetry import Identity

from cutover.rehearsal.fakes import StandaloneDataPlane as AppConfigDataPlane

from .conftest import events, flag_values


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def data_plane(aws_env):
    server = AppConfigDataPlane()
    aws_env.setenv("AWS_ENDPOINT_URL_APPCONFIGDATA", server.url)
    aws.reset()
    yield server
    aws.reset()
    server.close()


def make_cache(extension, clock, direct=True):
    reader = DirectFlagReader("huntaze-flags", "production", "feature-flags", 45, 2.0) if direct else None
    return FlagCache(extension.url, "huntaze-flags", "production", "feature-flags", "prisma-adapter",
                     "prisma-shadow", 5000, 1000, Identity("rel", "user-read", "Cutover"), clock=clock,
                     direct=reader)


def test_a_working_agent_never_reaches_the_data_plane(extension, data_plane):
    extension.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    for _ in range(5):
        assert cache.get().percent == 5
        clock.now += 10
    assert (data_plane.sessions, data_plane.reads) == ([], 0)


def test_a_cold_start_during_an_agent_outage_reads_the_data_plane(extension, data_plane, capsys):
    # GIVEN the agent answers 500 and the data plane serves the deployed 25%
    extension.mode = "down"
    data_plane.document = flag_values(percent=25)
    cache = make_cache(extension, Clock())
    # WHEN a new environment reads its flags
    flags = cache.get()
    # THEN it routes with the deployed flags, and says where they came from
    assert flags.percent == 25
    assert data_plane.sessions == [{"ApplicationIdentifier": "huntaze-flags", "EnvironmentIdentifier": "production",
                                    "ConfigurationProfileIdentifier": "feature-flags",
                                    "RequiredMinimumPollIntervalInSeconds": 45}]
    direct = events(capsys.readouterr().out, "FLAGS-DIRECT")
    assert direct and direct[0]["percent"] == 25 and direct[0]["error"] == "extension answered status=500"


def test_the_data_plane_is_read_at_most_once_per_poll_interval(extension, data_plane):
    extension.mode = "down"
    data_plane.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    for _ in range(40):  # 40 s of requests, the agent tried every few seconds
        cache.get()
        clock.now += 1
    assert data_plane.reads == 1
    data_plane.document = flag_values(percent=25)
    clock.now += 10  # past 45 s since the first read
    assert cache.get().percent == 25
    assert data_plane.reads == 2
    assert len(data_plane.sessions) == 1  # one session, its tokens chained


def test_unchanged_answers_keep_the_sessions_document(extension, data_plane):
    """GetLatestConfiguration's empty body means 'unchanged': the flags stay."""
    extension.mode = "down"
    data_plane.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    assert cache.get().percent == 5
    clock.now += 50
    assert cache.get().percent == 5
    assert data_plane.reads == 2


def test_both_down_a_new_environment_gets_the_safe_defaults(extension, data_plane, capsys):
    extension.mode, data_plane.mode = "down", "down"
    assert make_cache(extension, Clock()).get() == SAFE_DEFAULTS
    default = events(capsys.readouterr().out, "FLAGS-DEFAULT")
    assert default[0]["error"].startswith("extension answered status=500; appconfigdata ")


def test_both_down_an_old_environment_keeps_its_last_good_flags(extension, data_plane):
    extension.document = data_plane.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    assert cache.get().percent == 5
    extension.mode, data_plane.mode = "down", "down"
    clock.now += 60
    assert cache.get().percent == 5


def test_an_invalid_document_from_the_data_plane_keeps_the_last_good_flags(extension, data_plane, capsys):
    extension.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    assert cache.get().percent == 5
    extension.mode = "down"
    data_plane.document = {"prisma-adapter": {"enabled": "false", "percent": 50}}
    clock.now += 60
    assert cache.get().percent == 5
    stale = events(capsys.readouterr().out, "FLAGS-STALE")
    assert "flag attribute invalid: flag=prisma-adapter attribute=enabled" in stale[-1]["error"]


def test_the_agent_answers_again_and_wins(extension, data_plane):
    extension.mode = "down"
    data_plane.document = flag_values(percent=5)
    clock = Clock()
    cache = make_cache(extension, clock)
    assert cache.get().percent == 5
    extension.mode, extension.document = "ok", flag_values(percent=25)
    clock.now += 6  # past the cache's TTL
    assert cache.get().percent == 25
    assert data_plane.reads == 1


LAMBDA = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_ACCESS_KEY_ID": "ASIA..."}


@pytest.mark.parametrize("env,on", [
    ({**LAMBDA, "CUTOVER_FLAGS_DIRECT_READ": "on"}, True),
    ({**LAMBDA, "CUTOVER_FLAGS_DIRECT_READ": "off"}, False),
    (LAMBDA, False),  # not asked for
    ({"CUTOVER_FLAGS_DIRECT_READ": "on", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, False),  # no credentials
    # a local run (the rehearsal, a laptop with credentials in the shell): only against a stand-in
    ({"CUTOVER_FLAGS_DIRECT_READ": "on", "AWS_ACCESS_KEY_ID": "AKIA..."}, False),
    ({"CUTOVER_FLAGS_DIRECT_READ": "on", "AWS_ACCESS_KEY_ID": "AKIA...",
      "AWS_ENDPOINT_URL_APPCONFIGDATA": "http://127.0.0.1:9"}, True),
])  # fmt: skip
def test_the_direct_read_is_on_only_when_asked_for_in_lambda_or_against_a_stand_in(env, on):
    assert flag_direct.enabled(env) is on
