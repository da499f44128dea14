"""The interface tables of each module's README, generated from its variables.tf and outputs.tf.

terraform/modules/<module>/README.md is prose written by hand plus one generated part
between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` (the terraform-docs
convention): an Inputs table (name, description, type, default or "required") and an
Outputs table (name, description), in the order the .tf files declare them. The .tf files
stay the one source; `cutover render` rewrites the part and `render --check` reports a
README whose tables no longer match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
README = "README.md"


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL text of the default; None: required

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _unquote(text: str) -> str:
    """An HCL string literal as python-hcl2 keeps it ("..." with escapes) -> its value."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def _expression(text: str) -> str:
    """python-hcl2 wraps an expression as ${...}; the README shows the HCL itself."""
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def hcl_value(value: Any) -> str:
    """A default as python-hcl2 parsed it, written back as HCL (deterministic)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(hcl_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{_unquote(k)} = {hcl_value(v)}" for k, v in value.items() if not k.startswith("__")]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, str):
        return _expression(value)
    return str(value)


def _blocks(path: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    import hcl2  # 0.1 s: only the commands that render pay it

    with path.open(encoding="utf-8") as handle:
        doc = hcl2.load(handle)
    for entry in doc.get(kind, []):
        for name, body in entry.items():
            yield _unquote(name), body


def variables(module: Path) -> list[Variable]:
    """The variables of module/variables.tf, in file order."""
    return [
        Variable(name, _unquote(body.get("description", "")), _expression(str(body.get("type", "any"))),
                 hcl_value(body["default"]) if "default" in body else None)
        for name, body in _blocks(module / "variables.tf", "variable")
    ]


def outputs(module: Path) -> list[Output]:
    """The outputs of module/outputs.tf, in file order."""
    return [Output(name, _unquote(body.get("description", ""))) for name, body in _blocks(module / "outputs.tf", "output")]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text) + "`"


def tables(module: Path) -> str:
    """The generated part of a README, markers included."""
    lines = [BEGIN, "## Inputs", "", "| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    lines += [f"| {_code(v.name)} | {_cell(v.description)} | {_code(v.type)} | "
              f"{'required' if v.default is None else _code(v.default)} |" for v in variables(module)]
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    lines += [f"| {_code(o.name)} | {_cell(o.description)} |" for o in outputs(module)]
    return "\n".join([*lines, END])


def readme(module: Path, current: str) -> str:
    """`current` with its generated part replaced (appended when it has none)."""
    start, end = current.find(BEGIN), current.find(END)
    if start == -1 or end < start:
        return current.rstrip("\n") + "\n\n" + tables(module) + "\n"
    return current[:start] + tables(module) + current[end + len(END):]


def module_readmes(modules_dir: Path) -> dict[Path, bytes]:
    """README path -> its content with fresh tables, for every module under modules_dir."""
    found: dict[Path, bytes] = {}
    if not modules_dir.is_dir():
        return found
    for module in sorted(p for p in modules_dir.iterdir() if (p / "variables.tf").is_file()):
        path = module / README
        current = path.read_text(encoding="utf-8") if path.is_file() else f"# {module.name}\n"
        found[path] = readme(module, current).encode()
    return found
