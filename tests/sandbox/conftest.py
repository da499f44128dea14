"""The sandbox tests' fixtures (tests/sandbox/sandbox_aws.py: an in-process sandbox)."""

from sandbox_aws import sandbox, sandbox_front, sandbox_terraform  # noqa: F401
