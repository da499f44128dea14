"""No function of the shipped code (cutover/, generator/, functions/) is longer than 60 lines.

A function is counted from its first decorator (or `def`) to its last line, docstring
and comments included: what a reader has to hold in mind at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_LINES = 60
PACKAGES = ("cutover", "generator", "functions")
# "path:function" -> why it may be longer. Prefer none: split the function instead.
EXCEPTIONS: dict[str, str] = {}


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function and method in `source`."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((prefix + child.name, first, child.end_lineno - first + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_the_counter_sees_methods_nested_functions_and_decorators():
    source = "class A:\n    @staticmethod\n    def f():\n        def g():\n            pass\n        return g\n"
    assert function_lengths(source) == [("A.f", 2, 5), ("A.f.g", 4, 2)]


def test_no_function_is_longer_than_60_lines():
    too_long = []
    for package in PACKAGES:
        files = sorted((ROOT / package).rglob("*.py"))
        assert files, f"{package}/ has no Python file: point PACKAGES at where the code lives"
        for file in files:
            rel = file.relative_to(ROOT).as_posix()
            for name, line, length in function_lengths(file.read_text(encoding="utf-8")):
                if length > MAX_LINES and f"{rel}:{name}" not in EXCEPTIONS:
                    too_long.append(f"{rel}:{line} {name} is {length} lines")
    assert not too_long, f"split these (at most {MAX_LINES} lines each):\n" + "\n".join(too_long)


def test_every_exception_still_exists_and_says_why():
    for key, reason in EXCEPTIONS.items():
        rel, name = key.split(":")
        names = {n for n, _, _ in function_lengths(Path(ROOT / rel).read_text(encoding="utf-8"))}
        assert name in names, f"{key}: no such function any more; drop the exception"
        assert reason.strip(), f"{key}: say why it may be longer"
