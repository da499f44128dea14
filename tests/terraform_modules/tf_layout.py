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
    "function",
    "code_deploy",
    "shadow",
    "feature_flags",
    "alarms",
    "dashboard",
    "queries",
    "tracing",
]
EXAMPLES = ["complete", "complete-phase"]

# Local provider mirror: no registry access in CI or in the sandbox.
PLUGIN_MIRROR = Path(os.environ.get("CUTOVER_TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
