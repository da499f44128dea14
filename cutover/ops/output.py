"""What a command found, shown to a person (rich) or to a program (--json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

# Exit codes shared by every operations command (docs/operations.md).
OK = 0
FAILED = 1  # a check failed, drift found, a deployment failed
MISSING = 2  # bad input, or missing credentials / region / permission / resource
HOLD = 3
ROLLBACK = 4


@dataclass
class Result:
    command: str
    code: int
    data: dict[str, Any]
    view: Callable[[Console], None] | None = None
    notes: list[str] = field(default_factory=list)


def console(stderr: bool = False) -> Console:
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False,
                   width=None if sys.stdout.isatty() else 120)


def emit(result: Result, as_json: bool, out: Console | None = None) -> int:
    if as_json:
        sys.stdout.write(json.dumps({"command": result.command, "exitCode": result.code, **result.data},
                                    indent=2, sort_keys=True, default=str) + "\n")
        return result.code
    out = out or console()
    if result.view is not None:
        result.view(out)
    for note in result.notes:
        out.print(note)
    return result.code


def error_document(command: str, message: str, exit_code: int, kind: str) -> dict[str, Any]:
    """What `--json` prints on stdout when a command fails before it has a result
    (docs/operations.md, JSON output): the same `command` and `exitCode` as a result,
    and `error` with the sentence printed on stderr and what kind of failure it was."""
    return {"command": command, "exitCode": exit_code,
            "error": {"message": message, "exitCode": exit_code, "kind": kind}}


def emit_error(command: str, message: str, exit_code: int, kind: str, as_json: bool) -> int:
    """The sentence on stderr (always) and, with --json, the error document on stdout."""
    console(stderr=True).print(f"cutover {command}: {message}", markup=False, soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(error_document(command, message, exit_code, kind), indent=2, sort_keys=True) + "\n")
    return exit_code


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


def mark(ok: bool | None) -> str:
    return {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[yellow]skip[/]"}[ok]
