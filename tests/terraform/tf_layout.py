"""Where the Terraform code of the project lives (shared by the tests and schema_check)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
EXAMPLES_DIR = TERRAFORM_DIR / "examples"
MODULES = [
    "kms",
    "layer",
    "function",
    "code_deploy",
    "shadow",
    "feature_flags",
    "alarms",
    "dashboard",
    "queries",
    "tracing",
    "vpc_endpoints",
]
EXAMPLES = ["complete", "complete-phase"]
ENVS_DIR = TERRAFORM_DIR / "envs"
ENVS = sorted(p.name for p in ENVS_DIR.iterdir() if (p / "main.tf").is_file()) if ENVS_DIR.is_dir() else []

# Every root module: the hand-written examples and the environments the generator renders.
ROOTS = {
    **{f"examples/{name}": EXAMPLES_DIR / name for name in EXAMPLES},
    **{f"envs/{name}": ENVS_DIR / name for name in ENVS},
}

# Local provider mirror: no registry access in CI or in the sandbox.
PLUGIN_MIRROR = Path(os.environ.get("CUTOVER_TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
