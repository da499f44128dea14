"""Python values -> HCL text, laid out exactly as `terraform fmt` would.

The plan holds plain values; `Expr` marks a Terraform expression (a reference or a
function call) that is written as is. This is the one jinja filter the templates use
for values (`| hcl`), and `inline` writes the same values on one line for
`terraform init -backend-config`, so quoting and alignment are decided in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
INDENT = "  "


class Expr(str):
    """A Terraform expression, written without quotes."""


class Template(str):
    """A string whose ${...} interpolations Terraform evaluates (quoted, not escaped)."""


def string(value: str) -> str:
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    return '"' + escaped.replace("${", "$${").replace("%{", "%%{") + '"'


def key(name: str) -> str:
    return name if IDENTIFIER.match(name) else string(name)


def value(v: object, depth: int = 0) -> str:
    """One value; multi-line for non-empty maps and lists of maps."""
    if isinstance(v, Expr):
        return str(v)
    if isinstance(v, Template):
        return '"' + json.dumps(str(v), ensure_ascii=False)[1:-1] + '"'
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        inner = body(list(v.items()), depth + 1)
        return "{\n" + inner + INDENT * depth + "}"
    if isinstance(v, Sequence):
        items = list(v)
        if not items:
            return "[]"
        if any(isinstance(i, Mapping) and i for i in items):
            pad = INDENT * (depth + 1)
            lines = "".join(f"{pad}{value(i, depth + 1)},\n" for i in items)
            return "[\n" + lines + INDENT * depth + "]"
        return "[" + ", ".join(value(i, depth) for i in items) + "]"
    raise TypeError(f"no HCL form for {type(v).__name__}: {v!r}")


def inline(v: object) -> str:
    """One value on one line, for a command-line flag: maps as { k = v, ... }."""
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{key(k)} = {inline(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, Sequence) and not isinstance(v, str):
        return "[" + ", ".join(inline(i) for i in v) + "]"
    return value(v)


def body(items: Sequence[tuple[str, object]], depth: int = 1) -> str:
    """Attributes of a block or object, '=' aligned over runs of one-line attributes."""
    rendered = [(key(k), value(v, depth)) for k, v in items]
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        out.extend(f"{INDENT * depth}{k.ljust(width)} = {v}\n" for k, v in run)
        run.clear()

    for k, v in rendered:
        if "\n" in v:
            flush()
            out.append(f"{INDENT * depth}{k} = {v}\n")
        else:
            run.append((k, v))
    flush()
    return "".join(out)
