"""Invalid metrics inputs and the exact error each gets: JSON path, then what is allowed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cutover.analysis import MetricsInvalid, load_metrics
from tests.analysis.builders import Scenario, document


def base() -> dict:
    return document(Scenario(minutes=3))


def edit(fn: Callable[[dict], None]) -> dict:
    doc = base()
    fn(doc)
    return doc


def path0(doc: dict) -> dict:
    return doc["paths"][0]


def row(doc: dict, i: int = 0) -> dict:
    return path0(doc)["series"][i]


CASES = [
    ("format", lambda d: d.update(format="cutover.metrics/2"),
     ['$.format: "cutover.metrics/2" is not supported; expected "cutover.metrics/1"']),
    ("unknown-top-level", lambda d: d.update(colour="blue"),
     ["$.colour: unknown field 'colour'; allowed here: environment, format, paths, release, source"]),
    ("missing-release", lambda d: d.pop("release"), ["$.release: is required"]),
    ("no-paths", lambda d: d.update(paths=[]), ["$.paths: a list: expected a non-empty list of read paths"]),
    ("missing-window", lambda d: path0(d).pop("window"), ["$.paths[0].window: is required"]),
    ("step-range", lambda d: path0(d).update(step_percent=120),
     ["$.paths[0].step_percent: 120: expected a canary percent from 0 to 100"]),
    ("shadow-flag-type", lambda d: path0(d).update(shadow_enabled="yes"),
     ['$.paths[0].shadow_enabled: "yes": expected true or false']),
    ("window-period", lambda d: path0(d)["window"].update(period_seconds=45),
     ["$.paths[0].window.period_seconds: 45 is not a CloudWatch period; expected 10, 20, 30 or a multiple of 60"]),
    ("window-order", lambda d: path0(d)["window"].update(end="2026-11-29T07:00:00Z"),
     ["$.paths[0].window.end: 2026-11-29T07:00:00Z must be after start (2026-11-29T08:00:00Z)"]),
    ("window-no-zone", lambda d: path0(d)["window"].update(start="2026-11-29T08:00:00"),
     [('$.paths[0].window.start: "2026-11-29T08:00:00": has no time zone; expected an ISO 8601 time with a zone, '
      "such as 2026-11-29T08:00:00Z")]),
    ("window-not-whole-periods", lambda d: path0(d)["window"].update(end="2026-11-29T08:02:30Z"),
     ["$.paths[0].window.end: the window (150 s) is not a whole number of 60 s periods"]),
    ("rollout-poll", lambda d: path0(d)["rollout"].update(poll_interval_seconds=0),
     ["$.paths[0].rollout.poll_interval_seconds: 0: expected a number of seconds from 1 to 86400"]),
    ("negative-count", lambda d: row(d).update(Requests=-1),
     ["$.paths[0].series[0].Requests: -1: expected a whole count from 0 to 9007199254740992 (2^53)"]),
    ("fractional-count", lambda d: row(d, 1).update(CanaryErrors=0.5),
     ["$.paths[0].series[1].CanaryErrors: 0.5: expected a whole count from 0 to 9007199254740992 (2^53)"]),
    ("count-1e300", lambda d: row(d, 1).update(Requests=1e300),
     ["$.paths[0].series[1].Requests: 1e+300: expected a whole count from 0 to 9007199254740992 (2^53)"]),
    ("count-above-2^53", lambda d: row(d, 1).update(Requests=2**53 + 2),
     ["$.paths[0].series[1].Requests: 9007199254740994: expected a whole count from 0 to 9007199254740992 (2^53)"]),
    ("latency-samples-1e300", lambda d: path0(d)["latency"]["control"].update(samples=1e300),
     ["$.paths[0].latency.control.samples: 1e+300: expected a whole count from 0 to 9007199254740992 (2^53)"]),
    ("unknown-count", lambda d: row(d).update(Latency=12),
     [("$.paths[0].series[0].Latency: unknown field 'Latency'; allowed here: CanaryErrors, CanaryFallbacks, "
      "CanaryReadErrors, CanaryReads, CanaryRequests, Errors, Requests, ShadowComparisons, ShadowDispatchFailures, "
      "ShadowDispatched, ShadowErrors, ShadowMismatches, ShadowTimeouts, start")]),
    ("part-above-whole", lambda d: row(d, 2).update(CanaryErrors=5),
     ["$.paths[0].series[2].CanaryErrors: 5 exceeds CanaryRequests (1) in the same period"]),
    ("period-outside-window", lambda d: row(d, 2).update(start="2026-11-29T08:03:00Z"),
     [("$.paths[0].series[2].start: 2026-11-29T08:03:00+00:00 is outside the window "
      "[2026-11-29T08:00:00+00:00, 2026-11-29T08:03:00+00:00)")]),
    ("period-misaligned", lambda d: row(d, 1).update(start="2026-11-29T08:01:30Z"),
     ["$.paths[0].series[1].start: 2026-11-29T08:01:30+00:00 does not start a 60 s period of the window"]),
    ("period-twice", lambda d: row(d, 1).update(start="2026-11-29T08:00:00Z"),
     ["$.paths[0].series[1].start: 2026-11-29T08:00:00+00:00 appears twice (first at $.paths[0].series[0].start)"]),
    ("latency-route", lambda d: path0(d)["latency"].update(shadow={"p95_ms": 1, "samples": 1}),
     ["$.paths[0].latency.shadow: unknown field 'shadow'; allowed here: canary, control"]),
    ("latency-null-with-samples", lambda d: path0(d)["latency"]["canary"].update(p95_ms=None),
     ["$.paths[0].latency.canary.p95_ms: is null but samples is 3; a window with samples has a p95"]),
    ("latency-periods-sum", lambda d: path0(d)["latency"]["canary"].update(
        periods=[{"start": "2026-11-29T08:00:00Z", "p95_ms": 40, "samples": 2}]),
     ["$.paths[0].latency.canary.samples: 3 is not the sum of the periods' samples (2)"]),
    ("duplicate-path", lambda d: d["paths"].append(json.loads(json.dumps(path0(d)))),
     ["$.paths[1].path: 'user-read' appears twice (first at $.paths[0])"]),
]


@pytest.mark.parametrize("mutate,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_metrics_get_their_exact_errors(mutate, expected):
    with pytest.raises(MetricsInvalid) as exc:
        load_metrics(edit(mutate))
    assert [f"{where}: {what}" for where, what in exc.value.errors] == expected


def test_every_error_is_reported_at_once():
    def many(d):
        row(d).update(Requests=-1)
        path0(d).update(step_percent=-5)
        d.pop("environment")

    with pytest.raises(MetricsInvalid) as exc:
        load_metrics(edit(many))
    assert len(exc.value.errors) == 3
    assert exc.value.report().splitlines()[0] == "(metrics): 3 errors in the metrics (cutover.metrics/1, see docs/analysis.md)"


def test_cloudwatch_doubles_are_whole_counts():
    doc = edit(lambda d: row(d).update(Requests=100.0))
    assert load_metrics(doc).paths[0].series[0].counts["Requests"] == 100


def test_missing_counts_are_zero():
    """A metric with no datapoint in a period counted nothing there."""
    doc = edit(lambda d: [row(d).pop(k) for k in ("ShadowTimeouts", "ShadowErrors")])
    assert load_metrics(doc).paths[0].series[0].counts["ShadowTimeouts"] == 0


@pytest.mark.parametrize("content,expected", [
    (b"{", "1:2: not valid JSON: Expecting property name enclosed in double quotes"),
    (b"[]", "$: a list: expected an object with format, release, environment, paths, source"),
    (b'{\n  "n": NaN}', ("2:8: NaN is not a JSON number; counts are whole numbers >= 0 and p95_ms a number of "
                       "milliseconds or null")),
    (b'{"s": "NaN [[[", "n": Infinity}', ("1:23: Infinity is not a JSON number; counts are whole numbers >= 0 and "
                                        "p95_ms a number of milliseconds or null")),
    (b"{}\n\xff\xfe", "2:1: not UTF-8 text (byte 3); expected a JSON document in UTF-8"),
    (b'{"a": "[[[", "b":\n ' + b"[" * 70 + b"]" * 70 + b"}",
     "$.a: unknown field 'a'; allowed here: environment, format, paths, release, source"),
    (b'{"a":\n ' + b"[" * 5000, "2:65: nested deeper than 64 levels; a cutover.metrics/1 document nests at most 6"),
])  # fmt: skip
def test_unreadable_files_say_why(tmp_path: Path, content: bytes, expected: str):
    f = tmp_path / "m.json"
    f.write_bytes(content)
    with pytest.raises(MetricsInvalid) as exc:
        load_metrics(f)
    assert [f"{where}: {what}" for where, what in exc.value.errors][:1] == [expected]
    where = exc.value.errors[0][0]
    assert (f"{f}:{where}: " if where[0].isdigit() else f"{f}: {where}: ") in exc.value.report()


def test_a_missing_file(tmp_path: Path):
    with pytest.raises(MetricsInvalid, match="cannot read the file: No such file or directory"):
        load_metrics(tmp_path / "absent.json")
