"""Check Terraform files against the hashicorp/aws 6.62.0 argument schema.

Every resource and data source type, argument and nested block (static or
`dynamic`) written under terraform/modules and terraform/examples must exist
in the schema, and every required argument or block must be set. This covers
the provider's next major version, which `terraform validate` (run against the
installed 5.x provider) cannot.

Usage: python tests/terraform_modules/schema_check.py [DIR ...]
(default: terraform/modules terraform/examples). Exit status 1 on findings.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tf_hcl as hcl

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "aws-provider-6.62.0-schema.json.gz"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Terraform's own meta-arguments and blocks: valid on every resource.
META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
# Inside a `dynamic` block, only `content` is checked against the schema.
DYNAMIC_META = {"for_each", "iterator", "labels"}


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _check_body(body: dict[str, Any], node: dict[str, Any], where: str, errors: list[str]) -> None:
    present: set[str] = set()
    for key, value in body.items():
        if key in META or key.startswith("__"):
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, dyn_body in dynamic.items():
                    if label not in node["blocks"]:
                        errors.append(
                            f"{where}: dynamic block '{label}' is not a block of the schema"
                        )
                        continue
                    present.add(label)
                    for content in dyn_body.get("content", []):
                        _check_body(
                            content, node["blocks"][label]["node"], f"{where}.{label}", errors
                        )
                    unknown = (
                        set(dyn_body)
                        - DYNAMIC_META
                        - {"content"}
                        - {k for k in dyn_body if k.startswith("__")}
                    )
                    if unknown:
                        errors.append(
                            f"{where}: dynamic '{label}' has unknown keys {sorted(unknown)}"
                        )
            continue
        if hcl.is_block_list(value):
            if key not in node["blocks"]:
                errors.append(f"{where}: block '{key}' is not in the schema")
                continue
            present.add(key)
            spec = node["blocks"][key]
            if not spec["list"] and len(value) > 1:
                errors.append(f"{where}: block '{key}' may appear once, found {len(value)}")
            for item in value:
                _check_body(item, spec["node"], f"{where}.{key}", errors)
            continue
        # An attribute; a few newer resources declare nested attributes that
        # the schema lists under `blocks`: accept either.
        if key in node["args"] or key in node["blocks"]:
            present.add(key)
        else:
            errors.append(f"{where}: argument '{key}' is not in the schema")

    for name, spec in node["args"].items():
        if spec["required"] and name not in present:
            errors.append(f"{where}: required argument '{name}' is not set")
    for name, spec in node["blocks"].items():
        if spec["required"] and name not in present:
            errors.append(f"{where}: required block '{name}' is not set")


def check_file(path: Path, schema: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    doc = hcl.load(path)
    for kind, table in (("resource", "resources"), ("data", "data_sources")):
        for type_, name, body in hcl.blocks(doc, kind):
            where = f"{path}: {'data.' if kind == 'data' else ''}{type_}.{name}"
            if not type_.startswith("aws_"):
                continue  # terraform_data and other non-AWS types
            node = schema[table].get(type_)
            if node is None:
                errors.append(
                    f"{where}: {kind} type '{type_}' is not in hashicorp/aws {schema['version']}"
                )
                continue
            _check_body(body, node, where, errors)
    return errors


def check_tree(*roots: Path, schema: dict[str, Any] | None = None) -> list[str]:
    schema = schema or load_schema()
    errors: list[str] = []
    for path in hcl.tf_files(*roots):
        errors.extend(check_file(path, schema))
    return errors


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [
        REPO_ROOT / "terraform" / "modules",
        REPO_ROOT / "terraform" / "examples",
    ]
    errors = check_tree(*roots)
    for error in errors:
        print(error)
    print(f"{len(errors)} finding(s) against hashicorp/aws 6.62.0", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
