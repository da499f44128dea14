"""The report's charts, one function each, from a validated report.json."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, replace
from typing import Any

from cutover.rehearsal.report import geometry as g
from cutover.rehearsal.report.charts import (
    MAJOR_EVENTS,
    Area,
    Chart,
    Frame,
    Key,
    Marker,
    band_area,
    line_chart,
)
from cutover.rehearsal.report.geometry import Box, Tick, ValueScale

VERDICT_MARK = {"PROMOTE": "✓", "HOLD": "‖", "ROLLBACK": "✗"}
ROLE_TITLES = (("rollback", "Rollback composite"), ("member", "Its members (error rates)"),
               ("notify", "Notify only (never roll back)"))
STATE_TEXT = {"OK": "OK", "ALARM": "ALARM", "INSUFFICIENT_DATA": "no data"}
ROW, GAP, HEADING = 22, 4, 22
LABEL_WIDTH = 236
BAND_SMOOTHING = 15  # minutes: the regression band follows the control's rolling median
CEILING_ROOM = 3  # draw the p95 ceiling only if it is within 3x the highest p95 shown


@dataclass(frozen=True)
class Segment:
    """A stretch of one alarm state. Its name is written inside it when it fits; an ALARM
    too short for its name gets the name just after it, so that no ALARM goes unlabelled."""

    x: float
    width: float
    state: str
    text: str | None
    title: str
    anchor: str = "middle"

    @property
    def text_x(self) -> float:
        return g.r1(self.x + self.width / 2 if self.anchor == "middle" else self.x + self.width + 3)


@dataclass(frozen=True)
class Row:
    y: float
    label: str
    title: str
    segments: list[Segment]


@dataclass(frozen=True)
class Heading:
    y: float
    text: str


def charts(report: dict[str, Any]) -> list[Chart]:
    frame = Frame(report)
    return [canary(report, frame), errors(report, frame), latency(report, frame),
            shadow(report, frame), alarms(report, frame), traffic(report, frame)]


def canary(report: dict[str, Any], frame: Frame) -> Chart:
    chart = line_chart(
        frame, "canary", "Canary percent",
        "Share of users the flags in force send to the candidate. Diamonds mark the "
        "go/no-go decisions (D1, D2… in the Decisions table).",
        [("canary", "canary %", "solid", report["timeline"]["canary_percent"])], [], " %",
        extra_high=100, step=True, height=200, decorate_later=True)
    scale = frame.scale(chart.plot)
    chart.markers = [
        Marker(scale.x(d["minute"]), f"D{n} {VERDICT_MARK[d['verdict']]} {d['verdict']}", 0,
               f"decision v-{d['verdict'].lower()}",
               f"D{n} at {g.clock(d['minute'])}: {d['verdict']} ({d['action']})",
               href=f"#decision-{n}")
        for n, d in enumerate(report["decisions"], 1)]
    frame.decorate(chart, scale)
    chart.ticks = [Tick(scale.x(e["minute"]), f"E{n} at {g.clock(e['minute'])}: {e['kind']} "
                        f"{e.get('detail') or ''}")
                   for n, e in enumerate(report["events"], 1)
                   if e["kind"] not in MAJOR_EVENTS and e["kind"] != "fault_end"]
    if chart.ticks:
        chart.legend.append(Key("tick", "tick", "flag deployment, bake or code deployment done "
                                                "(ticks on the axis)"))
    chart.legend.append(Key("decision", "decision", "decision (✓ promote, ‖ hold, ✗ roll back)"))
    _legend_events(chart)
    return chart


def traffic(report: dict[str, Any], frame: Frame) -> Chart:
    timeline = report["timeline"]
    chart = line_chart(
        frame, "traffic", "Requests per simulated minute",
        "All requests, and those served by the candidate (the canary).",
        [("requests", "all requests", "dashed", timeline["requests"]),
         ("canary", "canary", "solid", timeline["canary_requests"])], [], "", height=190)
    _legend_events(chart)
    return chart


def errors(report: dict[str, Any], frame: Frame) -> Chart:
    timeline, limit = report["timeline"], report["thresholds"]["error_rate_pct"]
    chart = line_chart(
        frame, "errors", "Error rates",
        "Percent of requests that failed: on the canary (the candidate's answers), on the "
        "control, and as served to users (after any fallback). Above the threshold the "
        "seed's table says roll back.",
        [("canary", "canary", "solid", timeline["canary_error_rate"]),
         ("control", "control", "dashed", timeline["control_error_rate"]),
         ("served", "served", "dotted", timeline["served_error_rate"])],
        [(limit, f"threshold {g.number(limit)} %", "threshold", "dashdot")], " %")
    _legend_events(chart)
    return chart


def latency(report: dict[str, Any], frame: Frame) -> Chart:
    p95, t = report["timeline"]["p95_ms"], report["thresholds"]
    go, no_go = t["p95_regression_go_pct"], t["p95_regression_no_go_pct"]
    routes = [("control", "control p95", "dashed"), ("canary", "canary p95", "solid")]
    routes += [(k, f"{k} p95", "dotted") for k in sorted(p95) if k not in ("control", "canary")]
    control = p95["control"]
    band_top = max([v * (1 + no_go / 100) for v in control if v is not None] + [0.0])
    highest = max([v for k in p95 for v in p95[k] if v is not None] + [band_top])
    ceiling = t.get("p95_ceiling_ms")
    drawn = ceiling is not None and ceiling <= CEILING_ROOM * highest
    rules = [(ceiling, f"ceiling {g.number(ceiling)} ms", "ceiling", "long")] if drawn else []
    far = (f" The p95 ceiling ({g.number(ceiling)} ms) is more than {CEILING_ROOM} times every "
           f"value here, so it is not drawn: no p95 came near it.") if ceiling and not drawn else ""
    chart = line_chart(
        frame, "latency", "p95 latency per route",
        f"95th percentile of the latency callers saw, per route. The shaded band runs from "
        f"the control's p95 +{g.number(go)} % (go) to +{g.number(no_go)} % (no-go), the "
        f"control taken as its median over {BAND_SMOOTHING} minutes: a canary above the band "
        f"is a regression to investigate (hold).{far}",
        [(key, label, dash, p95[key]) for key, label, dash in routes], rules, " ms",
        extra_high=band_top)
    scale, y = frame.scale(chart.plot), ValueScale(chart.y_top, chart.plot)
    chart.areas = [Area("band", band_area(frame, scale, y, rolling_median(control, BAND_SMOOTHING),
                                          go, no_go))]
    chart.legend.append(Key("area", "band", f"regression band: control +{g.number(go)} % "
                                            f"… +{g.number(no_go)} %"))
    _legend_events(chart)
    return chart


def shadow(report: dict[str, Any], frame: Frame) -> Chart:
    t = report["thresholds"]
    go, no_go = t["shadow_diff_go_pct"], t["shadow_diff_no_go_pct"]
    chart = line_chart(
        frame, "shadow", "Shadow diff rate",
        "Percent of shadow comparisons whose answers differed. Under the go line the "
        "divergence does not block; above no-go the seed's table says investigate (hold).",
        [("shadow", "shadow diffs", "solid", report["timeline"]["shadow_diff_rate"])],
        [(go, f"go {g.number(go)} %", "go", "long"),
         (no_go, f"no-go {g.number(no_go)} %", "threshold", "dashdot")], " %")
    _legend_events(chart)
    return chart


def _legend_events(chart: Chart) -> None:
    if any(r.cls == "fault" for r in chart.regions):
        chart.legend.append(Key("region", "fault", "fault injected (hatched)"))
    if any("ev-" in m.cls for m in chart.markers):
        chart.legend.append(Key("event", "event", "event (E numbers: Events table)"))


def alarms(report: dict[str, Any], frame: Frame) -> Chart:
    alarms_ = report["alarms"]
    prefix = _common_prefix([a["name"] for a in alarms_])
    y, rows, headings = g.TOP, [], []
    box_left = LABEL_WIDTH
    scale = frame.scale(Box(box_left, g.TOP, g.WIDTH - g.RIGHT, g.TOP + 1))
    for role, title in ROLE_TITLES:
        members = [a for a in alarms_ if a["role"] == role]
        if not members:
            continue
        headings.append(Heading(y + 15, title))
        y += HEADING
        for alarm in members:
            rows.append(_row(alarm, prefix, y, scale))
            y += ROW + GAP
    height = int(y + g.BOTTOM)
    plot = Box(box_left, g.TOP, g.WIDTH - g.RIGHT, y)
    scale = frame.scale(plot)
    named = f" Names shortened: each starts with “{prefix}”." if prefix else ""
    chart = Chart("alarms", "Alarm states",
                  "State of every alarm the release deploys, minute by minute: the rollback "
                  f"composite, its member alarms, and the notify-only alarms.{named}",
                  height, plot, scale.ticks(), rows=rows, groups=headings)
    frame.decorate(chart, scale)
    chart.legend = [Key("state", f"st-{s.lower()}", f"{STATE_TEXT[s]} ({s})")
                    for s in ("OK", "ALARM", "INSUFFICIENT_DATA")]
    _legend_events(chart)
    return chart


def _row(alarm: dict[str, Any], prefix: str, y: float, scale: Any) -> Row:
    segments = []
    for band in alarm["bands"]:
        x0, x1 = scale.x(band["from_minute"]), scale.x(band["to_minute"])
        width = g.r1(max(x1 - x0, 1.0))
        text = STATE_TEXT[band["state"]]
        fits = width >= bold_width(text) + 8
        outside = not fits and band["state"] == "ALARM"
        segments.append(Segment(x0, width, band["state"], text if fits or outside else None,
                                f"{alarm['name']}: {band['state']} "
                                f"{g.clock(band['from_minute'])}–{g.clock(band['to_minute'])}",
                                "start" if outside else "middle"))
    segments = _unclashed(segments)
    short = alarm["name"][len(prefix):] or alarm["name"]
    limit = int((LABEL_WIDTH - 12) / g.CHAR_WIDTH)
    label = short if len(short) <= limit else short[: limit - 1] + "…"
    return Row(y, label, alarm["name"], segments)


def rolling_median(values: list[Any], window: int) -> list[float | None]:
    """Centred median over `window` points, ignoring gaps; None where all are gaps."""
    half, out = window // 2, []
    for i in range(len(values)):
        near = sorted(v for v in values[max(0, i - half):i + half + 1] if v is not None)
        out.append(statistics.median(near) if near and values[i] is not None else None)
    return out


def bold_width(text: str) -> float:
    """State names are drawn bold: a quarter wider than the average text."""
    return 1.25 * g.text_width(text)


def _unclashed(segments: list[Segment]) -> list[Segment]:
    """Drop the centred names that an ALARM name written beside its segment would cover."""
    kept = list(segments)
    for i, seg in enumerate(segments):
        if seg.anchor != "start":
            continue
        end = seg.text_x + bold_width(seg.text or "") + 6
        for j in range(i + 1, len(kept)):
            if kept[j].x > end:
                break
            if kept[j].text and kept[j].text_x - bold_width(kept[j].text) / 2 < end:
                kept[j] = replace(kept[j], text=None)
    return kept


def _common_prefix(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    prefix = os.path.commonprefix(names)
    return prefix[: prefix.rfind("-") + 1] if "-" in prefix else ""

