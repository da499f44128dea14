"""The example release the tests run against (example/user-profile/): its files, and its
``user_profile`` package importable the way the function zips vendor it (top level)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the repository
EXAMPLE = ROOT / "example" / "user-profile"
READ_MODEL = EXAMPLE / "read-model.schema.json"
SCHEMA_SQL = EXAMPLE / "schema.sql"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

from user_profile.mock import mock_profile

__all__ = ["EXAMPLE", "READ_MODEL", "SCHEMA_SQL", "mock_profile"]
