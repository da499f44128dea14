"""The sandbox tests' fixtures: an in-process sandbox (tests/sandbox/sandbox_aws.py), and
a project to run a sandbox in, as an operator runs it (tests/sandbox/sandbox_life.py)."""

from sandbox_aws import sandbox, sandbox_front  # noqa: F401
from sandbox_life import sandbox_project, terraform_bin  # noqa: F401
