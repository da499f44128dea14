"""The README tables of the modules: generated from variables.tf/outputs.tf, checked by render --check."""

from __future__ import annotations

from pathlib import Path

from cutover.generator.render import module_docs

from cutover import cli

VARIABLES = '''variable "name" {
  description = "A name with a | pipe and \\"quotes\\"."
  type        = string
}

variable "package" {
  description = "Zip and hash."
  type = object({
    filename = string
    hash     = optional(string)
  })
  default = null
}

variable "runtimes" {
  description = "Runtimes."
  type        = list(string)
  default     = ["python3.12", "python3.13"]
}

variable "size" {
  description = "Size."
  type        = number
  default     = 3
}
'''
OUTPUTS = '''output "arn" {
  description = "ARN."
  value       = aws_thing.this.arn
}
'''


def _module(tmp_path: Path, readme: str) -> Path:
    module = tmp_path / "thing"
    module.mkdir()
    (module / "variables.tf").write_text(VARIABLES)
    (module / "outputs.tf").write_text(OUTPUTS)
    (module / "README.md").write_text(readme)
    return module


def test_the_tables_list_every_variable_and_output_in_file_order(tmp_path):
    module = _module(tmp_path, "# thing\n")
    assert module_docs.tables(module).splitlines() == [
        module_docs.BEGIN, "## Inputs", "",
        "| Name | Description | Type | Default |", "|------|-------------|------|---------|",
        '| `name` | A name with a \\| pipe and "quotes". | `string` | required |',
        "| `package` | Zip and hash. | `object({filename = string, hash = optional(string)})` | `null` |",
        '| `runtimes` | Runtimes. | `list(string)` | `["python3.12", "python3.13"]` |',
        "| `size` | Size. | `number` | `3` |",
        "", "## Outputs", "", "| Name | Description |", "|------|-------------|",
        "| `arn` | ARN. |",
        module_docs.END,
    ]


def test_the_prose_around_the_markers_is_kept_and_a_readme_without_them_gets_them(tmp_path):
    module = _module(tmp_path, "")
    before, after = "# thing\n\nProse.\n\n", "\n\nMore prose.\n"
    stale = f"{before}{module_docs.BEGIN}\nold table\n{module_docs.END}{after}"
    assert module_docs.readme(module, stale) == before + module_docs.tables(module) + after
    assert module_docs.readme(module, "# thing\n") == "# thing\n\n" + module_docs.tables(module) + "\n"


def test_the_generated_readme_is_a_fixed_point(tmp_path):
    module = _module(tmp_path, "# thing\n")
    once = module_docs.readme(module, "# thing\n")
    assert module_docs.readme(module, once) == once


def test_check_reports_a_readme_behind_its_variables_and_render_repairs_it(project, capsys):
    assert cli.main(["--root", str(project), "render", "--all"]) == 0
    variables = project / "terraform" / "modules" / "kms" / "variables.tf"
    variables.write_text(variables.read_text().replace("Waiting period before", "Days before"))
    capsys.readouterr()
    assert cli.main(["--root", str(project), "render", "--check"]) == 1
    assert f"{project / 'terraform' / 'modules' / 'kms' / 'README.md'}: differs" in capsys.readouterr().err
    assert cli.main(["--root", str(project), "render", "--all"]) == 0
    assert "| `deletion_window_in_days` | Days before" in (variables.parent / "README.md").read_text()
    assert cli.main(["--root", str(project), "render", "--check"]) == 0


def test_the_committed_readmes_are_the_generated_ones():
    root = Path(__file__).resolve().parents[2] / "terraform" / "modules"
    stale = [str(path) for path, content in module_docs.module_readmes(root).items() if path.read_bytes() != content]
    assert not stale, "run `make render`: " + ", ".join(stale)
