"""The rehearsal report: report.json is checked against its format, then drawn as one
self-contained, deterministic, escaped HTML page that says what a person needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cutover.rehearsal.report import ReportFormatError, render_html, validate
from cutover.rehearsal.report import geometry as g
from cutover.rehearsal.report.panels import charts
from cutover.rehearsal.report.render import html
from tests.rehearsal.report_fixtures import HOSTILE, build, hostile, json_copy, stretched

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("healthy", "rollback", "latency")
INLINE = {"strong", "em", "code", "span", "a", "b", "i"}
LINKING_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "srcset",
                      "data", "background", "ping", "manifest"}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    return {name: build(name) for name in SCENARIOS}


class Page(HTMLParser):
    """Every element and attribute of a page, and its text, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in INLINE:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.text.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


# --- the format ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_the_fixture_reports_follow_the_format(reports, name):
    validate(reports[name])
    assert reports[name]["format"] == "cutover.rehearsal-report/1"


def _set(path: str, value: Any):
    def change(report: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = report
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()

BROKEN = [
    (_set("format", "cutover.rehearsal-report/2"), "$.format", "allowed: \"cutover.rehearsal-report/1\""),
    (_set("timeline/p95_ms/canary", _DELETE), "$.timeline.p95_ms", "'canary' is a required property"),
    (_set("decisions/1/checks/0/figure", "high"), "$.decisions[1].checks[0].figure",
     'is string "high", expected number or null'),
    (_set("events/0/kind", "flag_rollout"), "$.events[0].kind", "allowed: \"flag_deployment_started\""),
    (_set("timeline/canary_error_rate/70", 140.0), "$.timeline.canary_error_rate[70]",
     "140.0 is greater than the maximum of 100"),
    (_set("divergent_fields/0/value", "alice@example.com"), "$.divergent_fields[0]",
     "unknown key(s) not allowed here ('value' was unexpected)"),
    (_set("outcome/result", "aborted"), "$.outcome.result", "allowed: \"promoted\", \"rolled_back\", \"held\""),
    (_set("totals/users", -1), "$.totals.users", "-1 is less than the minimum of 0"),
]


@pytest.mark.parametrize(("change", "where", "says"), BROKEN)
def test_a_report_off_the_format_is_refused_with_the_place_and_the_rule(reports, change, where, says):
    report = json_copy(reports["rollback"])
    change(report)
    with pytest.raises(ReportFormatError) as caught:
        validate(report, "out/report.json")
    problems = {p.path: p.message for p in caught.value.problems}
    assert where in problems, problems
    assert says in problems[where]
    assert str(caught.value).startswith("out/report.json is not a valid cutover.rehearsal-report/1")


def test_what_a_schema_cannot_say_is_checked_too(reports):
    report = json_copy(reports["healthy"])
    report["timeline"]["served_error_rate"].pop()
    report["timeline"]["minute"][5] = 3
    report["alarms"][0]["bands"][1]["to_minute"] = 1
    report["steps"][2]["ended_minute"] = 10
    with pytest.raises(ReportFormatError) as caught:
        validate(report)
    found = [str(p) for p in caught.value.problems]
    n = len(report["timeline"]["minute"])
    assert found == [
        "$.alarms[0].bands[1].to_minute: 1 is before from_minute 5",
        f"$.steps[2].ended_minute: 10 is before started_minute {report['steps'][2]['started_minute']}",
        "$.timeline.minute[5]: 3 does not come after 4: minutes must increase",
        f"$.timeline.served_error_rate: has {n - 1} values, $.timeline.minute has {n}",
    ]


def test_every_problem_is_listed_at_once(reports):
    report = json_copy(reports["latency"])
    for change, _, _ in BROKEN[2:6]:
        change(report)
    with pytest.raises(ReportFormatError) as caught:
        validate(report)
    assert len(caught.value.problems) == 4


def test_the_renderer_checks_first_and_writes_nothing_when_the_report_is_bad(reports, tmp_path):
    report = json_copy(reports["healthy"])
    report["steps"][0]["requests"] = "many"
    with pytest.raises(ReportFormatError, match=r"\$\.steps\[0\]\.requests"):
        render_html(report, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover.rehearsal.report", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_the_command_redraws_a_report_and_exits_2_on_bad_input(reports, tmp_path):
    good = tmp_path / "good" / "report.json"
    good.parent.mkdir()
    good.write_text(json.dumps(reports["healthy"]))
    done = _cli(str(good))
    assert done.returncode == 0, done.stderr
    assert (good.parent / "report.html").is_file()

    bad = tmp_path / "bad" / "report.json"
    bad.parent.mkdir()
    broken = json_copy(reports["healthy"])
    broken["events"][2]["minute"] = "soon"
    bad.write_text(json.dumps(broken))
    refused = _cli(str(bad), "--out", str(tmp_path / "drawn"))
    assert refused.returncode == 2
    assert f"{bad} is not a valid cutover.rehearsal-report/1 report" in refused.stderr
    assert '$.events[2].minute: is string "soon", expected number' in refused.stderr
    assert not (tmp_path / "drawn").exists()

    garbled = tmp_path / "garbled.json"
    garbled.write_text('{"format": "cutover.rehearsal-report/1",\n  "release": }')
    not_json = _cli(str(garbled))
    assert not_json.returncode == 2
    assert f"{garbled}: line 2, column 14: not JSON" in not_json.stderr

    missing = _cli(str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


# --- self-contained, deterministic, escaped ------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_the_page_loads_nothing_and_runs_nothing(reports, name):
    text = html(reports[name])
    page = Page(text)
    assert "http://" not in text and "https://" not in text
    assert not page.named("script") and not page.named("link") and not page.named("img")
    assert not page.named("iframe") and not page.named("object") and not page.named("embed")
    for tag, attrs in page.tags:
        for attr, value in attrs.items():
            assert not attr.startswith("on"), (tag, attr)
            if attr in LINKING_ATTRIBUTES:
                assert (value or "").startswith(("#", "data:")), (tag, attr, value)
    assert "@import" not in text and "@font-face" not in text
    ids = {attrs["id"] for _, attrs in page.tags if attrs.get("id")}
    links = {attrs["href"][1:] for attrs in page.named("a")}
    assert links and links <= ids  # markers link to their decision or event
    assert text.count("url(") == text.count("url(#pat-")
    policy = [a for a in page.named("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy and policy[0]["content"].startswith("default-src 'none';")


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_same_report_draws_the_same_bytes(reports, name, tmp_path):
    first = render_html(reports[name], tmp_path / "a").read_bytes()
    again = render_html(json.loads(json.dumps(reports[name])), tmp_path / "b").read_bytes()
    assert first == again


def test_the_page_does_not_depend_on_the_interpreters_hash_seed(reports, tmp_path):
    source = tmp_path / "report.json"
    source.write_text(json.dumps(reports["latency"]))
    drawn = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "cutover.rehearsal.report", str(source), "--out", str(out)],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        drawn.append((out / "report.html").read_bytes())
    assert drawn[0] == drawn[1]


def test_hostile_strings_are_shown_as_text_never_as_markup():
    text = html(hostile())
    page = Page(text)
    assert not page.named("script") and not page.named("img") and not page.named("iframe")
    assert not page.named("link") and len(page.named("style")) == 1
    assert all((a.get("href") or "").startswith("#") for a in page.named("a"))
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    assert HOSTILE in page.words  # shown, literally, as the field path it is
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<script>alert(3)</script>" in page.words
    assert '"><svg onload=alert(2)>' in page.words
    assert page.named("title")  # the hostile release name did not close <title>
    assert "rel</title><script>alert(4)</script>" in page.words


# --- what the page says --------------------------------------------------------------------

def test_the_page_says_whether_the_expectation_held(reports):
    words = Page(html(reports["rollback"])).words
    assert "✓ Expectation held" in words
    assert "Expected: rolled back at the 5 % step. Happened: rolled back at the 5 % step." in words
    assert "rollback after the fault within 15 min 6 min ✓ yes" in words

    missed = json_copy(reports["healthy"])
    missed["outcome"]["expectation_met"] = False
    missed["scenario"]["expect"].update(outcome="rolled_back", step=25)
    words = Page(html(missed)).words
    assert "✗ Expectation NOT held" in words
    assert "Expected: rolled back at the 25 % step. Happened: promoted to the 100 % step." in words


def test_the_page_works_out_the_ramp_and_the_users_served_at_each_step(reports):
    report = reports["healthy"]
    words = Page(html(report)).words
    assert "Ramp duration 11 h shadow to 100 %" in words
    assert "Ramp with this spec 11 h if every step is promoted at its first decision" in words
    users = report["totals"]["users"]
    for step in report["steps"]:
        served = step["users_served_by_candidate"]
        assert f"{served:,} ({g.number(round(100 * served / users, 1))} %)" in words
    assert "did not finish" in Page(html(reports["rollback"])).words


def test_every_decision_shows_its_verdict_and_every_check_behind_it(reports):
    report = reports["latency"]
    page = Page(html(report))
    rows = [a for a in page.named("tr")]
    assert len(page.named("article")) == len(report["decisions"])
    checks = sum(len(d["checks"]) for d in report["decisions"])
    assert sum(1 for _, attrs in page.tags if attrs.get("class") == "checks") == len(report["decisions"])
    assert len(rows) >= checks
    words = page.words
    for n, decision in enumerate(report["decisions"], 1):
        step = "shadow only" if decision["step"] == 0 else f"step {decision['step']} %"
        assert f"D{n} · {g.clock(decision['minute'])} · {step} ·" in words
        for check in decision["checks"]:
            assert check["reason"] in words
    assert "p95_regression ‖ HOLD 46.5 30" in words


def test_the_divergent_fields_are_ranked_by_count_and_carry_no_values(reports):
    report = json_copy(reports["latency"])
    report["divergent_fields"] += [{"path": f"$.extra[{i}]", "count": 1} for i in range(30)]
    page = Page(html(report))
    table = page.words.split("Fields that diverged most")[1].split("Events")[0]
    ranked = sorted(report["divergent_fields"], key=lambda f: (-f["count"], f["path"]))
    positions = [table.index(f["path"] + " ") for f in ranked[:20]]
    assert positions == sorted(positions)
    assert ranked[20]["path"] not in table
    assert f"… and {len(ranked) - 20} more paths with {len(ranked) - 20} differences." in table


def test_a_report_with_only_the_required_keys_and_no_traffic_still_draws():
    """The first minute of a run that stopped at once: no decision, event, alarm, step."""
    report = {
        "format": "cutover.rehearsal-report/1", "release": "r", "env": "e", "spec_file": "s",
        "seed": 1, "scenario": {"name": "stopped", "expect": {"outcome": "held"}},
        "outcome": {"result": "held", "step": None, "expectation_met": False, "reasons": []},
        "thresholds": {"error_rate_pct": 2, "p95_regression_go_pct": 15,
                       "p95_regression_no_go_pct": 30, "shadow_diff_go_pct": 0.5,
                       "shadow_diff_no_go_pct": 1},
        "timeline": {"minute": [0], "canary_percent": [0], "requests": [0],
                     "canary_requests": [0], "canary_error_rate": [None],
                     "control_error_rate": [None], "served_error_rate": [None],
                     "p95_ms": {"control": [None], "canary": [None]}, "shadow_diff_rate": [None]},
        "alarms": [], "decisions": [], "events": [], "steps": [], "divergent_fields": [],
        "totals": {"requests": 0, "simulated_minutes": 1, "ramp_duration_minutes": None,
                   "users": 0, "users_served_by_candidate": 0, "user_visible_errors": 0},
    }
    words = Page(html(report)).words
    assert "✗ Expectation NOT held Expected: held. Happened: held." in words
    assert "No decision was taken." in words and "No field diverged." in words
    assert "No event." in words and "canary: no data." in words


# --- the charts: decided in Python, readable without colour --------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_every_chart_tells_its_lines_apart_without_colour(reports, name):
    for chart in charts(reports[name]):
        dashes = [line.dash for line in chart.lines]
        assert len(set(dashes)) == len(dashes), chart.id
        assert {k.label for k in chart.legend} >= {line.label for line in chart.lines}
        assert all(line.label for line in chart.lines)
        for row in chart.rows:
            for segment in row.segments:
                if segment.state == "ALARM":
                    assert segment.text == "ALARM", (row.title, segment)


def test_the_charts_show_thresholds_faults_and_rollbacks(reports):
    drawn = {c.id: c for c in charts(reports["rollback"])}
    assert [r.label for r in drawn["errors"].rules] == ["threshold 2 %"]
    assert [r.label for r in drawn["shadow"].rules] == ["go 0.5 %", "no-go 1 %"]
    assert drawn["latency"].areas[0].points, "the regression band is drawn"
    assert [r.cls for r in drawn["errors"].regions] == ["fault"]
    labels = [m.label for m in drawn["errors"].markers if m.label]
    assert "E8 rollback decided · E9 guard · E10 candidate stopped" in labels
    assert [m.label for m in drawn["canary"].markers if m.cls.startswith("decision")] == \
        ["D1 ✓ PROMOTE", "D2 ✓ PROMOTE", "D3 ✗ ROLLBACK"]
    composite = drawn["alarms"].rows[0]
    assert composite.label == "rollback"
    assert [s.state for s in composite.segments] == ["INSUFFICIENT_DATA", "OK", "ALARM", "OK"]


def test_a_ceiling_far_above_every_p95_is_said_not_drawn(reports):
    report = json_copy(reports["healthy"])
    drawn = {c.id: c for c in charts(report)}["latency"]
    assert drawn.rules == [] and "ceiling (500 ms) is more than 3 times" in drawn.caption
    report["thresholds"]["p95_ceiling_ms"] = 150
    drawn = {c.id: c for c in charts(report)}["latency"]
    assert [r.label for r in drawn.rules] == ["ceiling 150 ms"]


def test_a_long_run_is_drawn_as_bucket_maxima_so_that_no_spike_is_lost(reports):
    long = stretched(reports["rollback"], 20)
    validate(long)
    drawn = {c.id: c for c in charts(long)}
    errors = drawn["errors"]
    assert "highest value over 5 simulated minutes" in errors.caption
    canary = next(line for line in errors.lines if line.key == "canary")
    assert sum(len(p.split()) for p in canary.points) <= g.MAX_POINTS
    peak = max(v for v in long["timeline"]["canary_error_rate"] if v is not None)
    assert f"highest {g.number(peak)} %" in canary.summary


# --- the arithmetic ------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.3, 0.4), (2, 2), (2.1, 2.5), (66.7, 100),
                                            (625, 1000), (4.2, 5), (101, 200)])
def test_value_scales_end_on_a_round_number(value, top):
    assert g.nice_ceiling(value) == pytest.approx(top)


@pytest.mark.parametrize(("minutes", "clock", "duration"), [
    (0, "0:00", "0 min"), (45, "0:45", "45 min"), (250, "4:10", "4 h 10 min"),
    (660, "11:00", "11 h"), (1800, "1d 06:00", "1 d 6 h"), (2885, "2d 00:05", "2 d 5 min")])
def test_simulated_time_reads_as_a_person_would_say_it(minutes, clock, duration):
    assert g.clock(minutes) == clock
    assert g.duration(minutes) == duration


def test_gaps_break_lines_and_flat_stretches_cost_nothing():
    points = [(0, 5.0), (1, 5.0), (2, 5.0), (3, None), (4, 1.0), (5, 2.0)]
    assert g.polylines(points) == ["0,5 2,5", "4,1 5,2"]
    assert g.polylines([(0, 1.0), (1, 1.0), (2, 3.0)], step=True) == ["0,1 2,1 2,3"]


def test_buckets_keep_the_highest_value_and_gaps():
    minutes = list(range(2 * g.MAX_POINTS + 2))
    values = [None if m < 3 else (9.0 if m == 7 else 1.0) for m in minutes]
    points = g.buckets(minutes, values)
    assert len(points) == -(-len(minutes) // 3) <= g.MAX_POINTS  # buckets of 3 minutes
    assert points[0] == (0, None) and points[1] == (3, 1.0) and points[2] == (6, 9.0)


def test_labels_are_pushed_apart_and_rows_found_for_crowded_markers():
    assert g.spread([100, 101, 50], 15, 0, 200) == [100, 115, 50]
    assert g.spread([195, 196], 15, 0, 200) == [185, 200]
    crowded = [(0, "E1 fault"), (10, "E2 brake"), (20, "E3 brake"), (30, "E4 x"), (400, "E5")]
    assert g.lanes(crowded, 3) == [2, 1, 0, None, 0]  # a staircase down, then room again


def test_a_release_of_several_paths_has_a_table_of_them(reports):
    report = json_copy(reports["healthy"])
    assert "Read paths" not in Page(html(report)).words  # one path: nothing to compare
    report["paths"] = [
        {"name": "user-read", "requests": 700, "canary_requests": 350, "user_visible_errors": 0,
         "users_served_by_candidate": 120},
        {"name": "feed-read", "requests": 300, "canary_requests": 150, "user_visible_errors": 2,
         "users_served_by_candidate": 60}]
    words = Page(html(report)).words
    assert "Read paths" in words
    assert "user-read 700 70 % 350 120 0" in words and "feed-read 300 30 % 150 60 2" in words
