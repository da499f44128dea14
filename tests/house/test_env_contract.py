"""The environment the generator renders for each function is exactly what that function
reads, and the reverse (docs/contracts.md section 2).

"Renders": the `environment` argument of every function module call in the plans of the
checked-in environments and the golden cases (every phase and option they cover), minus
the spec's own `environment:` entries. "Reads": every `CUTOVER_*` string in the modules
the function's handler imports (its package and the cutover_runtime modules it reaches).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from cutover.generator.plan.function_calls import HANDLERS
from cutover.generator.plan.modules import FunctionArgs
from cutover.generator.plan.release import module_calls
from cutover.generator.spec.loader import load_spec

from tests.conftest import ROOT
from tests.golden.regenerate import cases, load_case

FUNCTIONS = ROOT / "functions"
KEY = re.compile(r"^CUTOVER_[A-Z0-9_]+$")
# Rendered for the AppConfig agent layer, which the router's code never reads.
AGENT_KEYS = re.compile(r"^AWS_APPCONFIG_EXTENSION_")
# Read with a default and deliberately not rendered: (role, key) -> why (docs/contracts.md §2).
NOT_RENDERED = {
    ("router", "CUTOVER_APPCONFIG_URL"): "the AppConfig agent's local URL: the default is the agent's port",
    ("candidate", "CUTOVER_DB_SSLROOTCERT"): "unset means the trust roots shipped in the package",
    ("cleanup", "CUTOVER_PATH"): "a release-wide function: no read path (the log lines' path is empty)",
    ("guard", "CUTOVER_PATH"): "a release-wide function: no read path (the log lines' path is empty)",
    ("deploy_probe", "CUTOVER_PATH"): "a release-wide function: no read path (the log lines' path is empty)",
}
SPECS = [*map(load_spec, sorted((ROOT / "config").glob("*.release.yaml"))), *map(load_case, cases())]


def _module_file(name: str, package: Path) -> Path | None:
    """functions/<a>/<b>.py (or the package's __init__) for a dotted name under functions/."""
    base = FUNCTIONS.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(file: Path) -> list[Path]:
    package = file.parent
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .settings import X, from . import settings
                prefix = ".".join(package.relative_to(FUNCTIONS).parts)
                base = f"{prefix}.{base}" if base else prefix
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [f for f in (_module_file(n, package) for n in names if n) if f is not None]
    return found


def keys_read(handler_module: str) -> set[str]:
    """Every CUTOVER_* string constant in the handler's module and what it imports from functions/."""
    start = _module_file(handler_module, FUNCTIONS)
    assert start is not None, handler_module
    seen, todo, keys = set(), [start], set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        tree = ast.parse(file.read_text(encoding="utf-8"))
        keys |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                 and KEY.match(n.value)}
        todo += _imports(file)
    return keys


def keys_rendered() -> dict[str, set[str]]:
    """role -> every key rendered into a function running that role's code, over all specs."""
    roles = {handler: role for role, handler in HANDLERS.items()}
    rendered: dict[str, set[str]] = {role: set() for role in HANDLERS}
    for spec in SPECS:
        own = {k for fn in _functions(spec) for k in fn.environment}
        for call in module_calls(spec):
            if isinstance(call.args, FunctionArgs):
                keys = {k for k in call.args.environment if k not in own and not AGENT_KEYS.match(k)}
                rendered[roles[call.args.handler]] |= keys
    return rendered


def _functions(spec):
    for path in spec.read_paths:
        yield path.control
        yield path.candidate
    for extra in (spec.cleanup, spec.guard):
        if extra is not None:
            yield extra.function


RENDERED = keys_rendered()


@pytest.mark.parametrize("role", sorted(HANDLERS))
def test_every_key_rendered_for_a_function_is_read_by_it_and_the_reverse(role: str):
    handler_module = HANDLERS[role].rsplit(".", 1)[0]
    read = keys_read(handler_module) - {key for r, key in NOT_RENDERED if r == role}
    rendered = RENDERED[role]
    assert sorted(rendered - read) == [], f"{role}: rendered but never read"
    assert sorted(read - rendered) == [], f"{role}: read but never rendered"


def test_the_checked_specs_cover_every_role():
    assert all(RENDERED[role] for role in HANDLERS), {r: bool(k) for r, k in RENDERED.items()}


def test_every_deliberately_unrendered_key_is_still_read():
    for role, key in NOT_RENDERED:
        assert key in keys_read(HANDLERS[role].rsplit(".", 1)[0]), f"{role} no longer reads {key}: drop it"


def test_the_scan_follows_relative_and_runtime_imports():
    # the router reads its flag keys in router/settings.py (relative import) and the
    # release name in cutover_runtime/telemetry.py
    assert {"CUTOVER_CANARY_FLAG", "CUTOVER_RELEASE"} <= keys_read("router.handler")
