"""Where the Terraform code of the project lives (shared by the tests and schema_check)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
EXAMPLES_DIR = TERRAFORM_DIR / "examples"
# Every module under terraform/modules/ (the generator's argument classes are checked
# against this set by tests/house/test_module_args.py).
MODULES = sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir())
EXAMPLES = ["complete", "complete-phase"]
ENVS_DIR = TERRAFORM_DIR / "envs"
ENVS = sorted(p.name for p in ENVS_DIR.iterdir() if (p / "main.tf").is_file()) if ENVS_DIR.is_dir() else []

GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
GOLDENS = sorted(p.parent.parent.name for p in GOLDEN_DIR.glob("*/expected/main.tf"))

# Every root module: the hand-written examples, the environments the generator renders,
# and the golden trees (rendered like an environment, so checked like one).
ROOTS = {
    **{f"examples/{name}": EXAMPLES_DIR / name for name in EXAMPLES},
    **{f"envs/{name}": ENVS_DIR / name for name in ENVS},
    **{f"golden/{name}": GOLDEN_DIR / name / "expected" for name in GOLDENS},
}


def root_dir(root: str, tmp_path: Path) -> Path:
    """A directory where the root module can run.

    A golden tree refers to `../../modules` and `../../../build` as if it sat in
    terraform/envs/<env>/, so it is copied into that shape under tmp_path, with the
    modules and the build output linked in.
    """
    if not root.startswith("golden/"):
        return ROOTS[root]
    layout = tmp_path / "layout"
    (layout / "terraform" / "envs").mkdir(parents=True, exist_ok=True)
    for name, target in (("terraform/modules", MODULES_DIR), ("build", REPO_ROOT / "build")):
        link = layout / name
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    staged = layout / "terraform" / "envs" / root.split("/", 1)[1]
    if not staged.exists():
        shutil.copytree(ROOTS[root], staged)
    return staged

# Local provider mirror: no registry access in CI or in the sandbox.
PLUGIN_MIRROR = Path(os.environ.get("CUTOVER_TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
