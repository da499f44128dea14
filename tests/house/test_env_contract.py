"""The environment the generator renders for each function is exactly what that function
reads, and the reverse (docs/contracts.md section 2), both held to one module:
cutover_runtime/env.py, where every key is named once and `READS` says which function
reads which.

"Renders": the `environment` argument of every function module call in the plans of the
checked-in environments and the golden cases (every phase and option they cover), minus
the spec's own `environment:` entries. "Reads": every `env_keys.NAME` in the modules the
function's handler imports (its package and the cutover_runtime modules it reaches); a
`CUTOVER_*` literal anywhere in the functions or the generator's plan (outside env.py)
fails, so no key can bypass the module.
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
from cutover.runtime import env as env_keys

from tests.conftest import ROOT
from tests.golden.regenerate import cases, load_case

FUNCTIONS = ROOT / "functions"
KEY = re.compile(r"^CUTOVER_[A-Z0-9_]+$")
ALIAS = "env_keys"  # how the functions and the generator import cutover_runtime.env
# Rendered for the AppConfig agent layer, which the router's code never reads.
AGENT_KEYS = re.compile(r"^AWS_APPCONFIG_EXTENSION_")
# Read with a default and deliberately not rendered: (role, key) -> why (docs/contracts.md §2).
NOT_RENDERED = {
    ("router", env_keys.APPCONFIG_URL): "the AppConfig agent's local URL: the default is the agent's port",
    ("candidate", env_keys.DB_SSLROOTCERT): "unset means the trust roots shipped in the package",
    ("cleanup", env_keys.PATH): "a release-wide function: no read path (the log lines' path is empty)",
    ("guard", env_keys.PATH): "a release-wide function: no read path (the log lines' path is empty)",
    ("deploy_probe", env_keys.PATH): "a release-wide function: no read path (the log lines' path is empty)",
    ("controller", env_keys.PATH): "a release-wide function: no read path (the log lines' path is empty)",
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


def _keys_named(tree: ast.AST) -> set[str]:
    """The values of every `env_keys.NAME` in a module."""
    return {getattr(env_keys, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == ALIAS}


def _literals(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and KEY.match(n.value)}


def keys_read(handler_module: str) -> set[str]:
    """Every key the handler's module and what it imports from functions/ name through env_keys."""
    start = _module_file(handler_module, FUNCTIONS)
    assert start is not None, handler_module
    seen, todo, keys = set(), [start], set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        tree = ast.parse(file.read_text(encoding="utf-8"))
        keys |= _keys_named(tree)
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


def test_the_env_module_says_which_function_reads_which_key_for_every_role():
    assert sorted(env_keys.READS) == sorted(HANDLERS)


@pytest.mark.parametrize("role", sorted(HANDLERS))
def test_every_key_rendered_for_a_function_is_one_it_reads_and_the_reverse(role: str):
    declared = env_keys.READS[role] - {key for r, key in NOT_RENDERED if r == role}
    rendered = RENDERED[role]
    assert sorted(rendered - declared) == [], f"{role}: rendered but not in env.READS"
    assert sorted(declared - rendered) == [], f"{role}: in env.READS but never rendered"


@pytest.mark.parametrize("role", sorted(HANDLERS))
def test_the_code_of_each_function_reads_exactly_its_keys(role: str):
    read = keys_read(HANDLERS[role].rsplit(".", 1)[0])
    assert sorted(read - env_keys.READS[role]) == [], f"{role}: read but not in env.READS"
    assert sorted(env_keys.READS[role] - read) == [], f"{role}: in env.READS but never read"


def test_no_key_is_spelled_outside_the_env_module():
    sources = [*FUNCTIONS.rglob("*.py"), *(ROOT / "generator" / "plan").rglob("*.py")]
    spelled = {str(f.relative_to(ROOT)): sorted(_literals(ast.parse(f.read_text(encoding="utf-8"))))
               for f in sources if f != FUNCTIONS / "cutover_runtime" / "env.py"}
    assert {f: keys for f, keys in spelled.items() if keys} == {}


def test_the_checked_specs_cover_every_role():
    assert all(RENDERED[role] for role in HANDLERS), {r: bool(k) for r, k in RENDERED.items()}


def test_every_deliberately_unrendered_key_is_still_read():
    for role, key in NOT_RENDERED:
        assert key in keys_read(HANDLERS[role].rsplit(".", 1)[0]), f"{role} no longer reads {key}: drop it"


def test_the_scan_follows_relative_and_runtime_imports():
    # the router reads its flag keys in router/settings.py (relative import) and the
    # release name in cutover_runtime/telemetry.py
    assert {env_keys.CANARY_FLAG, env_keys.RELEASE} <= keys_read("router.handler")
