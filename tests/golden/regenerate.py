"""Regenerate the golden trees: `make goldens` (then read the diff before committing).

A golden case pins the rendering of one spec feature that no shipped environment
(config/<env>.release.yaml -> terraform/envs/<env>/, pinned by `render --check`) exercises.
Each case is tests/golden/<case>/override.yaml, a few lines merged onto
tests/data/base.release.yaml (`merge`), rendered into tests/golden/<case>/expected/.
tests/generator/test_golden_features.py keeps every feature pinned by a shipped environment or a case.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cutover.generator.plan.release import build_plan
from cutover.generator.render.files import Drift, render_files, stale_files, write_tree
from cutover.generator.spec.loader import parse_yaml, validate
from cutover.generator.spec.model import ReleaseSpec

GOLDEN = Path(__file__).parent
ROOT = GOLDEN.parent.parent
BASE = ROOT / "tests" / "data" / "base.release.yaml"
OVERRIDE = "override.yaml"


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / OVERRIDE).is_file())


def merge(base: Any, override: Any) -> Any:
    """override onto base, as a JSON merge patch (RFC 7396: mappings key by key, a null
    removes the key) except that a list of mappings merges item by item (extra items are
    appended); any other value replaces the base's."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = {**base, **{k: merge(base[k], v) if k in base else v for k, v in override.items()}}
        return {k: v for k, v in merged.items() if v is not None or override.get(k, 0) is not None}
    if isinstance(base, list) and isinstance(override, list) and all(isinstance(i, dict) for i in base + override):
        return [merge(b, o) for b, o in zip(base, override, strict=False)] + base[len(override):] + override[len(base):]
    return override


def load_case(case: Path) -> ReleaseSpec:
    """The case's spec: base + override, validated (errors name the override file)."""
    base, _ = parse_yaml(BASE.read_text(encoding="utf-8"), BASE)
    path = case / OVERRIDE
    override, lines = parse_yaml(path.read_text(encoding="utf-8"), path)
    return validate(merge(base, override), lines, path)


def label(case: Path) -> str:
    """What the generated files name as their source."""
    return f"{BASE.relative_to(ROOT).as_posix()} + {(case / OVERRIDE).relative_to(ROOT).as_posix()}"


def render_case(case: Path) -> dict[str, bytes]:
    return render_files(build_plan(load_case(case), label(case)))


def drift(case: Path) -> list[Drift]:
    """How expected/ differs from a fresh rendering: a missing, changed or extra file."""
    return stale_files(case / "expected", render_case(case))


def main() -> int:
    for case in cases():
        changed = write_tree(case / "expected", render_case(case))
        print(f"{case.name}: {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
