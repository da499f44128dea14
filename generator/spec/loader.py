"""Load a release spec: YAML -> typed `ReleaseSpec`, or every error at once.

The YAML is composed once into nodes to keep each key's line, then validated by
pydantic (single-field checks) and by `cutover.generator.spec.checks` (checks across sections).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from cutover.generator.spec import checks as spec_checks
from cutover.generator.spec.errors import Loc, Problem, SpecError, SpecInvalid
from cutover.generator.spec.model import PATTERN_HELP, FieldProblem, ReleaseSpec
from pydantic import ValidationError

MAX_SPEC_BYTES = 1_000_000


class LineMap:
    """YAML path -> line number (1-based) of the key or item that starts it."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}

    def line(self, loc: Loc) -> int:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 surprises that matter to a spec (yes/no are strings)."""


# Keep true/false booleans only; 'yes', 'no', 'on', 'off' stay strings (YAML 1.2 behaviour).
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _walk(
    loader: _Loader, node: yaml.Node, loc: Loc, lines: LineMap, errors: list[SpecError]
) -> Any:
    lines.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(SpecError(key_node.start_mark.line + 1, loc, "keys must be plain strings"))
                continue
            key = key_node.value
            if key == "<<":
                errors.append(SpecError(key_node.start_mark.line + 1, loc, "YAML merge keys (<<) are not supported"))
                continue
            child = (*loc, key)
            if key in out:
                errors.append(
                    SpecError(key_node.start_mark.line + 1, child, f"duplicate key '{key}' (first at line {lines.lines[child]})")
                )
                continue
            lines.lines[child] = key_node.start_mark.line + 1
            out[key] = _walk(loader, value_node, child, lines, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*loc, i), lines, errors) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: Path | str) -> tuple[Any, LineMap]:
    lines = LineMap()
    errors: list[SpecError] = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SpecInvalid(file, [SpecError(line, (), f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecInvalid(file, [SpecError(1, (), f"not valid YAML: {exc}")]) from None
    if node is None:
        loader.dispose()
        raise SpecInvalid(file, [SpecError(1, (), "the file is empty; expected a release spec mapping")])
    try:
        data = _walk(loader, node, (), lines, errors)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise SpecInvalid(file, [SpecError(1, (), f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if errors:
        raise SpecInvalid(file, errors)
    return data, lines


# Sections that were renamed: the message says what to write instead.
RENAMED: dict[Loc, str] = {
    ("brake",): "'brake' was renamed to guard: write `guard:` with the same `function:` (the level-triggered "
                "guard replaces the brake; docs/functions.md)",
}


def _allowed_fields(model_cls: type, loc: Loc) -> list[str] | None:
    """The field names allowed at the mapping that holds loc[-1], if it is a model."""
    cls: Any = model_cls
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return None
        cls = _model_in(field.annotation)
        if cls is None:
            return None
    return sorted(getattr(cls, "model_fields", {}))


def _model_in(annotation: Any) -> type | None:
    from typing import get_args

    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _field_problem(err: dict[str, Any]) -> Problem | None:
    """The Problem a section's validator raised (a FieldProblem), if that is this error."""
    error = (err.get("ctx") or {}).get("error")
    return error.problem if isinstance(error, FieldProblem) else None


def _message(err: dict[str, Any], loc: Loc) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    if len(shown) > 80:
        shown = shown[:77] + "..."
    if kind == "extra_forbidden":
        if loc in RENAMED:
            return RENAMED[loc]
        allowed = _allowed_fields(ReleaseSpec, loc)
        tail = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown field '{loc[-1]}'{tail}"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        help_ = PATTERN_HELP.get(ctx.get("pattern", ""), f"must match {ctx.get('pattern')}")
        return f"{shown} is not allowed; expected {help_}"
    if kind == "literal_error":
        return f"{shown} is not allowed; expected one of {ctx.get('expected')}"
    problem = _field_problem(err)
    if problem is not None:  # its location is already in loc
        return problem.message
    msg = err["msg"].removeprefix("Value error, ")
    return f"{shown}: {msg[0].lower()}{msg[1:]}" if value is not None and kind != "model_type" else msg


def validate(data: Any, lines: LineMap, file: Path | str) -> ReleaseSpec:
    try:
        spec = ReleaseSpec.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            problem = _field_problem(err)
            if problem is not None:
                loc += problem.loc
            errors.append(SpecError(lines.line(loc), loc, _message(err, loc)))
        raise SpecInvalid(file, errors) from None
    problems = [SpecError(lines.line(loc), loc, msg)
                for loc, msg in spec_checks.check(spec, Path(file).parent)]
    if problems:
        raise SpecInvalid(file, problems)
    return spec


def load_spec(path: Path | str) -> ReleaseSpec:
    """Read, parse and validate one spec file. Raises SpecInvalid with every error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecInvalid(path, [SpecError(0, (), f"cannot read the spec: {exc.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecInvalid(path, [SpecError(0, (), f"the spec is larger than {MAX_SPEC_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecInvalid(path, [SpecError(0, (), f"not UTF-8 text (byte {exc.start})")]) from None
    data, lines = parse_yaml(text, path)
    return validate(data, lines, path)
