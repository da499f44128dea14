"""Spec errors: each says where (file, YAML path, line) and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

Loc = tuple[str | int, ...]


class Problem(NamedTuple):
    """What is wrong and where, as data: `loc` is a YAML path such as ("steps", 2).

    A section's own validator gives `loc` relative to the section (the loader prefixes
    the section's path); the cross-section checks give it from the document's root.
    """

    loc: Loc
    message: str


def yaml_path(loc: Loc) -> str:
    """('read_paths', 0, 'canary', 'steps') -> 'read_paths[0].canary.steps'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


@dataclass(frozen=True, order=True)
class SpecError:
    line: int
    loc: Loc
    message: str

    def render(self, file: Path | str) -> str:
        where = f"{file}:{self.line}" if self.line else str(file)
        text = f"{where}: {yaml_path(self.loc)}: {self.message}"
        # One error, one line: keys and values from the file may hold line breaks.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class SpecInvalid(Exception):
    """All the errors of one spec file, reported together."""

    def __init__(self, file: Path | str, errors: list[SpecError]):
        self.file = file
        self.errors = sorted(set(errors), key=lambda e: (e.line, yaml_path(e.loc), e.message))
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.errors)
        head = f"{self.file}: {n} error{'s' if n != 1 else ''} in the release spec; nothing was written"
        return "\n".join([head, *("  " + e.render(self.file) for e in self.errors)])
