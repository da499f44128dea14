"""The generator's commands: render, validate, schema, doctor, terraform, plan, apply, analyze FILE.

Each prints what it did and returns the process exit code (README "Exit codes"):
0 done; 1 drift found by --check, a Terraform failure, or a missing tool for `doctor`;
2 bad input, with nothing written. `cutover.cli` parses the arguments and calls these.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from cutover.generator.render.files import render_files, stale_files, write_tree
from cutover.generator.render.module_docs import module_readmes
from cutover.generator.spec import reference
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.spec.loader import load_spec
from cutover.generator.workspace import (
    REFERENCE_FILE,
    SCHEMA_FILE,
    Layout,
    load_env_spec,
    load_plan,
    schema_document,
)


def analyze_file(layout: Layout, env: str, metrics: Path, as_json: bool, gate: bool) -> int:
    """The go/no-go analysis of a metrics file, judged by the env's spec guardrails."""
    from cutover.generator.plan.analysis_guardrails import analysis_guardrails

    from cutover.analysis.cli import run

    spec, _ = load_env_spec(layout, env)
    return run(metrics, analysis_guardrails(spec.guardrails), env, as_json=as_json, gate=gate,
               out=sys.stdout, err=sys.stderr)


def render(layout: Layout, envs: list[str], check: bool) -> int:
    trees: dict[Path, dict[str, bytes]] = {}
    errors: list[str] = []
    for env in envs:
        try:
            trees[layout.envs / env] = render_files(load_plan(layout, env))
        except SpecInvalid as exc:
            errors.append(exc.report())
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 2
    # Generated from the model rather than a spec: the JSON Schema and the field reference;
    # and from each module's variables.tf/outputs.tf: the interface tables of its README.
    model_docs = {layout.config / SCHEMA_FILE: schema_document(), layout.root / REFERENCE_FILE: reference.document(),
                  **module_readmes(layout.root / "terraform" / "modules")}
    if check:
        return _check(layout, envs, trees, model_docs)
    for out, files in trees.items():
        changed = write_tree(out, files)
        state = f"{len(changed)} file(s) changed" if changed else "unchanged"
        print(f"rendered {out.relative_to(layout.root)}: {state}")
    for path, content in model_docs.items():
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
            print(f"wrote {path.relative_to(layout.root)}")
    return 0


def _check(layout: Layout, envs: list[str], trees: dict[Path, dict[str, bytes]],
           model_docs: dict[Path, bytes]) -> int:
    drift = [d for out, files in trees.items() for d in stale_files(out, files)]
    drift += [f"{path}: differs" for path, content in model_docs.items()
              if not path.is_file() or path.read_bytes() != content]
    if drift:
        print("Generated files are stale; run `make render` and commit the result:", file=sys.stderr)
        for d in drift:
            print(f"  {d}", file=sys.stderr)
        return 1
    print(f"up to date: {', '.join(envs)}, {SCHEMA_FILE}, {REFERENCE_FILE} and the module READMEs")
    return 0


def doctor(layout: Layout) -> int:
    """0 when every tool is there, 1 when something is missing (each with how to fix)."""
    from cutover.generator.terraform.toolchain import inspect_toolchain

    report = inspect_toolchain(layout.cache, root=layout.root)
    print(report.describe())
    return 1 if report.problems() else 0


def validate(paths: list[Path]) -> int:
    status = 0
    for path in paths:
        try:
            load_spec(path)
            print(f"{path}: valid")
        except SpecInvalid as exc:
            print(exc.report(), file=sys.stderr)
            status = 2
    return status


def schema() -> int:
    sys.stdout.write(schema_document().decode())
    return 0


def terraform(layout: Layout, action: str, envs: list[str], check: bool) -> int:
    """fmt (the hand-written modules and the rendered envs) or init + validate per env."""
    from cutover.generator.terraform.wrapper import Terraform, TerraformError, TerraformNotFound

    try:
        tf = Terraform.discover(cache_dir=layout.cache)
    except TerraformNotFound as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return 2
    try:
        if action == "fmt":
            return _fmt(tf, [layout.root / "terraform"], check)
        for env in envs:
            env_dir = layout.envs / env
            # Terraform's working files go under .cache, not into the generated directory.
            local = replace(tf, data_dir=layout.cache / "data" / f"{env}-validate")
            local.init(env_dir, backend=False)
            local.validate(env_dir)
            print(f"terraform validate {env_dir.relative_to(layout.root)}: valid")
        return 0
    except TerraformError as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return 1


def _fmt(tf, dirs: list[Path], check: bool) -> int:
    if check:
        unformatted = tf.fmt_check(dirs)
        for path in unformatted:
            print(f"not formatted: {path}", file=sys.stderr)
        return 1 if unformatted else 0
    tf.run(None, "fmt", "-recursive", *map(str, dirs))
    return 0


def plan(layout: Layout, env: str, emulator: bool | None) -> int:
    """Render the environment, then `terraform plan`, saved for `apply`."""
    from cutover.generator.terraform import run

    release = load_plan(layout, env)
    code = render(layout, [env], check=False)
    if code:
        return code
    saved = layout.saved_plan(env)
    saved.parent.mkdir(parents=True, exist_ok=True)
    from cutover.generator.terraform import sandbox_target

    return run.plan_command(layout.envs / env, backend=dict(release.backend), saved_plan=saved,
                            use_emulator=emulator, env=env, cache_dir=layout.cache,
                            sandbox=sandbox_target.find(layout.root, env))


def apply(layout: Layout, env: str) -> int:
    """Apply exactly the plan `plan` saved for this environment."""
    from cutover.generator.terraform import run

    return run.apply_command(layout.envs / env, saved_plan=layout.saved_plan(env), env=env,
                             cache_dir=layout.cache)
