"""Regenerate the golden trees: `make goldens` (then read the diff before committing).

Each tests/golden/<case>/spec.yaml renders into tests/golden/<case>/expected/.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cutover.generator.plan.release import build_plan
from cutover.generator.render.files import render_files, write_tree
from cutover.generator.spec.loader import load_spec

GOLDEN = Path(__file__).parent
ROOT = GOLDEN.parent.parent


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "spec.yaml").is_file())


def render_case(case: Path) -> dict[str, bytes]:
    spec = case / "spec.yaml"
    return render_files(build_plan(load_spec(spec), spec.relative_to(ROOT).as_posix()))


def main() -> int:
    for case in cases():
        changed = write_tree(case / "expected", render_case(case))
        print(f"{case.name}: {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
