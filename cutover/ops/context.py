"""What every operations command is given: the release's names, its spec and AWS clients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cutover.ops.aws import Clients
from cutover.ops.names import ReleaseNames


@dataclass
class Context:
    root: Path
    names: ReleaseNames
    spec: object  # cutover.generator.spec.model.ReleaseSpec
    clients: Clients
    plan: object = None  # cutover.generator.plan.release.ReleasePlan

    @property
    def env(self) -> str:
        return self.names.env

    @property
    def spec_path(self) -> Path:
        return self.root / self.names.spec_file
