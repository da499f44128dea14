"""The control: the backend this function answers with while it is also the router.

The read path's current backend is a mock (a profile derived from the user id), so the
router serves it in process. Routing (`router.handler`) only asks this module for the
control's answer, so replacing the control is a change here, not in the routing.
"""

from __future__ import annotations

from typing import Any

from cutover_runtime.contract import mock_profile


def control_answer(user_id: str) -> dict[str, Any]:
    """The control's answer for one user (the read model of docs/contracts.md)."""
    return mock_profile(user_id)
