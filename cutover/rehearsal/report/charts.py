"""The charts of the report, decided in Python: what is drawn where, with which label.

Each chart is plain data (boxes, polylines, rules, labels) that the template lays out as
inline SVG; no script runs in the page. Colour is never the only cue: every line has a
dash pattern and a text label at its end, every threshold is a labelled rule, every
alarm state a pattern plus its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cutover.rehearsal.report import geometry as g
from cutover.rehearsal.report.geometry import Box, Tick, TimeScale, ValueScale

LINE_HEIGHT = 230
LANE_ROW = 14
LANE_ROWS = 4  # rows of marker labels above a chart (geometry.TOP leaves room for them)
MAJOR_EVENTS = {"appconfig_rollback": "flags rolled back", "brake": "brake", "guard": "guard",
                "operator_rollback": "cutover rollback", "rollback_decision": "rollback decided",
                "candidate_stopped": "candidate stopped", "notification_lost": "notification lost",
                "codedeploy_rolled_back": "code rolled back",
                "codedeploy_started": "code deploy", "fault_start": "fault"}
DASHES = {"solid": "", "dashed": "7 4", "dotted": "2 3", "dashdot": "10 3 2 3",
          "long": "14 5"}


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    dash: str
    points: list[str]
    label_y: float
    summary: str


@dataclass(frozen=True)
class Rule:
    y: float
    label: str
    cls: str
    dash: str


@dataclass(frozen=True)
class Area:
    cls: str
    points: list[str]


@dataclass(frozen=True)
class Region:
    x0: float
    x1: float
    cls: str
    title: str

    @property
    def width(self) -> float:
        return g.r1(max(self.x1 - self.x0, 1.0))


@dataclass(frozen=True)
class Marker:
    x: float
    label: str | None
    label_y: float
    cls: str
    title: str
    anchor: str = "start"
    href: str = ""  # the row of the Events table or the Decisions entry it stands for

    @property
    def text_x(self) -> float:
        return g.r1(self.x - 7 if self.anchor == "end" else self.x + 7)


@dataclass(frozen=True)
class Key:
    """One legend entry: a swatch of the same class/dash as the drawing, and its words."""

    kind: str  # line | rule | area | region | state
    cls: str
    label: str
    dash: str = ""


@dataclass
class Chart:
    id: str
    title: str
    caption: str
    height: int
    plot: Box
    x_ticks: list[Tick]
    y_ticks: list[Tick] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)  # minor events: a rug on the time axis
    legend: list[Key] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)
    width: int = g.WIDTH
    y_top: float = 1.0

    @property
    def desc(self) -> str:
        return " ".join([self.caption] + [line.summary for line in self.lines])


class Frame:
    """What every time chart shares: the time scale, the faults and the major events."""

    def __init__(self, report: dict[str, Any]) -> None:
        minutes = report["timeline"]["minute"]
        self.minutes = minutes
        self.first, self.last = minutes[0], minutes[-1] + 1
        self.events = report["events"]
        self.faults = _fault_windows(self.events, self.last)
        self.bucket = max(1, -(-len(minutes) // g.MAX_POINTS))

    def box(self, height: int, left: int = g.LEFT) -> Box:
        return Box(left, g.TOP, g.WIDTH - g.RIGHT, height - g.BOTTOM)

    def scale(self, box: Box) -> TimeScale:
        return TimeScale(self.first, self.last, box)

    def decorate(self, chart: Chart, scale: TimeScale) -> None:
        chart.regions += [Region(scale.x(a), scale.x(b), "fault", f"fault {clock_span(a, b)}: {d}")
                          for a, b, d in self.faults]
        chart.markers = self.event_markers(scale, chart.markers)

    def event_markers(self, scale: TimeScale, extra: list[Marker] = ()) -> list[Marker]:
        """Major events (and `extra` markers) with their labels set in up to 4 lane rows.

        Events of the same minute share one marker ("E8 flags rolled back · E9 brake").
        """
        by_minute: dict[float, list[tuple[int, dict]]] = {}
        for n, e in enumerate(self.events, 1):
            if e["kind"] in MAJOR_EVENTS:
                by_minute.setdefault(e["minute"], []).append((n, e))
        items = [Marker(scale.x(minute), " · ".join(f"E{n} {MAJOR_EVENTS[e['kind']]}"
                                                    for n, e in group), 0,
                        " ".join(sorted({f"ev-{e['kind']}" for _, e in group})),
                        "; ".join(f"E{n} at {g.clock(minute)}: {e['kind']} {e.get('detail') or ''}"
                                  for n, e in group), href=f"#event-{group[0][0]}")
                 for minute, group in by_minute.items()]
        items = sorted([*items, *extra], key=lambda m: m.x)
        rows = g.lanes([(m.x, m.label) for m in items], LANE_ROWS)
        return [replace(m, label=m.label if row is not None else None,
                        label_y=g.TOP - 6 - LANE_ROW * (row or 0),
                        anchor="end" if m.x + g.text_width(m.label) + 7 > g.WIDTH else "start")
                for m, row in zip(items, rows)]

    def series(self, values: list[Any], scale: TimeScale, y: ValueScale,
               step: bool = False) -> list[str]:
        points = [(scale.x(m), None if v is None else y.y(v))
                  for m, v in g.buckets(self.minutes, values)]
        if step and points:
            points.append((scale.x(self.last), points[-1][1]))
        return g.polylines(points, step=step)

    def note(self) -> str:
        if self.bucket == 1:
            return "One point per simulated minute."
        return f"Each point is the highest value over {self.bucket} simulated minutes."


def clock_span(a: float, b: float) -> str:
    return f"{g.clock(a)}–{g.clock(b)}"


def _fault_windows(events: list[dict], end: float) -> list[tuple[float, float, str]]:
    windows, open_at = [], None
    for event in events:
        if event["kind"] == "fault_start" and open_at is None:
            open_at = event
        elif event["kind"] == "fault_end" and open_at is not None:
            windows.append((open_at["minute"], event["minute"], open_at.get("detail") or ""))
            open_at = None
    if open_at is not None:
        windows.append((open_at["minute"], end, open_at.get("detail") or ""))
    return windows


def line_chart(frame: Frame, cid: str, title: str, caption: str,
               series: list[tuple[str, str, str, list[Any]]],
               rules: list[tuple[float, str, str, str]], unit: str,
               extra_high: float = 0.0, step: bool = False, height: int = LINE_HEIGHT,
               decorate_later: bool = False) -> Chart:
    """A time chart of `series` (key, label, dash, values) against `rules` (value, label...)."""
    box = frame.box(height)
    scale = frame.scale(box)
    present = [v for _, _, _, values in series for v in values if v is not None]
    highest = max(present + [r[0] * 1.25 for r in rules] + [extra_high, 0.0])
    y = ValueScale(highest, box)
    chart = Chart(cid, title, f"{caption} {frame.note()}", height, box, scale.ticks(),
                  y.ticks(unit), y_top=y.top)
    lines = [_line(frame, scale, y, key, label, dash, values, unit, step)
             for key, label, dash, values in series]
    ends = g.spread([ln.label_y for ln in lines], 15, box.top + 6, box.bottom)
    chart.lines = [Line(ln.key, ln.label, ln.dash, ln.points, e, ln.summary)
                   for ln, e in zip(lines, ends)]
    chart.rules = [Rule(y.y(v), label, cls, DASHES[dash]) for v, label, cls, dash in rules]
    chart.legend = [Key("line", f"s-{ln.key}", ln.label, ln.dash) for ln in chart.lines]
    chart.legend += [Key("rule", r.cls, r.label, r.dash) for r in chart.rules]
    if not decorate_later:
        frame.decorate(chart, scale)
    return chart


def _line(frame: Frame, scale: TimeScale, y: ValueScale, key: str, label: str, dash: str,
          values: list[Any], unit: str, step: bool) -> Line:
    points = frame.series(values, scale, y, step)
    last = next((v for v in reversed(values) if v is not None), None)
    present = [(v, m) for m, v in zip(frame.minutes, values) if v is not None]
    if present:
        peak, at = max(present, key=lambda p: p[0])
        summary = f"{label}: highest {g.number(peak)}{unit} at {g.clock(at)}."
    else:
        summary = f"{label}: no data."
    label_y = y.y(last) if last is not None else y.box.bottom
    return Line(key, label, DASHES[dash], points, label_y, summary)


def band_area(frame: Frame, scale: TimeScale, y: ValueScale, base: list[Any],
              low: float, high: float) -> list[str]:
    """Polygons between base*(1+low/100) and base*(1+high/100), one per run without gaps."""
    polygons, run = [], []
    for m, v in g.buckets(frame.minutes, base) + [(frame.last, None)]:
        if v is None:
            if run:
                top = [f"{x:g},{y.y(b * (1 + high / 100)):g}" for x, b in run]
                bottom = [f"{x:g},{y.y(b * (1 + low / 100)):g}" for x, b in reversed(run)]
                polygons.append(" ".join(top + bottom))
            run = []
            continue
        run.append((scale.x(m), v))
    return polygons
