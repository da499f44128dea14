"""Every type, argument and block exists in hashicorp/aws 6.62.0, required ones are set."""

from __future__ import annotations

import pytest
import schema_check
from tf_layout import ENVS_DIR, EXAMPLES_DIR, GOLDEN_DIR, MODULES_DIR


@pytest.mark.slow
def test_modules_examples_rendered_envs_and_goldens_match_the_6_62_schema():
    errors = schema_check.check_tree(MODULES_DIR, EXAMPLES_DIR, ENVS_DIR, GOLDEN_DIR)
    assert errors == [], "\n".join(errors)


def test_checker_catches_unknown_and_missing_arguments(tmp_path):
    bad = tmp_path / "main.tf"
    bad.write_text(
        'resource "aws_lambda_function" "x" {\n'
        '  function_name = "a"\n'
        "  not_an_argument = 1\n"
        '  tracing_config { modee = "Active" }\n'
        "}\n"
        'resource "aws_not_a_type" "y" {}\n',
        encoding="utf-8",
    )
    errors = "\n".join(schema_check.check_tree(tmp_path))
    assert "argument 'not_an_argument' is not in the schema" in errors
    assert "required argument 'role' is not set" in errors
    assert "required argument 'mode' is not set" in errors
    assert "argument 'modee' is not in the schema" in errors
    assert "'aws_not_a_type' is not in hashicorp/aws" in errors
