"""Parse Terraform files with python-hcl2 into plain, unquoted Python data.

python-hcl2 (>= 7) keeps HCL's quotes on labels and string literals, marks
blocks with ``__is_block__`` and attaches comments as ``__comments__``. The
helpers here strip the quotes and the comments but keep the block marker, so
callers can tell a nested block (a list of dicts marked ``__is_block__``) from
an attribute whose value is an object.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2

BLOCK = "__is_block__"
_DROPPED = {"__comments__", "__inline_comments__", "__start_line__", "__end_line__"}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def normalize(node: Any) -> Any:
    if isinstance(node, dict):
        return {_unquote(k): normalize(v) for k, v in node.items() if k not in _DROPPED}
    if isinstance(node, list):
        return [normalize(v) for v in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


# (path, mtime, size) -> the parsed file: python-hcl2 takes most of a second on a root
# module, and the tests (and their parametrize lists, at collection) read the same files.
_PARSED: dict[tuple[str, int, int], dict[str, Any]] = {}


def load(path: Path) -> dict[str, Any]:
    """The parsed file (a copy: the callers may change it)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        with path.open(encoding="utf-8") as handle:
            _PARSED[key] = normalize(hcl2.load(handle))
    return copy.deepcopy(_PARSED[key])


def is_block_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get(BLOCK) for v in value)
    )


def blocks(doc: dict[str, Any], kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (type, name, body) of every `resource` or `data` block of a parsed file."""
    for entry in doc.get(kind, []):
        for type_, named in entry.items():
            for name, body in named.items():
                yield type_, name, body


def module_calls(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in doc.get("module", []):
        yield from entry.items()


def tf_files(*roots: Path) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files.extend(p for p in sorted(root.rglob("*.tf")) if ".terraform" not in p.parts)
    return files
