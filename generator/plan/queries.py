"""The saved Logs Insights queries operators need, per read path.

Query text lives in `templates/queries/*.j2` (layout only: the path name is the one
variable); this module decides which queries exist and which log groups each reads.
Every query uses the classic Logs Insights language, which has no `join` and no `eval`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cutover.generator.plan.modules import ModuleRef, PathModules
from cutover.generator.spec.model import ReleaseSpec

# CloudWatch Logs query definition names: '/' separates folders; no ':' or '*'.
QUERY_NAME = re.compile(r"^([^:*/]+/?)*[^:*/]+$")


@dataclass(frozen=True)
class Query:
    slug: str
    title: str
    template: str
    path: str
    modules: tuple[ModuleRef, ...]  # whose log groups it reads


# (template, title, reads the router's logs, reads the candidate's logs)
RELEASE_QUERIES = (
    ("shadow-diffs", "Shadow diffs and mismatch rate", False, True),
    ("error-rate", "Error rate per minute", True, False),
    ("latency-p95", "p95 latency, control vs candidate", True, False),
    ("canary-success", "Canary success rate", True, False),
    ("shadow-latency", "Shadow latency and timeouts", False, True),
    ("traffic-split", "Traffic split, control vs candidate", True, False),
    ("errors", "Errors in detail (user, error, duration)", True, True),
    ("flag-changes", "Feature flag changes", True, False),
)
COMPLETE_QUERIES = (
    ("candidate-errors", "Errors in detail", False, True),
    ("candidate-latency", "Latency p50 / p95", False, True),
)


def build(spec: ReleaseSpec) -> list[Query]:
    table = COMPLETE_QUERIES if spec.phase == "complete" else RELEASE_QUERIES
    out = []
    for path in spec.read_paths:
        at = PathModules.of(path)
        for template, title, router, candidate in table:
            # complete: the candidate's code serves under the control's name (its log group)
            served = at.control if spec.phase == "complete" else at.candidate
            modules = (at.control,) * router + (served,) * candidate
            query = Query(f"{path.name}-{template}", f"{path.name} - {title}", template, path.name, modules)
            assert QUERY_NAME.match(query.title), f"not a query definition name: {query.title!r}"
            out.append(query)
    return out
