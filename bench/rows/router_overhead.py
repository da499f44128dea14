"""Router per-request overhead, warm flags, vs a bare handler serving the same data.

The router writes one document per request: its EMF document, which carries the REQUEST
line's members too (one encode, one write); the median of each is taken over blocks that
alternate the two handlers, so both see the same machine."""

from __future__ import annotations

import statistics
import time

from common import FLAGS_OFF, Row, base_env, fresh_router, pct, quiet_stdout, saved_environ

ORDER = 20


def run(ctx) -> list[Row]:
    from user_profile.mock import mock_profile

    extension, lambda_service = ctx.fakes()
    extension.document = FLAGS_OFF
    with saved_environ():
        handler = fresh_router(base_env(extension.url, lambda_service.url))

        def bare(event, context):
            return mock_profile(event["userId"])

        events = [{"userId": f"user-{i}"} for i in range(1000)]
        blocks, per_block = (3, 2000) if ctx.quick else (5, 6000)
        routed: list[float] = []
        plain: list[float] = []
        perf = time.perf_counter
        with quiet_stdout():
            handler.lambda_handler(events[0], None)  # warm flags
            for _ in range(blocks):
                for fn, sink in ((bare, plain), (handler.lambda_handler, routed)):
                    for i in range(per_block):
                        event = events[i % 1000]
                        t = perf()
                        fn(event, None)
                        sink.append(perf() - t)
        handler.reset()
    added = statistics.median(routed) - statistics.median(plain)
    return [Row(
        name="router-overhead",
        measure="router overhead per request, warm flags (median; p99 in note)",
        figure=f"{statistics.median(routed) * 1e6:.1f} µs",
        baseline=f"bare handler {statistics.median(plain) * 1e6:.1f} µs",
        result=f"+{added * 1e6:.1f} µs", target="≤ 8 µs added", met=added * 1e6 <= 8,
        ratio=statistics.median(routed) / statistics.median(plain),
        ratio_of="router median / bare handler median",
        values={"router_median_s": statistics.median(routed),
                "bare_median_s": statistics.median(plain), "added_s": added,
                "router_p99_s": pct(routed, 99), "bare_p99_s": pct(plain, 99), "n": len(routed)},
        note=f"p99 router={pct(routed, 99) * 1e6:.1f} µs bare={pct(plain, 99) * 1e6:.1f} µs; "
             f"n={len(routed)}; control route, canary 0%, shadow off, tracing Active unsampled")]


def workload(ctx, name: str):
    extension, lambda_service = ctx.fakes()
    extension.document = FLAGS_OFF
    handler = fresh_router(base_env(extension.url, lambda_service.url))
    events = [{"userId": f"user-{i}"} for i in range(1000)]

    def work():
        with quiet_stdout():
            for _ in range(20):
                for event in events:
                    handler.lambda_handler(event, None)
    return work
