"""The saved Logs Insights queries count what their titles say, on the router's real log lines."""

from __future__ import annotations

import re
from pathlib import Path

QUERIES = Path(__file__).resolve().parents[2] / "terraform" / "envs" / "production" / "queries"

# REQUEST lines of canary requests as the router writes them (docs/contracts.md §6):
# answered by the candidate; failed and answered by the control; failed without fallback.
CANARY_REQUESTS = [
    {"failed": 0, "fallback": 0},
    {"failed": 1, "fallback": 1},
    {"failed": 1, "fallback": 0},
    {"failed": 0, "fallback": 0},
]


def _stat(expression: str, rows: list[dict[str, int]]) -> float:
    """Evaluate one classic-language stats expression (count(*), sum(field), + - * /)."""
    python = re.sub(r"sum\((\w+)\)", lambda m: str(sum(r[m.group(1)] for r in rows)), expression)
    python = python.replace("count(*)", str(len(rows)))
    assert re.fullmatch(r"[\d\s()+\-*/.]+", python), python
    return eval(python)


def test_canary_success_counts_each_request_once():
    text = (QUERIES / "user-read-canary-success.logsinsights").read_text()
    (expression,) = re.findall(r"(100 \* .*?) as success_pct", text)
    # THEN two of four canary requests succeeded: a fallback is one failure, not two
    assert _stat(expression, CANARY_REQUESTS) == 50.0
