"""Shadow events already reported, shared by every execution environment of the candidate.

Lambda may deliver one asynchronous event twice, to two different execution
environments; a per-process memory alone would report it twice and the shadow-diff
metrics would count it twice. The ledger is a DynamoDB table (rendered by the shadow
module, items expire by TTL): the first environment to write an event id reports it.
The write is bounded by a short timeout and never retried; when the ledger cannot be
reached the candidate still reports (a rare double count beats a lost comparison) and
logs why.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from cutover_runtime import env as env_keys

TTL_SECONDS = 6 * 3600  # longer than Lambda keeps retrying an async event


class EventLedger:
    def __init__(self, table: str, timeout_s: float = 0.25, ttl_s: int = TTL_SECONDS) -> None:
        self.table = table
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> EventLedger | None:
        table = os.environ.get(env_keys.SHADOW_LEDGER_TABLE, "").strip()
        return cls(table) if table else None

    def _dynamodb(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(connect_timeout=self.timeout_s, read_timeout=self.timeout_s,
                                    retries={"total_max_attempts": 1, "mode": "standard"})
                    self._client = boto3.session.Session().client("dynamodb", config=config)
        return self._client

    def claim(self, event_id: str) -> bool:
        """True when this call is the first to claim `event_id`; False for a duplicate.

        Raises LedgerUnavailable when the table cannot answer.
        """
        client = self._dynamodb()
        try:
            client.put_item(
                TableName=self.table,
                Item={"eventId": {"S": event_id}, "expiresAt": {"N": str(int(time.time()) + self.ttl_s)}},
                ConditionExpression="attribute_not_exists(eventId)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as exc:  # any failure means "unknown": the caller decides
            raise LedgerUnavailable(exc.__class__.__name__) from exc
        return True


class LedgerUnavailable(RuntimeError):
    """The ledger could not say whether an event was seen; the message is the error class."""
