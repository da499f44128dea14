"""The functions' own code, loaded by file: how they hash users and shape answers.

`functions/` is packaged into Lambda zips, not installed with cutover, and imports
nothing outside itself; loading its modules by path keeps one definition of the user
hash and of the response contract for the functions and for the operators' tools.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

RUNTIME = Path(__file__).resolve().parent.parent / "functions" / "cutover_runtime"


@cache
def module(name: str) -> ModuleType:
    path = RUNTIME / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"cutover_ops_runtime_{name}", path)
    assert spec and spec.loader, path
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # dataclasses look their module up while it loads
    spec.loader.exec_module(loaded)
    return loaded


def user_hash(salt: str, user_id: str) -> str:
    return module("assignment").user_hash(salt, user_id)


def validate_profile(body: object) -> dict:
    """Raises the functions' MalformedResponse when the answer breaks the read model."""
    return module("contract").validate_profile(body)
