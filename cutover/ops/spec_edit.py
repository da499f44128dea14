"""Change one value of a release spec in place, keeping every other byte as it was.

ruamel.yaml (round-trip mode) parses the spec and says where each value sits (line and
column); only that scalar token is replaced in the original text, so comments, quoting,
flow maps and folded strings elsewhere are untouched by construction. The result is
validated like any spec before it replaces the file (atomically).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from cutover.ops.aws import OpsError

TOKEN = re.compile(r"""("[^"]*"|'[^']*'|[^\s,}\]#]+)""")


@dataclass(frozen=True)
class Change:
    yaml_path: str
    line: int  # 1-based
    old: str
    new: str

    def describe(self, spec_file: str) -> str:
        return f"{spec_file}:{self.line}: {self.yaml_path}: {self.old} -> {self.new}"


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _load(text: str, where: str):
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise OpsError(f"{where}: not valid YAML: {exc}") from None


def _replace(lines: list[str], line: int, col: int, new: str) -> str:
    match = TOKEN.match(lines[line], col)
    if match is None:
        raise OpsError(f"line {line + 1}: no scalar at column {col + 1}")
    old = match.group(0)
    lines[line] = lines[line][:col] + new + lines[line][match.end():]
    return old


def _set_or_insert(lines: list[str], mapping, key: str, new: str, label: str, changes: list[Change]) -> None:
    if key in mapping:
        line, col = mapping.lc.value(key)
        old = _replace(lines, line, col, new)
        if old != new:
            changes.append(Change(label, line + 1, old, new))
        return
    if not mapping:
        raise OpsError(f"{label}: its mapping is empty; write `{key}: {new}` by hand")
    first = next(iter(mapping))
    line, col = mapping.lc.key(first)
    if lines[line][:col].strip() not in ("", "-"):
        raise OpsError(f"{label}: a flow mapping without `{key}`; write `{key}: {new}` by hand")
    newline = "\r\n" if lines[line].endswith("\r\n") else "\n"
    lines.insert(line, " " * col + f"{key}: {new}{newline}")
    changes.append(Change(label, line + 1, "(unset)", new))


def set_canary_percent(text: str, where: str, path_index: int, percent: float) -> tuple[str, list[Change]]:
    """Set read_paths[i].canary.percent and the phase it implies (shadow at 0, canary above)."""
    data = _load(text, where)
    lines = text.splitlines(keepends=True)
    changes: list[Change] = []
    try:
        path = data["read_paths"][path_index]
        canary = path["canary"]
    except (KeyError, IndexError, TypeError):
        raise OpsError(f"{where}: read_paths[{path_index}].canary is missing; add a canary section") from None
    others = [float(p.get("canary", {}).get("percent", 0)) for j, p in enumerate(data["read_paths"]) if j != path_index]
    phase = "canary" if percent > 0 or any(others) else "shadow"
    if data.get("phase") == "complete":
        raise OpsError(f"{where}: the release is complete; there is nothing to ramp")
    edits = [(f"read_paths[{path_index}].canary.percent", canary, "percent", number(percent)),
             ("phase", data, "phase", phase)]

    def position(edit) -> int:
        mapping, key = edit[1], edit[2]
        return mapping.lc.value(key)[0] if key in mapping else mapping.lc.key(next(iter(mapping)))[0]

    # Bottom-up, so that an inserted line never moves one still to be edited.
    for label, mapping, key, value in sorted(edits, key=position, reverse=True):
        _set_or_insert(lines, mapping, key, value, label, changes)
    return "".join(lines), sorted(changes, key=lambda c: c.line)


def diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))


def write_validated(path: Path, text: str, env: str) -> None:
    """Validate the new spec as `make render` would, then replace the file atomically."""
    from cutover.generator.spec.loader import load_spec

    tmp = path.with_name(f".{path.name}.cutover-ramp")
    tmp.write_text(text, encoding="utf-8", newline="")
    try:
        spec = load_spec(tmp)
        if spec.release.environment != env:
            raise OpsError(f"{path}: release.environment is {spec.release.environment}, expected {env}")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def percent_lines(spec_path: Path, spec_file: str, percents: dict[int, float]) -> str:
    """The spec change that sets several paths' percents at once (the phase follows
    them all), described against the file as it is now."""
    text = spec_path.read_text(encoding="utf-8")
    first: dict[str, Change] = {}
    last: dict[str, Change] = {}
    for index, percent in sorted(percents.items()):
        text, changes = set_canary_percent(text, spec_file, index, percent)
        for c in changes:
            first.setdefault(c.yaml_path, c)
            last[c.yaml_path] = c
    merged = [Change(k, last[k].line, first[k].old, last[k].new) for k in first if first[k].old != last[k].new]
    return "; ".join(c.describe(spec_file) for c in sorted(merged, key=lambda c: -c.line))
