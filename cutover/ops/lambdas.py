"""Lambda aliases and versions, as the operations commands read them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cutover.ops.aws import paginate


@dataclass(frozen=True)
class AliasState:
    function: str
    alias: str
    version: str
    weights: dict[str, float]  # additional version -> weight (a CodeDeploy shift in progress)
    latest: str | None  # the newest published version

    @property
    def split(self) -> str:
        """'version 1: 90%, version 2: 10%' while CodeDeploy shifts traffic; '' otherwise."""
        if not self.weights:
            return ""
        shares = {self.version: 1 - sum(self.weights.values()), **self.weights}
        return ", ".join(f"version {v}: {100 * w:.4g}%" for v, w in shares.items())

    @property
    def undeployed(self) -> bool:
        return self.latest is not None and self.latest.isdigit() and self.version.isdigit() \
            and int(self.latest) > int(self.version)


def latest_version(client: Any, function: str) -> str | None:
    versions = [v["Version"] for v in paginate(client, "list_versions_by_function", "Versions",
                                               FunctionName=function) if v["Version"].isdigit()]
    return max(versions, key=int) if versions else None


def alias_state(client: Any, function: str, alias: str) -> AliasState:
    a = client.get_alias(FunctionName=function, Name=alias)
    weights = (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return AliasState(function, alias, a["FunctionVersion"], {k: float(v) for k, v in weights.items()},
                      latest_version(client, function))


def http_status(answer: Any) -> int | None:
    """The HTTP status of an answer in the API Gateway proxy shape (`statusCode`), else None."""
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def answer_failed(function_error: str | None, payload: bytes) -> bool:
    """A function error, or an HTTP 5xx answer (a 502 from the router is not a success)."""
    if function_error:
        return True
    try:
        status = http_status(json.loads(payload or b"null"))
    except ValueError:
        return False
    return status is not None and status >= 500
