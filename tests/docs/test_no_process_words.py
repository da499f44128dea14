"""What ships says what the product does, not how it was planned: no "issue N", no
private planning paths (/work/..., coord/, DESIGN.md) and no design-decision labels
("D1", "D2/D5") that point to a document users do not have. A decision is explained by
the docs section it cites instead. The rehearsal report's decision numbers ("D1 ✓
PROMOTE", "D1, D2…") are product text and stay.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("README.md", "CONTRIBUTING.md", "docs", "cutover", "generator", "functions", "config",
           "terraform/modules", "bench")
SKIP_DIRS = {"__pycache__", ".terraform", ".pytest_cache"}
WORDS = [
    (re.compile(r"\bissue ?#?\d+", re.IGNORECASE), "an issue number"),
    (re.compile(r"/work/"), "a private path"),
    (re.compile(r"\bcoord/"), "a private path"),
    (re.compile(r"\bDESIGN\.md\b"), "a private design document"),
    (re.compile(r"\bD[1-9]\b(?!\s*[✓✗‖,…])"), "a design-decision label"),
]


def text_files(entry: Path) -> list[Path]:
    candidates = [entry] if entry.is_file() else sorted(
        p for p in entry.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.parts))
    files = []
    for path in candidates:
        data = path.read_bytes()
        if b"\0" in data:  # binary (images, archives)
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def offences(entry: Path, root: Path = ROOT) -> list[str]:
    found = []
    for path in text_files(entry):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in WORDS:
                match = pattern.search(line)
                if match:
                    found.append(f"{path.relative_to(root)}:{number}: {what}: {match.group(0)!r}")
    return found


@pytest.mark.parametrize("entry", SHIPPED)
def test_no_development_process_words(entry):
    found = offences(ROOT / entry)
    assert not found, "say what the product does, or cite the docs section:\n" + "\n".join(found)


def test_the_check_reads_every_shipped_entry():
    # every entry exists and holds text, so a rename cannot make the check vacuous
    for entry in SHIPPED:
        assert text_files(ROOT / entry), entry


def test_a_planted_word_fails(tmp_path):
    # GIVEN a copy of a shipped page with process words planted; WHEN checked; THEN each is found
    page = tmp_path / "docs" / "operations.md"
    page.parent.mkdir()
    clean = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    page.write_text(clean + "\nAs issue 12 asked (see /work/coord/DESIGN.md, D3).\n"
                    "Decisions: `D1 ✓ PROMOTE`, D1, D2… in the table.\n", encoding="utf-8")
    found = offences(tmp_path / "docs", root=tmp_path)
    last = len(clean.splitlines()) + 2
    assert found == [f"docs/operations.md:{last}: an issue number: 'issue 12'",
                     f"docs/operations.md:{last}: a private path: '/work/'",
                     f"docs/operations.md:{last}: a private path: 'coord/'",
                     f"docs/operations.md:{last}: a private design document: 'DESIGN.md'",
                     f"docs/operations.md:{last}: a design-decision label: 'D3'"]
