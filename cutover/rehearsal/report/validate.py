"""Check a report.json against its format before anything is drawn from it.

Two layers: the JSON Schema (report.schema.json, shipped beside this file) for the shape
and types, then the checks a schema cannot say (every timeline series as long as
`timeline.minute`, minutes increasing, bands that end after they start). Every problem
is located by its JSON path (`$.timeline.canary_error_rate[12]`), all of them at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

FORMAT = "cutover.rehearsal-report/1"
SERIES = ("canary_percent", "requests", "canary_requests", "canary_error_rate",
          "control_error_rate", "served_error_rate", "shadow_diff_rate")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ReportFormatError(ValueError):
    """A report.json that does not follow cutover.rehearsal-report/1."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source} is not a valid {FORMAT} report:\n{lines}")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("report.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(report: Any, source: str = "report.json") -> None:
    """Raise ReportFormatError listing every located problem; return None if valid."""
    validator = Draft202012Validator(schema())
    problems = [_problem(e) for e in validator.iter_errors(report)]
    if not problems:
        problems = _consistency(report)
    if problems:
        problems.sort(key=lambda p: p.path)
        raise ReportFormatError(source, problems)


def json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string",
             list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _problem(error: ValidationError) -> Problem:
    path = json_path(error.absolute_path)
    kind, expected = error.validator, error.validator_value
    if kind == "type":
        allowed = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"is {_json_type(error.instance)} {_short(error.instance)}, expected {allowed}"
    elif kind in ("enum", "const"):
        options = expected if kind == "enum" else [expected]
        message = f"is {_short(error.instance)}, allowed: {', '.join(map(_short, options))}"
    elif kind == "additionalProperties":
        message = error.message.replace("Additional properties are not allowed",
                                        "unknown key(s) not allowed here")
    else:
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return Problem(path, message)


def _consistency(report: dict[str, Any]) -> list[Problem]:
    timeline = report["timeline"]
    minutes = timeline["minute"]
    problems: list[Problem] = []
    series = {f"timeline.{k}": timeline[k] for k in SERIES}
    series.update({f"timeline.p95_ms.{k}": v for k, v in timeline["p95_ms"].items()})
    for name, values in series.items():
        if len(values) != len(minutes):
            problems.append(Problem(f"$.{name}", f"has {len(values)} values, "
                                    f"$.timeline.minute has {len(minutes)}"))
    for i in range(1, len(minutes)):
        if minutes[i] <= minutes[i - 1]:
            problems.append(Problem(f"$.timeline.minute[{i}]", f"{minutes[i]} does not come "
                                    f"after {minutes[i - 1]}: minutes must increase"))
            break
    for a, alarm in enumerate(report["alarms"]):
        for b, band in enumerate(alarm["bands"]):
            if band["to_minute"] < band["from_minute"]:
                problems.append(Problem(f"$.alarms[{a}].bands[{b}].to_minute",
                                        f"{band['to_minute']} is before from_minute "
                                        f"{band['from_minute']}"))
    for s, step in enumerate(report["steps"]):
        if step["ended_minute"] is not None and step["ended_minute"] < step["started_minute"]:
            problems.append(Problem(f"$.steps[{s}].ended_minute",
                                    f"{step['ended_minute']} is before started_minute "
                                    f"{step['started_minute']}"))
    return problems
